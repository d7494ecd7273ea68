#include "atelier/onnx_export.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/version.hpp"
#include "export/network_graphs.hpp"

namespace atelier {
namespace {

namespace ox = onnx_export;
using Builder = std::function<ox::GraphInterface(const SafetensorsFile&, ox::GraphBuilder&)>;

// The network a file holds, by a key only its files hold (as the torch
// library's loaders tell them apart).
Builder builder_for(const SafetensorsFile& file) {
  if (file.contains("conv1.conv2d.weight"))
    return [](const SafetensorsFile& weights, ox::GraphBuilder& graph) {
      return ox::build_fast_style_graph(ox::FastStyleKind::PytorchExamples, weights, graph);
    };
  if (file.contains("conv1.norm.scale"))
    return [](const SafetensorsFile& weights, ox::GraphBuilder& graph) {
      return ox::build_fast_style_graph(ox::FastStyleKind::Engstrom, weights, graph);
    };
  if (file.contains("predictor.conv0.weight")) return ox::build_magenta_predictor_graph;
  if (file.contains("transfer.contract.conv1.weight")) return ox::build_magenta_transfer_graph;
  // AdaIN's files say what they are, or have naoto0804's Sequential keys.
  const std::string architecture = file.metadata_value("architecture");
  if (architecture == "vgg-normalised" || (architecture.empty() && file.contains("0.weight")))
    return ox::build_adain_encoder_graph;
  if (architecture == "adain-decoder" || (architecture.empty() && file.contains("1.weight")))
    return ox::build_adain_decoder_graph;
  throw Error(file.path() + ": cannot be exported to ONNX: only fast styles, Magenta's style predictor and transfer "
                            "network, and AdaIN's normalised VGG encoder and decoder can be (not VGG or ResNet "
                            "feature networks)");
}

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  auto& entry = *model.add_metadata_props();
  entry.set_key(key);
  entry.set_value(value);
}

// What an app needs to feed the model, one fact per key, then the weights
// file's own metadata (style, source, licence) under "weights.".
void describe(onnx::ModelProto& model, const ox::GraphInterface& interface, const SafetensorsFile& file) {
  add_metadata(model, "atelier.kind", interface.kind);
  add_metadata(model, "architecture", interface.architecture);
  add_metadata(model, "opset", std::to_string(kOnnxOpset));
  for (const auto& [key, value] : interface.conventions) add_metadata(model, key, value);
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
  const Builder build = builder_for(file);

  onnx::ModelProto model;
  model.set_ir_version(8);  // what opset 17 requires, the newest ONNX 1.12 knows
  model.set_producer_name("atelier");
  model.set_producer_version(version());
  auto& opset = *model.add_opset_import();
  opset.set_domain("");
  opset.set_version(kOnnxOpset);
  onnx::GraphProto& graph = *model.mutable_graph();
  ox::GraphBuilder builder(graph);
  const ox::GraphInterface interface = build(file, builder);
  graph.set_name("atelier_" + interface.kind);
  model.set_doc_string(interface.doc);
  for (const auto& input : interface.inputs) ox::add_tensor_value(*graph.mutable_input(), input);
  for (const auto& output : interface.outputs) ox::add_tensor_value(*graph.mutable_output(), output);
  describe(model, interface, file);

  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("internal: the ONNX model of " + weights_path + " did not serialise");
  write_file_atomically(onnx_path, bytes);
  return {interface.kind, interface.architecture, kOnnxOpset, graph.node_size(), bytes.size()};
}

}  // namespace atelier
