// ONNX export (`atelier models export`): the fast styles (both architectures
// of models/fast_style.hpp), Magenta's two arbitrary-style networks and AdaIN's
// encoder and decoder, written with Debian's ONNX library from the safetensors
// file itself (no torch), so that other runtimes (ONNX Runtime, browsers,
// phones) paint what Atelier paints.
//
// A fast style: input "image", output "stylized", both float32 NCHW
// [N,3,H,W], RGB, values 0..255 (the networks' own range; the output clamped),
// the output at the input's size. Magenta's style predictor: "style_image"
// (RGB 0..1) to "style_vector" [N,100]; its transfer network: "image" (RGB
// 0..1, sides multiples of 4) and "style_vector" to "stylized" (0..1). N, H and
// W are symbolic. AdaIN's encoder: "image" (RGB 0..1) to "features" at
// relu4_1 (or relu3_1); its decoder: "features" (AdaIN's target) to "image".
// The opset and these conventions are also in the model's metadata_props
// (docs/MODELS.md lists them).
#pragma once
#include <cstdint>
#include <string>

namespace atelier {

// The default opset's newest version in ONNX 1.12 (Debian 12's onnx.checker).
constexpr int kOnnxOpset = 17;

struct OnnxExportSummary {
  std::string kind;          // "fast-style", "magenta-style-predictor", "magenta-style-transfer", "adain-encoder", ...
  std::string architecture;  // "pytorch-examples", "engstrom", "magenta-arbitrary-v1-256", "vgg-normalised", ...
  int opset = kOnnxOpset;
  int nodes = 0;
  std::uint64_t bytes = 0;  // of the written file
};

// Writes the network in `weights_path` (.safetensors) to `onnx_path`
// atomically (no partial file on failure). Throws atelier::Error with a
// one-line message for an unreadable file, a PyTorch checkpoint (import it
// first), a network that cannot be exported (VGG or ResNet feature networks), a
// key that is missing or has the wrong shape, or an output that cannot be
// written.
OnnxExportSummary export_onnx(const std::string& weights_path, const std::string& onnx_path);

}  // namespace atelier
