#include "export/onnx_graph.hpp"

#include <cmath>

#include "atelier/error.hpp"

namespace atelier::onnx_export {

std::string GraphBuilder::fresh(const std::string& hint) { return hint + "_" + std::to_string(counter_++); }

std::string GraphBuilder::floats(const std::string& name, const Shape& shape, std::vector<float> values) {
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

std::string GraphBuilder::unary(const std::string& op, const std::string& x) { return output(node(op, {x}, op)); }

std::string GraphBuilder::binary(const std::string& op, const std::string& a, const std::string& b) {
  return output(node(op, {a, b}, op));
}

std::string GraphBuilder::clip(const std::string& x, float low, float high) {
  return output(node("Clip", {x, scalar(low), scalar(high)}, "Clip"));
}

std::string GraphBuilder::conv(const std::string& x, const std::string& weight, const std::string& bias,
                               std::int64_t kernel, std::int64_t stride, bool same_upper, std::int64_t groups) {
  std::vector<std::string> inputs = {x, weight};
  if (!bias.empty()) inputs.push_back(bias);
  auto& conv = node("Conv", inputs, "Conv");
  set_attribute(conv, "kernel_shape", Shape{kernel, kernel});
  set_attribute(conv, "strides", Shape{stride, stride});
  if (same_upper) set_attribute(conv, "auto_pad", std::string("SAME_UPPER"));
  if (groups != 1) set_attribute(conv, "group", groups);
  return output(conv);
}

std::string GraphBuilder::reflection_pad(const std::string& x, std::int64_t p) {
  auto& pad = node("Pad", {x, int64s({0, 0, p, p, 0, 0, p, p})}, "ReflectionPad");
  set_attribute(pad, "mode", std::string("reflect"));
  return output(pad);
}

std::string GraphBuilder::upsample_nearest2(const std::string& x) {
  if (upsample_scales_.empty()) upsample_scales_ = float_vector({1, 1, 2, 2});
  auto& resize = node("Resize", {x, "", upsample_scales_}, "Upsample");
  set_attribute(resize, "mode", std::string("nearest"));
  set_attribute(resize, "coordinate_transformation_mode", std::string("asymmetric"));
  set_attribute(resize, "nearest_mode", std::string("floor"));
  return output(resize);
}

std::string GraphBuilder::instance_norm(const std::string& x, const std::string& scale, const std::string& shift,
                                        float eps) {
  auto& norm = node("InstanceNormalization", {x, scale, shift}, "InstanceNorm");
  set_attribute(norm, "epsilon", eps);
  return output(norm);
}

namespace {

onnx::AttributeProto& new_attribute(onnx::NodeProto& node, const std::string& name,
                                    onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(type);
  return attribute;
}

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
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

std::string WeightReader::operator()(const std::string& key, const Shape& shape) {
  if (!file_.contains(key)) throw Error(file_.path() + ": weights for " + network_ + " lack \"" + key + "\"");
  const TensorView& tensor = file_.tensor(key);
  if (tensor.shape != shape)
    throw Error(file_.path() + ": \"" + key + "\" has shape " + shape_text(tensor.shape) + ", expected " +
                shape_text(shape) + " for " + network_);
  std::vector<float> values = tensor.to_float();
  for (const float value : values)
    if (!std::isfinite(value)) throw Error(file_.path() + ": \"" + key + "\" holds a value that is not finite");
  return graph_.floats(key, shape, std::move(values));
}

void add_tensor_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values, const TensorSpec& spec) {
  onnx::ValueInfoProto& value = *values.Add();
  value.set_name(spec.name);
  value.set_doc_string(spec.doc);
  auto& tensor = *value.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(onnx::TensorProto::FLOAT);
  auto& shape = *tensor.mutable_shape();
  for (const auto& dim : spec.dims) {
    if (const auto* fixed = std::get_if<std::int64_t>(&dim))
      shape.add_dim()->set_dim_value(*fixed);
    else
      shape.add_dim()->set_dim_param(std::get<std::string>(dim));
  }
}

}  // namespace atelier::onnx_export
