#include "models/adain.hpp"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cmath>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"
#include "models/fast_style.hpp"
#include "models/vgg.hpp"
#include "torch/tensor_image.hpp"
#include "train/training.hpp"

namespace atelier {
// Named, not anonymous: the library compiles in unity batches.
namespace adain_detail {

namespace F = torch::nn::functional;

// VGG19 channel widths per block.
constexpr int kBlockWidths[] = {64, 128, 256, 512, 512};
constexpr int kBlockConvs[] = {2, 2, 4, 4, 4};

// The first index of the relu3_1 tail in the full decoder (the pad before its
// first 256->128 conv).
constexpr int kTailStart = 13;

struct DecoderConv {
  int index, in, out;
};

// The full relu4_1 decoder's convs; the relu3_1 tail are those from index 14.
const std::vector<DecoderConv>& full_decoder_convs() {
  static const std::vector<DecoderConv> convs = {{1, 512, 256},  {5, 256, 256},  {8, 256, 256}, {11, 256, 256},
                                                 {14, 256, 128}, {18, 128, 128}, {21, 128, 64}, {25, 64, 64},
                                                 {28, 64, 3}};
  return convs;
}
// Upsampling layers of the full decoder.
constexpr int kFullUpsamples[] = {3, 16, 23};

std::string key_text(const std::string& key) { return "\"" + key + "\""; }

}  // namespace adain_detail

namespace ad = adain_detail;

// ------------------------------------------------------------ encoder

std::vector<std::pair<std::string, int>> NormalisedVgg::layer_indices() {
  std::vector<std::pair<std::string, int>> names;
  int index = 1;  // 0 is the 1x1 input conv
  for (int block = 0; block < 5; ++block) {
    for (int conv = 1; conv <= ad::kBlockConvs[block]; ++conv) {
      const std::string suffix = std::to_string(block + 1) + "_" + std::to_string(conv);
      names.emplace_back("conv" + suffix, index + 1);  // after its reflection pad
      names.emplace_back("relu" + suffix, index + 2);
      index += 3;
    }
    if (block < 4) names.emplace_back("pool" + std::to_string(block + 1), index++);
  }
  return names;
}

std::map<std::string, std::vector<int64_t>> NormalisedVgg::expected_shapes() {
  std::map<std::string, std::vector<int64_t>> shapes = {{"0.weight", {3, 3, 1, 1}}, {"0.bias", {3}}};
  int64_t in = 3;
  for (const auto& [name, index] : layer_indices()) {
    if (name.rfind("conv", 0) != 0) continue;
    const int64_t out = ad::kBlockWidths[name[4] - '1'];
    shapes[std::to_string(index) + ".weight"] = {out, in, 3, 3};
    shapes[std::to_string(index) + ".bias"] = {out};
    in = out;
  }
  return shapes;
}

NormalisedVgg::NormalisedVgg(const std::map<std::string, torch::Tensor>& weights, const torch::Device& device)
    : device_(device) {
  const auto expected = expected_shapes();
  for (const auto& [key, tensor] : weights) {
    const auto found = expected.find(key);
    if (found == expected.end()) throw Error("unexpected key " + ad::key_text(key) + " for the normalised VGG");
    if (tensor.sizes().vec() != found->second)
      throw Error(ad::key_text(key) + " has shape " + shape_text(tensor.sizes().vec()) + ", expected " +
                  shape_text(found->second) + " for the normalised VGG");
  }
  for (const char* key : {"0.weight", "0.bias"})
    if (!weights.count(key)) throw Error("weights for the normalised VGG lack \"" + std::string(key) + "\"");
  const auto layers = layer_indices();
  usable_layers_ = layers.size();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].first.rfind("conv", 0) != 0) continue;
    const std::string key = std::to_string(layers[i].second);
    if (!weights.count(key + ".weight") || !weights.count(key + ".bias")) {
      usable_layers_ = i;
      break;
    }
  }
  if (usable_layers_ == 0) throw Error("weights for the normalised VGG lack \"2.weight\" (conv1_1)");
  // Keys past the first gap would be ignored silently: refuse them.
  for (size_t i = usable_layers_; i < layers.size(); ++i) {
    const std::string key = std::to_string(layers[i].second);
    if (weights.count(key + ".weight") || weights.count(key + ".bias"))
      throw Error("weights for the normalised VGG hold " + ad::key_text(key + ".weight") + " but lack conv " +
                  layers[usable_layers_].first);
  }
  for (const auto& [key, tensor] : weights) weights_[key] = tensor.to(device).contiguous();
  if (!device.is_cpu() || !winograd::available()) return;
  for (size_t i = 0; i < usable_layers_; ++i) {
    const std::string key = std::to_string(layers[i].second);
    if (layers[i].first.rfind("conv", 0) == 0 && winograd::Conv3x3::suits(weights_.at(key + ".weight")))
      winograd_.emplace(layers[i].second,
                        winograd::Conv3x3(weights_.at(key + ".weight"), weights_.at(key + ".bias"), /*padding=*/0));
  }
}

NormalisedVgg NormalisedVgg::load(const std::string& path, const torch::Device& device) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& name : file.names()) weights[name] = load_tensor(file, name);
  try {
    return NormalisedVgg(weights, device);
  } catch (const Error& error) {
    throw Error(path + ": " + error.what());
  }
}

std::vector<std::string> NormalisedVgg::layers() const {
  std::vector<std::string> names;
  const auto all = layer_indices();
  for (size_t i = 0; i < usable_layers_; ++i) names.push_back(all[i].first);
  return names;
}

std::string NormalisedVgg::default_content_layer() const { return adain_level(*this); }

std::vector<std::string> NormalisedVgg::default_style_layers() const { return adain_style_layers(adain_level(*this)); }

std::map<std::string, torch::Tensor> NormalisedVgg::extract(const torch::Tensor& rgb01,
                                                            const std::vector<std::string>& layer_names) const {
  const auto all = layer_indices();
  size_t deepest = 0;
  for (const auto& name : layer_names) {
    check_layer(name);
    for (size_t i = 0; i < usable_layers_; ++i)
      if (all[i].first == name) deepest = std::max(deepest, i);
  }
  std::map<std::string, torch::Tensor> wanted;
  if (layer_names.empty()) return wanted;
  const auto& w = weights_;
  auto x = torch::conv2d(rgb01, w.at("0.weight"), w.at("0.bias"));
  // As VggFeatures: Winograd in oneDNN's blocked layout for fp32 on the CPU, relu within the conv.
  const bool winograd = !winograd_.empty() && winograd::takes(x) && x.size(2) >= 2 && x.size(3) >= 2;
  const auto asked = [&](const std::string& name) {
    return std::find(layer_names.begin(), layer_names.end(), name) != layer_names.end();
  };
  winograd::BlockedPass pass(x);
  for (size_t i = 0; i <= deepest; ++i) {
    const auto& [name, index] = all[i];
    if (name.rfind("conv", 0) == 0) {
      const auto fast = winograd ? winograd_.find(index) : winograd_.end();
      if (fast != winograd_.end()) {
        pass.conv(fast->second, i + 1 <= deepest && all[i + 1].first.rfind("relu", 0) == 0 && !asked(name),
                  /*reflect=*/true);
      } else {
        auto& nchw = pass.nchw();
        const std::string key = std::to_string(index);
        nchw = torch::conv2d(reflection_pad(nchw, 1, nchw.scalar_type()), w.at(key + ".weight"), w.at(key + ".bias"));
      }
    } else if (name.rfind("relu", 0) == 0) {
      pass.relu();
    } else {
      pass.pool2x2(/*max=*/true, /*ceil=*/true);
    }
    if (asked(name)) wanted[name] = pass.features();
  }
  return wanted;
}

std::shared_ptr<const FeatureNetwork> load_adain_encoder(const std::string& path, const torch::Device& device) {
  bool normalised = false;
  {
    const SafetensorsFile file = SafetensorsFile::open(path);
    const std::string architecture = file.metadata_value("architecture");
    normalised = architecture == kNormalisedVggArchitecture || (architecture.empty() && file.contains("0.weight"));
  }
  if (normalised) return std::make_shared<const NormalisedVgg>(NormalisedVgg::load(path, device));
  std::shared_ptr<const FeatureNetwork> network = load_feature_network(path, std::nullopt, Pooling::Max, device);
  if (network->architecture() != "vgg16" && network->architecture() != "vgg19")
    throw Error(path + ": an AdaIN encoder is a VGG (" + network->architecture() + " given)");
  adain_level(*network);  // refuse one that stops before relu3_1
  return network;
}

// ------------------------------------------------------------ AdaIN

std::string adain_level(const FeatureNetwork& encoder) {
  if (encoder.has_layer("relu4_1")) return "relu4_1";
  if (encoder.has_layer("relu3_1")) return "relu3_1";
  throw Error("an AdaIN encoder needs relu3_1 or relu4_1; this " + encoder.architecture() + " stops at " +
              encoder.layers().back());
}

void check_adain_level(const std::string& level) {
  if (level != "relu3_1" && level != "relu4_1")
    throw Error("unknown AdaIN level \"" + level + "\" (relu3_1 or relu4_1)");
}

std::vector<std::string> adain_style_layers(const std::string& level) {
  check_adain_level(level);
  std::vector<std::string> layers = {"relu1_1", "relu2_1", "relu3_1"};
  if (level == "relu4_1") layers.push_back("relu4_1");
  return layers;
}

int64_t adain_level_stride(const std::string& level) {
  check_adain_level(level);
  return level == "relu4_1" ? 8 : 4;
}

std::pair<torch::Tensor, torch::Tensor> channel_mean_std(const torch::Tensor& features) {
  if (features.dim() != 4) throw Error("internal: channel statistics need [N,C,H,W] features");
  const auto flat = features.flatten(2);
  const auto variance = flat.var(2, /*unbiased=*/true, /*keepdim=*/true) + kAdainEps;
  return {flat.mean(2, /*keepdim=*/true).unsqueeze(3), variance.sqrt().unsqueeze(3)};
}

torch::Tensor adaptive_instance_norm(const torch::Tensor& content, const torch::Tensor& style) {
  if (content.dim() != 4 || style.dim() != 4 || content.size(1) != style.size(1))
    throw Error("internal: AdaIN needs [N,C,H,W] content and style with the same channels");
  return adaptive_instance_norm_to(content, channel_mean_std(style));
}

torch::Tensor adaptive_instance_norm_to(const torch::Tensor& content, const AdainStatistics& style) {
  const auto [content_mean, content_std] = channel_mean_std(content);
  return (content - content_mean) / content_std * style.second + style.first;
}

torch::Tensor adain_target(const torch::Tensor& content, const std::vector<torch::Tensor>& styles,
                           const std::vector<double>& weights, double alpha) {
  std::vector<AdainStatistics> statistics;
  for (const auto& style : styles) {
    if (style.dim() != 4 || content.dim() != 4 || style.size(1) != content.size(1))
      throw Error("internal: AdaIN needs [N,C,H,W] content and style with the same channels");
    statistics.push_back(channel_mean_std(style));
  }
  return adain_target(content, statistics, weights, alpha);
}

torch::Tensor adain_target(const torch::Tensor& content, const std::vector<AdainStatistics>& styles,
                           const std::vector<double>& weights, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) throw Error("the AdaIN strength (alpha) must be in [0,1]");
  if (styles.empty()) throw Error("AdaIN needs at least one style");
  if (weights.size() != styles.size())
    throw Error(std::to_string(weights.size()) + " blend weights for " + std::to_string(styles.size()) + " styles");
  double total = 0;
  for (double weight : weights) {
    if (!std::isfinite(weight) || weight < 0) throw Error("blend weights must be finite and not negative");
    total += weight;
  }
  if (total <= 0) throw Error("the blend weights sum to zero");
  torch::Tensor mixed;
  for (size_t i = 0; i < styles.size(); ++i) {
    if (weights[i] == 0) continue;
    const auto part = adaptive_instance_norm_to(content, styles[i]) * (weights[i] / total);
    mixed = mixed.defined() ? mixed + part : part;
  }
  return alpha == 1.0 ? mixed : mixed * alpha + content * (1.0 - alpha);
}

torch::Tensor mask_at_size(const torch::Tensor& mask, int64_t height, int64_t width) {
  if (mask.dim() != 2) throw Error("internal: a mask is [H,W]");
  const auto resized = ad::F::interpolate(mask.to(torch::kFloat32).view({1, 1, mask.size(0), mask.size(1)}),
                                      ad::F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{height, width})
                                          .mode(torch::kNearest));
  return resized.view({height, width}) >= 0.5;
}

torch::Tensor adain_masked_target(const torch::Tensor& content, const torch::Tensor& style_fg,
                                  const torch::Tensor& style_bg, const torch::Tensor& foreground, double alpha) {
  return adain_masked_target(content, channel_mean_std(style_fg), channel_mean_std(style_bg), foreground, alpha);
}

torch::Tensor adain_masked_target(const torch::Tensor& content, const AdainStatistics& style_fg,
                                  const AdainStatistics& style_bg, const torch::Tensor& foreground, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) throw Error("the AdaIN strength (alpha) must be in [0,1]");
  if (content.dim() != 4 || content.size(0) != 1) throw Error("internal: masked AdaIN takes one [1,C,H,W] picture");
  if (foreground.sizes() != content.sizes().slice(2)) throw Error("internal: the mask is not at the features' size");
  const int64_t channels = content.size(1);
  const auto flat = content.reshape({channels, -1});
  const auto where = foreground.reshape({-1}).to(content.device());
  auto target = torch::empty_like(flat);
  for (const bool fg : {true, false}) {
    const auto indices = torch::nonzero(fg ? where : where.logical_not()).flatten();
    const int64_t n = indices.numel();
    if (n == 0) continue;
    const auto region = flat.index_select(1, indices);
    // Unbiased variance; one pixel has none, so its variance is taken as 0.
    const auto mean = region.mean(1, /*keepdim=*/true);
    const auto variance = (region - mean).pow(2).sum(1, /*keepdim=*/true) / static_cast<double>(std::max<int64_t>(n - 1, 1));
    const auto& [style_mean, style_std] = fg ? style_fg : style_bg;
    const auto painted = (region - mean) / (variance + kAdainEps).sqrt() * style_std.view({channels, 1}) +
                         style_mean.view({channels, 1});
    target.index_copy_(1, indices, painted);
  }
  const auto mixed = target.view_as(content);
  return alpha == 1.0 ? mixed : mixed * alpha + content * (1.0 - alpha);
}

// ------------------------------------------------------------ decoder

AdainDecoderImpl::AdainDecoderImpl(const std::string& level_name) : level(level_name) {
  check_adain_level(level);
  const int first = level == "relu4_1" ? 0 : ad::kTailStart;
  // Walk the full decoder's layers from `first`, renumbering from 0.
  const auto& convs = ad::full_decoder_convs();
  for (int index = first; index <= convs.back().index; ++index) {
    const auto conv = std::find_if(convs.begin(), convs.end(), [&](const ad::DecoderConv& c) { return c.index == index; });
    if (conv != convs.end()) {
      const int key = index - first;
      convs_.emplace(key, register_module(std::to_string(key),
                                          torch::nn::Conv2d(torch::nn::Conv2dOptions(conv->in, conv->out, 3))));
      steps_.push_back({Step::Kind::Conv, key});
      if (conv->out != 3) steps_.push_back({Step::Kind::Relu, 0});
    } else if (std::find(std::begin(ad::kFullUpsamples), std::end(ad::kFullUpsamples), index) !=
               std::end(ad::kFullUpsamples)) {
      steps_.push_back({Step::Kind::Upsample, 0});
    }
  }
}

std::map<std::string, std::vector<int64_t>> AdainDecoderImpl::expected_shapes(const std::string& level) {
  check_adain_level(level);
  std::map<std::string, std::vector<int64_t>> shapes;
  const int first = level == "relu4_1" ? 0 : ad::kTailStart;
  for (const auto& conv : ad::full_decoder_convs()) {
    if (conv.index < first) continue;
    const std::string key = std::to_string(conv.index - first);
    shapes[key + ".weight"] = {conv.out, conv.in, 3, 3};
    shapes[key + ".bias"] = {conv.out};
  }
  return shapes;
}

torch::Tensor AdainDecoderImpl::forward(const torch::Tensor& features) {
  auto x = features;
  // Winograd (as in the encoder) where no weight gradient is wanted: Conv3x3 gives none.
  const bool weights_learn = torch::GradMode::is_enabled() && convs_.begin()->second->weight.requires_grad();
  const bool winograd = !weights_learn && winograd::takes(x) &&
                        convs_.begin()->second->weight.scalar_type() == torch::kFloat32 && x.size(2) >= 2 &&
                        x.size(3) >= 2;
  if (winograd) {
    std::lock_guard<std::mutex> lock(winograd_mutex_);
    if (winograd_.empty())
      for (const auto& [index, conv] : convs_)
        if (winograd::Conv3x3::suits(conv->weight))
          winograd_.emplace(index, winograd::Conv3x3(conv->weight, conv->bias, /*padding=*/0));
  }
  winograd::BlockedPass pass(x);
  for (size_t s = 0; s < steps_.size(); ++s) {
    const Step& step = steps_[s];
    switch (step.kind) {
      case Step::Kind::Conv: {
        const auto fast = winograd ? winograd_.find(step.index) : winograd_.end();
        if (fast != winograd_.end()) {
          pass.conv(fast->second, s + 1 < steps_.size() && steps_[s + 1].kind == Step::Kind::Relu, /*reflect=*/true);
          break;
        }
        auto& nchw = pass.nchw();
        const auto& conv = convs_.at(step.index);
        nchw = torch::conv2d(reflection_pad(nchw, 1, nchw.scalar_type()), conv->weight, conv->bias);
        break;
      }
      case Step::Kind::Relu:
        pass.relu();
        break;
      case Step::Kind::Upsample:
        pass.upsample2x();
        break;
    }
  }
  return pass.features().contiguous();
}

AdainDecoder adain_decoder_from_state(const std::map<std::string, torch::Tensor>& state, const std::string& level,
                                      const torch::Device& device) {
  std::string chosen = level;
  if (chosen.empty()) {
    const auto first = state.find("1.weight");
    if (first == state.end() || first->second.dim() != 4)
      throw Error("weights for the AdaIN decoder lack \"1.weight\"");
    chosen = first->second.size(1) == 512 ? "relu4_1" : "relu3_1";
  }
  const auto expected = AdainDecoderImpl::expected_shapes(chosen);
  for (const auto& [key, tensor] : state) {
    const auto found = expected.find(key);
    if (found == expected.end())
      throw Error("unexpected key " + ad::key_text(key) + " for the AdaIN decoder at " + chosen);
    if (tensor.sizes().vec() != found->second)
      throw Error(ad::key_text(key) + " has shape " + shape_text(tensor.sizes().vec()) + ", expected " +
                  shape_text(found->second) + " for the AdaIN decoder at " + chosen);
  }
  for (const auto& [key, shape] : expected)
    if (!state.count(key)) throw Error("weights for the AdaIN decoder at " + chosen + " lack " + ad::key_text(key));
  AdainDecoder decoder(chosen);
  torch::NoGradGuard no_grad;
  for (auto& item : decoder->named_parameters()) item.value().copy_(state.at(item.key()));
  decoder->to(device);
  return decoder;
}

torch::Tensor AdainStages::input(const cv::Mat& rgb) const { return image_to_tensor(rgb, encoder_.device()); }

torch::Tensor AdainStages::encode(const torch::Tensor& input, const NormPlan&, std::array<int64_t, 2>) const {
  return encoder_.extract(input, {decoder_.level}).at(decoder_.level).to(torch::kFloat32);  // as the whole pass
}

AdainDecoder load_adain_decoder(const std::string& path, const torch::Device& device) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const std::string architecture = file.metadata_value("architecture");
  if (!architecture.empty() && architecture != kAdainDecoderArchitecture)
    throw Error(path + ": a " + architecture + " file, not an AdaIN decoder");
  std::map<std::string, torch::Tensor> state;
  for (const auto& name : file.names()) state[name] = load_tensor(file, name);
  try {
    return adain_decoder_from_state(state, file.metadata_value("level"), device);
  } catch (const Error& error) {
    throw Error(path + ": " + error.what());
  }
}

void save_adain_decoder(AdainDecoder& decoder, const std::string& path,
                        const std::map<std::string, std::string>& metadata) {
  NamedTensors tensors;
  for (const auto& item : decoder->named_parameters()) tensors[item.key()] = item.value().detach();
  auto all = metadata;
  all["architecture"] = kAdainDecoderArchitecture;
  all["level"] = decoder->level;
  save_tensors(path, tensors, all);
}

}  // namespace atelier
