// AdaIN's two networks of models/adain.cpp, one model per file as
// naoto0804/pytorch-AdaIN releases them: the normalised VGG encoder (a
// picture to its features at relu4_1, or relu3_1 when the file stops there)
// and the decoder (features to a picture). AdaIN itself, between them, is a
// few lines of arithmetic on the features (the metadata gives the formula).
#include "export/network_graphs.hpp"

#include <algorithm>

#include "atelier/error.hpp"

namespace atelier::onnx_export {
namespace {

const std::string kFeatures = "features";
const char* const kAdainFormula =
    "target = alpha * ((c - mean(c)) / std(c) * std(s) + mean(s)) + (1 - alpha) * c, per channel over H and W, "
    "std = sqrt(unbiased variance + 1e-5); c, s the encoder's features of the photo and the style picture";

// The normalised VGG's convs (Sequential index, in, out) up to relu4_1, a
// max pool after the last of each block (as NormalisedVgg::layer_indices()).
struct EncoderConv {
  int index;
  std::int64_t in, out;
  bool pool_after;
};
const std::vector<EncoderConv> kEncoderConvs = {{2, 3, 64, false},     {5, 64, 64, true},    {9, 64, 128, false},
                                                {12, 128, 128, true},  {16, 128, 256, false}, {19, 256, 256, false},
                                                {22, 256, 256, false}, {25, 256, 256, true},  {29, 256, 512, false}};

// The relu4_1 decoder's convs (index, in, out) and its upsamplings, as
// adain.cpp's full_decoder_convs(); the relu3_1 decoder is its tail from
// index 13, renumbered from 0.
struct DecoderConv {
  int index;
  std::int64_t in, out;
};
const std::vector<DecoderConv> kDecoderConvs = {{1, 512, 256},  {5, 256, 256},  {8, 256, 256},
                                                {11, 256, 256}, {14, 256, 128}, {18, 128, 128},
                                                {21, 128, 64},  {25, 64, 64},   {28, 64, 3}};
const std::vector<int> kDecoderUpsamples = {3, 16, 23};
constexpr int kTailStart = 13;

const std::vector<std::pair<std::string, std::string>> kLayoutConventions = {
    {"layout", "NCHW"}, {"dtype", "float32"}, {"channel_order", "RGB"}, {"input_range", "0..1"}};

}  // namespace

GraphInterface build_adain_encoder_graph(const SafetensorsFile& weights, GraphBuilder& graph) {
  WeightReader weight(weights, graph, "the normalised VGG");
  const std::string first_w = weight("0.weight", {3, 3, 1, 1});
  std::string x = graph.conv(kImage, first_w, weight("0.bias", {3}), 1, 1);  // RGB 0..1 to Caffe's input
  // relu4_1 when conv4_1 is there, else relu3_1 (as adain_level()).
  const bool relu4_1 = weights.contains("29.weight");
  const std::string level = relu4_1 ? "relu4_1" : "relu3_1";
  for (const auto& conv : kEncoderConvs) {
    if (!relu4_1 && conv.index > 16) break;  // conv3_1's relu is relu3_1
    const std::string key = std::to_string(conv.index);
    const std::string w = weight(key + ".weight", {conv.out, conv.in, 3, 3});
    x = graph.unary("Relu", graph.conv(graph.reflection_pad(x, 1), w, weight(key + ".bias", {conv.out}), 3, 1));
    if (!conv.pool_after) continue;
    auto& pool = graph.node("MaxPool", {x}, "MaxPool");
    set_attribute(pool, "kernel_shape", Shape{2, 2});
    set_attribute(pool, "strides", Shape{2, 2});
    set_attribute(pool, "ceil_mode", std::int64_t{1});
    x = GraphBuilder::output(pool);
  }
  graph.node("Identity", {x}, "Features").set_output(0, kFeatures);
  const std::int64_t channels = relu4_1 ? 512 : 256;

  GraphInterface interface;
  interface.kind = "adain-encoder";
  interface.architecture = "vgg-normalised";
  interface.inputs = {{kImage, {"N", 3, "H", "W"}, "RGB picture, float32 NCHW, values 0..1"}};
  interface.outputs = {{kFeatures, {"N", channels, "h", "w"}, "the features at " + level}};
  interface.conventions = {{"input", kImage}, {"output", kFeatures}};
  interface.conventions.insert(interface.conventions.end(), kLayoutConventions.begin(), kLayoutConventions.end());
  interface.conventions.insert(
      interface.conventions.end(),
      {{"level", level},
       {"output_size", std::string("ceil(H / ") + (relu4_1 ? "8" : "4") + ") x ceil(W / " + (relu4_1 ? "8" : "4") +
                           ") (ceil-mode max pooling)"},
       {"adain", kAdainFormula},
       {"pairs_with", "adain-decoder at " + level}});
  interface.doc = "Atelier's AdaIN encoder (normalised VGG to " + level + "): an RGB 0..1 picture to its features";
  return interface;
}

GraphInterface build_adain_decoder_graph(const SafetensorsFile& weights, GraphBuilder& graph) {
  WeightReader weight(weights, graph, "the AdaIN decoder");
  if (!weights.contains("1.weight") || weights.tensor("1.weight").shape.size() != 4)
    throw Error(weights.path() + ": weights for the AdaIN decoder lack \"1.weight\"");
  // Its first conv's input width tells the level (as adain_decoder_from_state()).
  const bool relu4_1 = weights.tensor("1.weight").shape[1] == 512;
  const int first = relu4_1 ? 0 : kTailStart;
  std::string x = kFeatures;
  for (int index = first; index <= kDecoderConvs.back().index; ++index) {
    if (std::find(kDecoderUpsamples.begin(), kDecoderUpsamples.end(), index) != kDecoderUpsamples.end())
      x = graph.upsample_nearest2(x);
    for (const auto& conv : kDecoderConvs) {
      if (conv.index != index) continue;
      const std::string key = std::to_string(index - first);
      const std::string w = weight(key + ".weight", {conv.out, conv.in, 3, 3});
      x = graph.conv(graph.reflection_pad(x, 1), w, weight(key + ".bias", {conv.out}), 3, 1);
      if (conv.out != 3) x = graph.unary("Relu", x);
    }
  }
  graph.node("Identity", {x}, "Picture").set_output(0, kImage);
  const std::string level = relu4_1 ? "relu4_1" : "relu3_1";

  GraphInterface interface;
  interface.kind = "adain-decoder";
  interface.architecture = "adain-decoder";
  interface.inputs = {{kFeatures, {"N", relu4_1 ? 512 : 256, "h", "w"}, "AdaIN's target at " + level}};
  interface.outputs = {{kImage, {"N", 3, "H", "W"}, "RGB picture, float32 NCHW, about 0..1 (clamp it)"}};
  interface.conventions = {{"input", kFeatures}, {"output", kImage}, {"layout", "NCHW"}, {"dtype", "float32"},
                           {"channel_order", "RGB"}, {"output_range", "about 0..1, not clamped (Atelier clamps)"},
                           {"level", level},
                           {"output_size", std::string("H = ") + (relu4_1 ? "8" : "4") + " x h, W = " +
                                               (relu4_1 ? "8" : "4") + " x w"},
                           {"adain", kAdainFormula},
                           {"pairs_with", "adain-encoder at " + level}};
  interface.doc = "Atelier's AdaIN decoder (" + level + "): AdaIN's target features to an RGB picture";
  return interface;
}

}  // namespace atelier::onnx_export
