// The two fast style architectures of models/fast_style.cpp.
#include "export/network_graphs.hpp"

namespace atelier::onnx_export {
namespace {

// The networks pad to an output a few pixels larger when H or W is not a
// multiple of 4; Atelier crops to the input, so does the graph, then clamps
// to 0..255 into the graph's output.
void crop_and_clamp(GraphBuilder& graph, const std::string& x) {
  auto& size = graph.node("Shape", {kImage}, "InputSize");
  set_attribute(size, "start", std::int64_t{2});
  const std::string cropped = GraphBuilder::output(
      graph.node("Slice", {x, graph.int64s({0, 0}), GraphBuilder::output(size), graph.int64s({2, 3})}, "Crop"));
  graph.node("Clip", {cropped, graph.scalar(0.0f), graph.scalar(255.0f)}, "Clip").set_output(0, kStylized);
}

// pytorch/examples' TransformerNet: ConvLayer = reflection pad k/2 + conv
// with bias; UpsampleConvLayer = nearest x2 first; instance norm eps 1e-5.
void build_pytorch_examples(WeightReader& weight, GraphBuilder& graph) {
  auto conv = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out,
                  std::int64_t kernel, std::int64_t stride, bool upsample) {
    // One statement each: weights are read (and a missing one named) in order.
    const std::string w = weight(name + ".conv2d.weight", {out, in, kernel, kernel});
    const std::string b = weight(name + ".conv2d.bias", {out});
    const std::string y = upsample ? graph.upsample_nearest2(x) : x;
    return graph.conv(graph.reflection_pad(y, kernel / 2), w, b, kernel, stride);
  };
  auto norm = [&](const std::string& x, const std::string& name, std::int64_t channels) {
    const std::string scale = weight(name + ".weight", {channels});
    return graph.instance_norm(x, scale, weight(name + ".bias", {channels}), 1e-5f);
  };
  auto norm_relu = [&](const std::string& x, const std::string& name, std::int64_t channels) {
    return graph.unary("Relu", norm(x, name, channels));
  };
  std::string y = norm_relu(conv(kImage, "conv1", 3, 32, 9, 1, false), "in1", 32);
  y = norm_relu(conv(y, "conv2", 32, 64, 3, 2, false), "in2", 64);
  y = norm_relu(conv(y, "conv3", 64, 128, 3, 2, false), "in3", 128);
  for (int i = 1; i <= 5; ++i) {
    const std::string block = "res" + std::to_string(i);
    const std::string residual = norm_relu(conv(y, block + ".conv1", 128, 128, 3, 1, false), block + ".in1", 128);
    y = graph.binary("Add", norm(conv(residual, block + ".conv2", 128, 128, 3, 1, false), block + ".in2", 128), y);
  }
  y = norm_relu(conv(y, "deconv1", 128, 64, 3, 1, true), "in4", 64);
  y = norm_relu(conv(y, "deconv2", 64, 32, 3, 1, true), "in5", 32);
  crop_and_clamp(graph, conv(y, "deconv3", 32, 3, 9, 1, false));
}

// lengstrom/fast-style-transfer: TensorFlow SAME zero padding (ONNX's
// SAME_UPPER: the odd pixel after), no conv bias, instance norm eps 1e-3 after
// every conv, stride-2 transposed convs, output tanh(x) * 150 + 127.5.
void build_engstrom(WeightReader& weight, GraphBuilder& graph) {
  auto norm = [&](const std::string& x, const std::string& name, std::int64_t channels) {
    const std::string scale = weight(name + ".norm.scale", {channels});
    return graph.instance_norm(x, scale, weight(name + ".norm.shift", {channels}), 1e-3f);
  };
  auto conv_norm = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out,
                       std::int64_t kernel, std::int64_t stride) {
    const std::string y =
        graph.conv(x, weight(name + ".weight", {out, in, kernel, kernel}), "", kernel, stride, /*same_upper=*/true);
    return norm(y, name, out);
  };
  // TF's SAME stride-2 transposed conv keeps the first 2H x 2W of the full
  // (2H+1) x (2W+1) result: padding 1 at the end of each spatial axis.
  auto deconv_norm = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out) {
    auto& node = graph.node("ConvTranspose", {x, weight(name + ".weight", {in, out, 3, 3})}, "ConvTranspose");
    set_attribute(node, "kernel_shape", Shape{3, 3});
    set_attribute(node, "strides", Shape{2, 2});
    set_attribute(node, "pads", Shape{0, 0, 1, 1});
    return norm(GraphBuilder::output(node), name, out);
  };
  std::string y = graph.unary("Relu", conv_norm(kImage, "conv1", 3, 32, 9, 1));
  y = graph.unary("Relu", conv_norm(y, "conv2", 32, 64, 3, 2));
  y = graph.unary("Relu", conv_norm(y, "conv3", 64, 128, 3, 2));
  for (int i = 1; i <= 5; ++i) {
    const std::string block = "res" + std::to_string(i);
    const std::string residual = graph.unary("Relu", conv_norm(y, block + ".conv1", 128, 128, 3, 1));
    y = graph.binary("Add", conv_norm(residual, block + ".conv2", 128, 128, 3, 1), y);
  }
  y = graph.unary("Relu", deconv_norm(y, "deconv1", 128, 64));
  y = graph.unary("Relu", deconv_norm(y, "deconv2", 64, 32));
  y = graph.unary("Tanh", conv_norm(y, "conv_out", 32, 3, 9, 1));
  crop_and_clamp(graph, graph.binary("Add", graph.binary("Mul", y, graph.scalar(150.0f)), graph.scalar(127.5f)));
}

}  // namespace

GraphInterface build_fast_style_graph(FastStyleKind kind, const SafetensorsFile& weights, GraphBuilder& graph) {
  const bool pytorch_examples = kind == FastStyleKind::PytorchExamples;
  GraphInterface interface;
  interface.kind = "fast-style";
  interface.architecture = pytorch_examples ? "pytorch-examples" : "engstrom";
  WeightReader weight(weights, graph, interface.architecture);
  if (pytorch_examples)
    build_pytorch_examples(weight, graph);
  else
    build_engstrom(weight, graph);
  interface.inputs = {{kImage, {"N", 3, "H", "W"}, "RGB photo, float32 NCHW, values 0..255"}};
  interface.outputs = {{kStylized, {"N", 3, "H", "W"}, "RGB painting, float32 NCHW, values 0..255 (clamped), the input's size"}};
  interface.conventions = {
      {"input", kImage},
      {"output", kStylized},
      {"layout", "NCHW"},
      {"dtype", "float32"},
      {"channel_order", "RGB"},
      {"input_range", "0..255"},
      {"output_range", "0..255 (clamped)"},
      {"dynamic_axes", "N, H and W (H and W at least 8 pixels); the output has the input's size"},
      {"batch", "each image is normalised on its own (instance norm): batching does not change a result"}};
  interface.doc = "Atelier fast style network (" + interface.architecture + "): float32 NCHW RGB 0..255 in and out";
  return interface;
}

}  // namespace atelier::onnx_export
