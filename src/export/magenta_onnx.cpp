// Magenta's arbitrary-style networks of models/magenta.cpp, one model per
// file as Magenta releases them: the style predictor (a style picture to its
// 100-number style vector) and the style transfer network (a photo and a
// style vector to the painting).
#include "export/network_graphs.hpp"

namespace atelier::onnx_export {
namespace {

constexpr std::int64_t kStyleSize = 100;
// Eps of every conditional instance norm: 1e-5 as the fp16 graph stores it.
constexpr float kNormEps = 1.0013580322265625e-05f;
const std::string kStyleImage = "style_image", kStyleVector = "style_vector";

struct Block {
  std::int64_t in, hidden, out, stride;
  bool residual;
};

// MobileNetV2 (width 1.0), as magenta.cpp's predictor_blocks().
const std::vector<Block> kPredictorBlocks = {
    {32, 32, 16, 1, false},   {16, 96, 24, 2, false},   {24, 144, 24, 1, true},   {24, 144, 32, 2, false},
    {32, 192, 32, 1, true},   {32, 192, 32, 1, true},   {32, 192, 64, 2, false},  {64, 384, 64, 1, true},
    {64, 384, 64, 1, true},   {64, 384, 64, 1, true},   {64, 384, 96, 1, false},  {96, 576, 96, 1, true},
    {96, 576, 96, 1, true},   {96, 576, 160, 2, false}, {160, 960, 160, 1, true}, {160, 960, 160, 1, true},
    {160, 960, 320, 1, false}};

const std::vector<std::pair<std::string, std::string>> kPictureConventions = {
    {"layout", "NCHW"}, {"dtype", "float32"}, {"channel_order", "RGB"}};

}  // namespace

// TensorFlow SAME zero padding (SAME_UPPER) on every conv, ReLU6 after conv0,
// every expand and depthwise conv and conv_last; global mean; 1x1 bottleneck.
GraphInterface build_magenta_predictor_graph(const SafetensorsFile& weights, GraphBuilder& graph) {
  WeightReader weight(weights, graph, "the Magenta style predictor");
  auto conv = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out,
                  std::int64_t kernel, std::int64_t stride, std::int64_t groups = 1) {
    const std::string w = weight(name + ".weight", {out, in / groups, kernel, kernel});  // before the bias
    return graph.conv(x, w, weight(name + ".bias", {out}), kernel, stride, /*same_upper=*/kernel > 1, groups);
  };
  auto relu6 = [&](const std::string& x) { return graph.clip(x, 0.0f, 6.0f); };
  std::string x = relu6(conv(kStyleImage, "predictor.conv0", 3, 32, 3, 2));
  for (size_t i = 0; i < kPredictorBlocks.size(); ++i) {
    const Block& b = kPredictorBlocks[i];
    const std::string name = "predictor.block" + std::to_string(i);
    std::string h = i > 0 ? relu6(conv(x, name + ".expand", b.in, b.hidden, 1, 1)) : x;
    h = relu6(conv(h, name + ".depthwise", b.hidden, b.hidden, 3, b.stride, b.hidden));
    h = conv(h, name + ".project", b.hidden, b.out, 1, 1);
    x = b.residual ? graph.binary("Add", h, x) : h;
  }
  x = relu6(conv(x, "predictor.conv_last", 320, 1280, 1, 1));
  auto& mean = graph.node("ReduceMean", {x}, "GlobalMean");
  set_attribute(mean, "axes", Shape{2, 3});
  set_attribute(mean, "keepdims", std::int64_t{1});
  x = conv(GraphBuilder::output(mean), "predictor.bottleneck", 1280, kStyleSize, 1, 1);
  auto& flatten = graph.node("Flatten", {x}, "Flatten");
  set_attribute(flatten, "axis", std::int64_t{1});
  flatten.set_output(0, kStyleVector);

  GraphInterface interface;
  interface.kind = "magenta-style-predictor";
  interface.architecture = "magenta-arbitrary-v1-256";
  interface.inputs = {{kStyleImage, {"N", 3, "H", "W"}, "RGB style picture, float32 NCHW, values 0..1"}};
  interface.outputs = {{kStyleVector, {"N", kStyleSize}, "the style vector the transfer network takes"}};
  interface.conventions = {{"input", kStyleImage}, {"output", kStyleVector}};
  interface.conventions.insert(interface.conventions.end(), kPictureConventions.begin(), kPictureConventions.end());
  interface.conventions.insert(
      interface.conventions.end(),
      {{"input_range", "0..1"},
       {"output_range", "100 unbounded floats a picture"},
       {"style_picture", "Atelier centre-crops the style picture to a square (--style-fit crop, the default) and "
                         "resizes it to 384x384 (--style-size; area filter when shrinking, cubic when enlarging)"},
       {"dynamic_axes", "N, H and W"},
       {"pairs_with", "magenta-style-transfer (style_vector)"}});
  interface.doc = "Atelier's Magenta style predictor: an RGB 0..1 style picture to its 100-number style vector";
  return interface;
}

// Reflection padding k/2 before every conv; conditional instance norm (scale
// and shift projected from the style vector) after every conv but the three
// contracting ones; nearest x2 before expand.conv1 and conv2; sigmoid out.
GraphInterface build_magenta_transfer_graph(const SafetensorsFile& weights, GraphBuilder& graph) {
  WeightReader weight(weights, graph, "the Magenta style transfer network");
  auto conv = [&](const std::string& x, const std::string& name, std::int64_t in, std::int64_t out,
                  std::int64_t kernel, std::int64_t stride, bool bias) {
    const std::string w = weight(name + ".weight", {out, in, kernel, kernel});  // before the bias
    const std::string b = bias ? weight(name + ".bias", {out}) : "";
    return graph.conv(graph.reflection_pad(x, kernel / 2), w, b, kernel, stride);
  };
  auto projected = [&](const std::string& name, std::int64_t channels) {
    auto& gemm = graph.node("Gemm", {kStyleVector, weight(name + ".weight", {channels, kStyleSize}),
                                     weight(name + ".bias", {channels})},
                            "StyleProjection");
    set_attribute(gemm, "transB", std::int64_t{1});
    return GraphBuilder::output(graph.node("Unsqueeze", {GraphBuilder::output(gemm), graph.int64s({2, 3})}, "ToMap"));
  };
  auto conditional_norm = [&](const std::string& x, const std::string& name, std::int64_t channels) {
    const std::string normalised =
        graph.instance_norm(x, graph.float_vector(std::vector<float>(channels, 1.0f)),
                            graph.float_vector(std::vector<float>(channels, 0.0f)), kNormEps);
    return graph.binary("Add", graph.binary("Mul", normalised, projected(name + ".norm.gamma", channels)),
                        projected(name + ".norm.beta", channels));
  };
  std::string x = graph.unary("Relu", conv(kImage, "transfer.contract.conv1", 3, 8, 9, 1, true));
  x = graph.unary("Relu", conv(x, "transfer.contract.conv2", 8, 16, 3, 2, true));
  x = graph.unary("Relu", conv(x, "transfer.contract.conv3", 16, 32, 3, 2, true));
  for (int r = 1; r <= 5; ++r) {
    const std::string block = "transfer.residual" + std::to_string(r);
    std::string y = graph.unary("Relu", conditional_norm(conv(x, block + ".conv1", 32, 32, 3, 1, false),
                                                         block + ".conv1", 32));
    y = conditional_norm(conv(y, block + ".conv2", 32, 32, 3, 1, false), block + ".conv2", 32);
    x = graph.binary("Add", y, x);
  }
  x = graph.unary("Relu", conditional_norm(conv(graph.upsample_nearest2(x), "transfer.expand.conv1", 32, 16, 3, 1,
                                                false),
                                           "transfer.expand.conv1", 16));
  x = graph.unary("Relu", conditional_norm(conv(graph.upsample_nearest2(x), "transfer.expand.conv2", 16, 8, 3, 1,
                                                false),
                                           "transfer.expand.conv2", 8));
  x = conditional_norm(conv(x, "transfer.expand.conv3", 8, 3, 9, 1, false), "transfer.expand.conv3", 3);
  graph.node("Sigmoid", {x}, "Sigmoid").set_output(0, kStylized);

  GraphInterface interface;
  interface.kind = "magenta-style-transfer";
  interface.architecture = "magenta-arbitrary-v1-256";
  interface.inputs = {{kImage, {"N", 3, "H", "W"}, "RGB photo, float32 NCHW, values 0..1, H and W multiples of 4"},
                      {kStyleVector, {"N", kStyleSize}, "the style predictor's output (or a blend of several)"}};
  interface.outputs = {{kStylized, {"N", 3, "H", "W"}, "RGB painting, float32 NCHW, values 0..1, the input's size"}};
  interface.conventions = {{"input", kImage + ", " + kStyleVector}, {"output", kStylized}};
  interface.conventions.insert(interface.conventions.end(), kPictureConventions.begin(), kPictureConventions.end());
  interface.conventions.insert(
      interface.conventions.end(),
      {{"input_range", "0..1"},
       {"output_range", "0..1 (sigmoid)"},
       {"dynamic_axes", "N, H and W: H and W multiples of 4, at least 8; Atelier pads other sizes by reflection "
                        "(edge not repeated), evenly before and after, to the next multiple of 4 and crops the result"},
       {"strength", "Atelier's --strength s paints with s x the style's vector + (1 - s) x the photo's own"},
       {"pairs_with", "magenta-style-predictor (style_vector)"}});
  interface.doc = "Atelier's Magenta style transfer network: an RGB 0..1 photo and a style vector to the painting";
  return interface;
}

}  // namespace atelier::onnx_export
