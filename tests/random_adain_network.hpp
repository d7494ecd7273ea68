// Random-weight AdaIN networks for tests: the real layouts and key names
// (naoto0804's vgg_normalised and decoder, or a torchvision-keyed VGG19 that
// stops at conv3_1), since the channel counts are fixed. Kernels ~ N(0,
// 2/fan_in) keep activations alive; the decoder's last conv is calibrated so
// pictures come out around 0.5 +- 0.25, where clamping to [0,1] bites little.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/adain.hpp"
#include "models/vgg.hpp"
#include "train/training.hpp"

namespace atelier::testing {

inline std::map<std::string, torch::Tensor> random_conv_weights(
    const std::map<std::string, std::vector<int64_t>>& shapes, std::uint64_t seed) {
  torch::manual_seed(seed);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& [key, shape] : shapes) {
    const bool bias = shape.size() == 1;
    weights[key] = bias ? 0.05 * torch::randn(shape)
                        : torch::randn(shape) * std::sqrt(2.0 / static_cast<double>(shape[1] * shape[2] * shape[3]));
  }
  return weights;
}

// vgg_normalised up to relu4_1 ("0.*" .. "29.*"), the part AdaIN runs.
inline std::map<std::string, torch::Tensor> random_normalised_vgg_weights(std::uint64_t seed) {
  const auto indices = NormalisedVgg::layer_indices();
  int last = 0;
  for (const auto& [name, index] : indices)
    if (name == "conv4_1") last = index;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [key, shape] : NormalisedVgg::expected_shapes())
    if (std::stoi(key.substr(0, key.find('.'))) <= last) shapes[key] = shape;
  return random_conv_weights(shapes, seed);
}

// A torchvision-keyed VGG19 with the real widths up to conv3_1 (Caffe input),
// as the shared partial VGG gives relu3_1.
inline std::map<std::string, torch::Tensor> random_vgg_to_relu3_1_weights(std::uint64_t seed) {
  std::map<std::string, std::vector<int64_t>> shapes;
  int64_t in = 3;
  for (const auto& [name, index] : vgg_layer_names("vgg19")) {
    if (name.rfind("conv", 0) != 0) continue;
    const int64_t out = name[4] == '1' ? 64 : name[4] == '2' ? 128 : 256;
    shapes["features." + std::to_string(index) + ".weight"] = {out, in, 3, 3};
    shapes["features." + std::to_string(index) + ".bias"] = {out};
    in = out;
    if (name == "conv3_1") break;
  }
  auto weights = random_conv_weights(shapes, seed);
  // Caffe input is 0..255: only the first conv scales it down, so features
  // stay near 1 (rather than vanishing, with float rounding amplified by
  // the decoder's calibration).
  weights["features.0.weight"] /= 40.0;
  return weights;
}

// A decoder for `level` whose output on `encoder`'s features of a random
// picture has mean 0.5 and std 0.25.
inline AdainDecoder random_adain_decoder(const FeatureNetwork& encoder, const std::string& level, std::uint64_t seed) {
  const auto weights = random_conv_weights(AdainDecoderImpl::expected_shapes(level), seed);
  AdainDecoder decoder = adain_decoder_from_state(weights, level);
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed + 1);
  const auto probe = decoder->forward(encoder.extract(torch::rand({1, 3, 32, 32}), {level}).at(level));
  const auto mean = probe.mean({0, 2, 3}), std = probe.std({0, 2, 3}).clamp_min(1e-6);
  for (auto& item : decoder->named_parameters()) {
    auto& parameter = item.value();
    if (parameter.size(0) != 3) continue;  // only the last conv maps to RGB
    if (parameter.dim() == 4) parameter.mul_((0.25 / std).view({3, 1, 1, 1}));
    else parameter.sub_(mean).mul_(0.25 / std).add_(0.5);
  }
  return decoder;
}

// An encoder and a decoder written as safetensors into `dir`
// (adain/vgg_normalised and adain/decoder, where --models-dir finds them,
// or the relu3_1 pair adain/vgg_relu3_1 and adain/decoder_relu3_1).
struct AdainFiles {
  std::string encoder, decoder;
};
inline AdainFiles write_random_adain_models(const std::string& dir, const std::string& level, std::uint64_t seed) {
  std::filesystem::create_directories(dir + "/adain");
  AdainFiles files;
  std::shared_ptr<const FeatureNetwork> encoder;
  if (level == "relu4_1") {
    files = {dir + "/adain/vgg_normalised.safetensors", dir + "/adain/decoder.safetensors"};
    const auto weights = random_normalised_vgg_weights(seed);
    save_tensors(files.encoder, weights, {{"architecture", kNormalisedVggArchitecture}});
    encoder = std::make_shared<NormalisedVgg>(weights);
  } else {
    files = {dir + "/adain/vgg_relu3_1.safetensors", dir + "/adain/decoder_relu3_1.safetensors"};
    const auto weights = random_vgg_to_relu3_1_weights(seed);
    save_tensors(files.encoder, weights, {{"architecture", "vgg19"}, {"preprocess", "caffe"}});
    encoder = std::make_shared<VggFeatures>("vgg19", weights, Preprocess::Caffe, Pooling::Max);
  }
  AdainDecoder decoder = random_adain_decoder(*encoder, level, seed + 100);
  save_adain_decoder(decoder, files.decoder);
  return files;
}

}  // namespace atelier::testing
