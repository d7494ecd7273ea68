// A small builder over ONNX's protobuf classes (Debian's libonnx-dev): named
// float initializers, constant int64 tensors and nodes with attributes, each
// output given a fresh name. Private to src/export.
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace atelier::onnx_export {

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // A float32 initializer named `name` (weights keep their safetensors key).
  std::string floats(const std::string& name, const std::vector<std::int64_t>& shape, std::vector<float> values);
  // A float32 scalar constant (shape []) and a 1-D float32 constant.
  std::string scalar(float value);
  std::string float_vector(const std::vector<float>& values);
  // A 1-D int64 constant.
  std::string int64s(const std::vector<std::int64_t>& values);

  // Adds `op` reading `inputs` ("" for an omitted optional input); returns
  // the node, whose one output is named after `hint`.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint);
  static const std::string& output(const onnx::NodeProto& node) { return node.output(0); }

 private:
  std::string fresh(const std::string& hint);
  onnx::GraphProto& graph_;
  int counter_ = 0;
};

void set_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value);
void set_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values);
void set_attribute(onnx::NodeProto& node, const std::string& name, float value);
void set_attribute(onnx::NodeProto& node, const std::string& name, const std::string& value);

// A graph input or output: float32 [N,C,H,W] with N, H and W symbolic.
void add_image_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values, const std::string& name,
                     std::int64_t channels, const std::string& doc);

}  // namespace atelier::onnx_export
