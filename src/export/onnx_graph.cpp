#include "export/onnx_graph.hpp"

namespace atelier::onnx_export {

std::string GraphBuilder::fresh(const std::string& hint) { return hint + "_" + std::to_string(counter_++); }

std::string GraphBuilder::floats(const std::string& name, const std::vector<std::int64_t>& shape,
                                 std::vector<float> values) {
  onnx::TensorProto& tensor = *graph_.add_initializer();
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (const auto size : shape) tensor.add_dims(size);
  // Little-endian raw bytes, as ONNX stores them (and half the parsing of float_data).
  tensor.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return name;
}

std::string GraphBuilder::scalar(float value) { return floats(fresh("constant"), {}, {value}); }

std::string GraphBuilder::float_vector(const std::vector<float>& values) {
  return floats(fresh("constant"), {static_cast<std::int64_t>(values.size())}, values);
}

std::string GraphBuilder::int64s(const std::vector<std::int64_t>& values) {
  onnx::TensorProto& tensor = *graph_.add_initializer();
  tensor.set_name(fresh("ints"));
  tensor.set_data_type(onnx::TensorProto::INT64);
  tensor.add_dims(static_cast<std::int64_t>(values.size()));
  for (const auto value : values) tensor.add_int64_data(value);
  return tensor.name();
}

onnx::NodeProto& GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                                    const std::string& hint) {
  onnx::NodeProto& node = *graph_.add_node();
  node.set_op_type(op);
  const std::string name = fresh(hint);
  node.set_name(name);
  for (const auto& input : inputs) node.add_input(input);
  node.add_output(name);
  return node;
}

namespace {

onnx::AttributeProto& new_attribute(onnx::NodeProto& node, const std::string& name,
                                    onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(type);
  return attribute;
}

}  // namespace

void set_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
  new_attribute(node, name, onnx::AttributeProto::INT).set_i(value);
}

void set_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values) {
  auto& attribute = new_attribute(node, name, onnx::AttributeProto::INTS);
  for (const auto value : values) attribute.add_ints(value);
}

void set_attribute(onnx::NodeProto& node, const std::string& name, float value) {
  new_attribute(node, name, onnx::AttributeProto::FLOAT).set_f(value);
}

void set_attribute(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  new_attribute(node, name, onnx::AttributeProto::STRING).set_s(value);
}

void add_image_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values, const std::string& name,
                     std::int64_t channels, const std::string& doc) {
  onnx::ValueInfoProto& value = *values.Add();
  value.set_name(name);
  value.set_doc_string(doc);
  auto& tensor = *value.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(onnx::TensorProto::FLOAT);
  auto& shape = *tensor.mutable_shape();
  shape.add_dim()->set_dim_param("N");
  shape.add_dim()->set_dim_value(channels);
  shape.add_dim()->set_dim_param("H");
  shape.add_dim()->set_dim_param("W");
}

}  // namespace atelier::onnx_export
