// ONNX export of the feed-forward styles (`atelier models export`): both
// architectures of models/fast_style.hpp, written with Debian's ONNX library
// from the safetensors file itself (no torch), so that other runtimes (ONNX
// Runtime, browsers, phones) paint exactly what Atelier paints.
//
// The model: input "image", output "stylized", both float32 NCHW [N,3,H,W],
// RGB, values 0..255 (the networks' own range; the output clamped); N, H and
// W are symbolic (H, W at least 8), and the output has the input's size. The
// opset and these conventions are also in the model's metadata_props
// (docs/MODELS.md lists them).
#pragma once
#include <cstdint>
#include <string>

namespace atelier {

// The default opset's newest version in ONNX 1.12 (Debian 12's onnx.checker).
constexpr int kOnnxOpset = 17;

struct OnnxExportSummary {
  std::string architecture;  // "pytorch-examples" or "engstrom"
  int opset = kOnnxOpset;
  int nodes = 0;
  std::uint64_t bytes = 0;  // of the written file
};

// Writes the fast style network in `weights_path` (.safetensors) to
// `onnx_path` atomically (no partial file on failure). Throws atelier::Error
// with a one-line message for an unreadable file, a PyTorch checkpoint (import
// it first), an arbitrary-style network (not exportable yet), a key that is
// missing or has the wrong shape, or an output that cannot be written.
OnnxExportSummary export_onnx(const std::string& weights_path, const std::string& onnx_path);

}  // namespace atelier
