// The two fast style architectures (models/fast_style.hpp) as ONNX graphs,
// op for op: the same padding, instance norms, upsampling and output scaling.
#pragma once
#include <string>

#include "atelier/safetensors.hpp"
#include "export/onnx_graph.hpp"

namespace atelier::onnx_export {

enum class FastStyleKind { PytorchExamples, Engstrom };

// The graph's input and output names.
inline const std::string kImageInput = "image";
inline const std::string kStylizedOutput = "stylized";

// Adds the network's nodes and weights to `graph`, reading `kImageInput`
// and writing `kStylizedOutput`. Throws atelier::Error naming the first key
// that is missing, has the wrong shape or holds a non-finite value.
void build_fast_style_graph(FastStyleKind kind, const SafetensorsFile& weights, GraphBuilder& graph);

}  // namespace atelier::onnx_export
