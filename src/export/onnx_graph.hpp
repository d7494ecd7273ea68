// A small builder over ONNX's protobuf classes (Debian's libonnx-dev): named
// float initializers, constant tensors, the few ops Atelier's networks need,
// and their weights read from a safetensors file as the graph uses them.
// Private to src/export.
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "atelier/safetensors.hpp"

namespace atelier::onnx_export {

using Shape = std::vector<std::int64_t>;

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // A float32 initializer named `name` (weights keep their safetensors key).
  std::string floats(const std::string& name, const Shape& shape, std::vector<float> values);
  // A float32 scalar constant (shape []) and a 1-D float32 constant.
  std::string scalar(float value);
  std::string float_vector(const std::vector<float>& values);
  // A 1-D int64 constant.
  std::string int64s(const std::vector<std::int64_t>& values);

  // Adds `op` reading `inputs` ("" for an omitted optional input); returns
  // the node, whose one output is named after `hint`.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint);
  static const std::string& output(const onnx::NodeProto& node) { return node.output(0); }

  // Ops with one input and output (Relu, Tanh, Sigmoid), two (Add, Mul).
  std::string unary(const std::string& op, const std::string& x);
  std::string binary(const std::string& op, const std::string& a, const std::string& b);
  std::string clip(const std::string& x, float low, float high);
  // Conv with a square kernel; `bias` may be ""; `same_upper` pads as
  // TensorFlow's SAME (the odd pixel after), else no padding.
  std::string conv(const std::string& x, const std::string& weight, const std::string& bias, std::int64_t kernel,
                   std::int64_t stride, bool same_upper = false, std::int64_t groups = 1);
  // PyTorch's and TensorFlow's 'reflect' (ONNX's too): the edge pixel is not repeated.
  std::string reflection_pad(const std::string& x, std::int64_t p);
  // Nearest x2, out[i] = in[floor(i / 2)], as PyTorch and TF (no half-pixel centres).
  std::string upsample_nearest2(const std::string& x);
  std::string instance_norm(const std::string& x, const std::string& scale, const std::string& shift, float eps);

 private:
  std::string fresh(const std::string& hint);
  onnx::GraphProto& graph_;
  int counter_ = 0;
  std::string upsample_scales_;
};

void set_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value);
void set_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values);
void set_attribute(onnx::NodeProto& node, const std::string& name, float value);
void set_attribute(onnx::NodeProto& node, const std::string& name, const std::string& value);

// A network's weights as initializers, each checked (present, its shape,
// finite) when the graph first uses it. Errors name the file and the key.
class WeightReader {
 public:
  WeightReader(const SafetensorsFile& file, GraphBuilder& graph, std::string network)
      : file_(file), graph_(graph), network_(std::move(network)) {}
  std::string operator()(const std::string& key, const Shape& shape);

 private:
  const SafetensorsFile& file_;
  GraphBuilder& graph_;
  std::string network_;
};

// A graph input or output: float32, each dimension fixed or symbolic ("N").
struct TensorSpec {
  std::string name;
  std::vector<std::variant<std::int64_t, std::string>> dims;
  std::string doc;
};
void add_tensor_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values, const TensorSpec& spec);

}  // namespace atelier::onnx_export
