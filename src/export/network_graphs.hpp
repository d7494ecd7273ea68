// Atelier's networks as ONNX graphs, op for op with the torch library's
// forward passes (src/models): the same padding, norms, upsampling and output
// scaling. Each builder adds its nodes and weights and says what the graph
// reads and writes and how an app feeds it (the model's metadata_props).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "atelier/safetensors.hpp"
#include "export/onnx_graph.hpp"

namespace atelier::onnx_export {

// The tensor names every picture-to-picture graph reads and writes.
inline const std::string kImage = "image", kStylized = "stylized";

struct GraphInterface {
  std::string kind;          // "fast-style", "magenta-style-predictor", "magenta-style-transfer", "adain-encoder", "adain-decoder"
  std::string architecture;  // "pytorch-examples", "engstrom", "magenta-arbitrary-v1-256", "vgg-normalised", "adain-decoder"
  std::vector<TensorSpec> inputs, outputs;
  std::vector<std::pair<std::string, std::string>> conventions;  // metadata_props, in order
  std::string doc;
};

enum class FastStyleKind { PytorchExamples, Engstrom };

// Each throws atelier::Error naming the first key that is missing, has the
// wrong shape or holds a non-finite value.
GraphInterface build_fast_style_graph(FastStyleKind kind, const SafetensorsFile& weights, GraphBuilder& graph);
GraphInterface build_magenta_predictor_graph(const SafetensorsFile& weights, GraphBuilder& graph);
GraphInterface build_magenta_transfer_graph(const SafetensorsFile& weights, GraphBuilder& graph);
GraphInterface build_adain_encoder_graph(const SafetensorsFile& weights, GraphBuilder& graph);
GraphInterface build_adain_decoder_graph(const SafetensorsFile& weights, GraphBuilder& graph);

}  // namespace atelier::onnx_export
