#include "export/fast_style_onnx.hpp"

#include <cmath>

#include "atelier/error.hpp"

namespace atelier::onnx_export {
namespace {

using Shape = std::vector<std::int64_t>;

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

// Nodes of one network, with its weights read (and checked) as they are used.
class Network {
 public:
  Network(const SafetensorsFile& file, GraphBuilder& graph, const char* architecture)
      : file_(file), graph_(graph), architecture_(architecture) {
    zero_ = graph_.scalar(0.0f);
    full_ = graph_.scalar(255.0f);
  }

  std::string weight(const std::string& key, const Shape& shape) {
    if (!file_.contains(key))
      throw Error(file_.path() + ": weights for " + architecture_ + " lack \"" + key + "\"");
    const TensorView& tensor = file_.tensor(key);
    if (tensor.shape != shape)
      throw Error(file_.path() + ": \"" + key + "\" has shape " + shape_text(tensor.shape) + ", expected " +
                  shape_text(shape) + " for " + architecture_);
    std::vector<float> values = tensor.to_float();
    for (const float value : values)
      if (!std::isfinite(value)) throw Error(file_.path() + ": \"" + key + "\" holds a value that is not finite");
    return graph_.floats(key, shape, std::move(values));
  }

  std::string conv(const std::string& x, const std::string& weight_key, const std::string& bias_key, std::int64_t in,
                   std::int64_t out, std::int64_t kernel, std::int64_t stride) {
    std::vector<std::string> inputs = {x, weight(weight_key, {out, in, kernel, kernel})};
    if (!bias_key.empty()) inputs.push_back(weight(bias_key, {out}));
    auto& node = graph_.node("Conv", inputs, "conv");
    set_attribute(node, "kernel_shape", Shape{kernel, kernel});
    set_attribute(node, "strides", Shape{stride, stride});
    return GraphBuilder::output(node);
  }

  std::string instance_norm(const std::string& x, const std::string& scale_key, const std::string& shift_key,
                            std::int64_t channels, float eps) {
    auto& node = graph_.node("InstanceNormalization",
                             {x, weight(scale_key, {channels}), weight(shift_key, {channels})}, "norm");
    set_attribute(node, "epsilon", eps);
    return GraphBuilder::output(node);
  }

  std::string unary(const std::string& op, const std::string& x) {
    return GraphBuilder::output(graph_.node(op, {x}, op == "Relu" ? "relu" : "tanh"));
  }
  std::string binary(const std::string& op, const std::string& a, const std::string& b) {
    return GraphBuilder::output(graph_.node(op, {a, b}, op == "Add" ? "add" : "mul"));
  }

  // The networks pad to an output a few pixels larger when H or W is not a
  // multiple of 4; Atelier crops to the input, so does the graph, then
  // clamps to 0..255 into the graph's output.
  void crop_and_clamp(const std::string& x) {
    auto& size = graph_.node("Shape", {kImageInput}, "input_size");
    set_attribute(size, "start", std::int64_t{2});
    const std::string cropped = GraphBuilder::output(graph_.node(
        "Slice", {x, graph_.int64s({0, 0}), GraphBuilder::output(size), graph_.int64s({2, 3})}, "crop"));
    graph_.node("Clip", {cropped, zero_, full_}, "clip").set_output(0, kStylizedOutput);
  }

  GraphBuilder& graph() { return graph_; }

 private:
  const SafetensorsFile& file_;
  GraphBuilder& graph_;
  const char* architecture_;
  std::string zero_, full_;
};

// pytorch/examples' TransformerNet: ConvLayer = reflection pad k/2 + conv
// with bias; UpsampleConvLayer = nearest x2 first; instance norm eps 1e-5.
void build_pytorch_examples(Network& net) {
  GraphBuilder& graph = net.graph();
  const std::string upsample_scales = graph.float_vector({1, 1, 2, 2});
  auto conv = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out,
                  std::int64_t kernel, std::int64_t stride, bool upsample) {
    std::string y = x;
    if (upsample) {
      // out[i] = in[floor(i / 2)], as PyTorch's nearest interpolation.
      auto& resize = graph.node("Resize", {y, "", upsample_scales}, "upsample");
      set_attribute(resize, "mode", std::string("nearest"));
      set_attribute(resize, "coordinate_transformation_mode", std::string("asymmetric"));
      set_attribute(resize, "nearest_mode", std::string("floor"));
      y = GraphBuilder::output(resize);
    }
    // PyTorch's 'reflect' is ONNX's: the edge pixel is not repeated.
    const std::int64_t p = kernel / 2;
    auto& pad = graph.node("Pad", {y, graph.int64s({0, 0, p, p, 0, 0, p, p})}, "reflection_pad");
    set_attribute(pad, "mode", std::string("reflect"));
    return net.conv(GraphBuilder::output(pad), name + ".conv2d.weight", name + ".conv2d.bias", in, out, kernel, stride);
  };
  auto norm_relu = [&](const std::string& x, const std::string& name, std::int64_t channels) {
    return net.unary("Relu", net.instance_norm(x, name + ".weight", name + ".bias", channels, 1e-5f));
  };
  std::string y = norm_relu(conv(kImageInput, "conv1", 3, 32, 9, 1, false), "in1", 32);
  y = norm_relu(conv(y, "conv2", 32, 64, 3, 2, false), "in2", 64);
  y = norm_relu(conv(y, "conv3", 64, 128, 3, 2, false), "in3", 128);
  for (int i = 1; i <= 5; ++i) {
    const std::string block = "res" + std::to_string(i);
    std::string residual = norm_relu(conv(y, block + ".conv1", 128, 128, 3, 1, false), block + ".in1", 128);
    residual = net.instance_norm(conv(residual, block + ".conv2", 128, 128, 3, 1, false), block + ".in2.weight",
                                 block + ".in2.bias", 128, 1e-5f);
    y = net.binary("Add", residual, y);
  }
  y = norm_relu(conv(y, "deconv1", 128, 64, 3, 1, true), "in4", 64);
  y = norm_relu(conv(y, "deconv2", 64, 32, 3, 1, true), "in5", 32);
  net.crop_and_clamp(conv(y, "deconv3", 32, 3, 9, 1, false));
}

// lengstrom/fast-style-transfer: TensorFlow SAME zero padding (ONNX's
// SAME_UPPER: the odd pixel after), no conv bias, instance norm eps 1e-3 after
// every conv, stride-2 transposed convs, output tanh(x) * 150 + 127.5.
void build_engstrom(Network& net) {
  GraphBuilder& graph = net.graph();
  constexpr float kEps = 1e-3f;
  auto conv_norm = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out,
                       std::int64_t kernel, std::int64_t stride) {
    auto& node = graph.node("Conv", {x, net.weight(name + ".weight", {out, in, kernel, kernel})}, "conv");
    set_attribute(node, "kernel_shape", Shape{kernel, kernel});
    set_attribute(node, "strides", Shape{stride, stride});
    set_attribute(node, "auto_pad", std::string("SAME_UPPER"));
    return net.instance_norm(GraphBuilder::output(node), name + ".norm.scale", name + ".norm.shift", out, kEps);
  };
  // TF's SAME stride-2 transposed conv keeps the first 2H x 2W of the full
  // (2H+1) x (2W+1) result: padding 1 at the end of each spatial axis.
  auto deconv_norm = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out) {
    auto& node = graph.node("ConvTranspose", {x, net.weight(name + ".weight", {in, out, 3, 3})}, "deconv");
    set_attribute(node, "kernel_shape", Shape{3, 3});
    set_attribute(node, "strides", Shape{2, 2});
    set_attribute(node, "pads", Shape{0, 0, 1, 1});
    return net.instance_norm(GraphBuilder::output(node), name + ".norm.scale", name + ".norm.shift", out, kEps);
  };
  std::string y = net.unary("Relu", conv_norm(kImageInput, "conv1", 3, 32, 9, 1));
  y = net.unary("Relu", conv_norm(y, "conv2", 32, 64, 3, 2));
  y = net.unary("Relu", conv_norm(y, "conv3", 64, 128, 3, 2));
  for (int i = 1; i <= 5; ++i) {
    const std::string block = "res" + std::to_string(i);
    const std::string residual = net.unary("Relu", conv_norm(y, block + ".conv1", 128, 128, 3, 1));
    y = net.binary("Add", conv_norm(residual, block + ".conv2", 128, 128, 3, 1), y);
  }
  y = net.unary("Relu", deconv_norm(y, "deconv1", 128, 64));
  y = net.unary("Relu", deconv_norm(y, "deconv2", 64, 32));
  y = net.unary("Tanh", conv_norm(y, "conv_out", 32, 3, 9, 1));
  net.crop_and_clamp(net.binary("Add", net.binary("Mul", y, graph.scalar(150.0f)), graph.scalar(127.5f)));
}

}  // namespace

void build_fast_style_graph(FastStyleKind kind, const SafetensorsFile& weights, GraphBuilder& graph) {
  if (kind == FastStyleKind::PytorchExamples) {
    Network net(weights, graph, "pytorch-examples");
    build_pytorch_examples(net);
  } else {
    Network net(weights, graph, "engstrom");
    build_engstrom(net);
  }
}

}  // namespace atelier::onnx_export
