#include "atelier/onnx_export.hpp"

#include <algorithm>
#include <filesystem>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "export/fast_style_onnx.hpp"

namespace atelier {
namespace {

using onnx_export::FastStyleKind;

// The key only each architecture's files hold (as models/fast_style.cpp
// detects them).
FastStyleKind fast_style_kind(const SafetensorsFile& file) {
  if (file.contains("conv1.conv2d.weight")) return FastStyleKind::PytorchExamples;
  if (file.contains("conv1.norm.scale")) return FastStyleKind::Engstrom;
  const auto names = file.names();
  const bool magenta = std::any_of(names.begin(), names.end(), [](const std::string& name) {
    return name.rfind("transfer.", 0) == 0 || name.rfind("predictor.", 0) == 0;
  });
  if (magenta)
    throw Error(file.path() + ": Magenta's arbitrary-style networks cannot be exported to ONNX yet "
                              "(only the feed-forward styles)");
  throw Error(file.path() + ": not a fast style network (pytorch/examples' conv1.conv2d.weight, ... or Engstrom's "
                            "conv1.norm.scale, ...); arbitrary-style networks cannot be exported to ONNX yet");
}

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  auto& entry = *model.add_metadata_props();
  entry.set_key(key);
  entry.set_value(value);
}

// The conventions an app needs to feed the model, one fact per key, then the
// weights file's own metadata (style, source, licence) under "weights.".
void describe(onnx::ModelProto& model, const std::string& architecture, const SafetensorsFile& file) {
  add_metadata(model, "atelier.kind", "fast-style");
  add_metadata(model, "architecture", architecture);
  add_metadata(model, "opset", std::to_string(kOnnxOpset));
  add_metadata(model, "input", onnx_export::kImageInput);
  add_metadata(model, "output", onnx_export::kStylizedOutput);
  add_metadata(model, "layout", "NCHW");
  add_metadata(model, "dtype", "float32");
  add_metadata(model, "channel_order", "RGB");
  add_metadata(model, "input_range", "0..255");
  add_metadata(model, "output_range", "0..255 (clamped)");
  add_metadata(model, "dynamic_axes", "N, H and W (H and W at least 8 pixels); the output has the input's size");
  add_metadata(model, "batch", "each image is normalised on its own (instance norm): batching does not change a result");
  for (const auto& [key, value] : file.metadata()) add_metadata(model, "weights." + key, value);
  add_metadata(model, "weights.file", std::filesystem::path(file.path()).filename().string());
}

}  // namespace

OnnxExportSummary export_onnx(const std::string& weights_path, const std::string& onnx_path) {
  std::string extension = std::filesystem::path(weights_path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), ::tolower);
  if (extension == ".pth" || extension == ".pt")
    throw Error(weights_path + ": a PyTorch checkpoint: convert it with `atelier models import` first, "
                               "then export the .safetensors");
  const SafetensorsFile file = SafetensorsFile::open(weights_path);
  const FastStyleKind kind = fast_style_kind(file);
  const std::string architecture = kind == FastStyleKind::PytorchExamples ? "pytorch-examples" : "engstrom";

  onnx::ModelProto model;
  model.set_ir_version(8);  // what opset 17 requires, the newest ONNX 1.12 knows
  model.set_producer_name("atelier");
  model.set_producer_version(ATELIER_VERSION);
  model.set_doc_string("Atelier fast style network (" + architecture + "): float32 NCHW RGB 0..255 in and out");
  auto& opset = *model.add_opset_import();
  opset.set_domain("");
  opset.set_version(kOnnxOpset);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("atelier_fast_style");
  onnx_export::GraphBuilder builder(graph);
  onnx_export::build_fast_style_graph(kind, file, builder);
  onnx_export::add_image_value(*graph.mutable_input(), onnx_export::kImageInput, 3,
                               "RGB photo, float32 NCHW, values 0..255");
  onnx_export::add_image_value(*graph.mutable_output(), onnx_export::kStylizedOutput, 3,
                               "RGB painting, float32 NCHW, values 0..255 (clamped), the input's size");
  describe(model, architecture, file);

  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("internal: the ONNX model of " + weights_path + " did not serialise");
  write_file_atomically(onnx_path, bytes);
  return {architecture, kOnnxOpset, graph.node_size(), bytes.size()};
}

}  // namespace atelier
