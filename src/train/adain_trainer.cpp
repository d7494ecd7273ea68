#include <cmath>

#include "atelier/error.hpp"
#include "torch/tensor_image.hpp"
#include "train/adain_training.hpp"

namespace atelier {
namespace {

// The decoder as PyTorch initialises a fresh one, from `seed`.
AdainDecoder initial_adain_decoder(const std::string& level, uint64_t seed, const torch::Device& device) {
  torch::manual_seed(seed);
  AdainDecoder decoder(level);
  decoder->to(device);
  return decoder;
}

NamedTensors decoder_parameters(AdainDecoder& decoder) {
  NamedTensors parameters;
  for (const auto& item : decoder->named_parameters()) parameters[item.key()] = item.value();
  return parameters;
}

// MSE of a batch's statistics against the paintings' (one painting broadcast to all).
torch::Tensor statistics_mse(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b.expand_as(a)).square().mean();
}

}  // namespace

AdainTrainer::AdainTrainer(const FeatureNetwork& encoder, const AdainTrainingOptions& options, ProcessGroup& group)
    : encoder_(encoder),
      options_(options),
      style_layers_([&] {
        check_adain_level(options.level);
        encoder.check_layer(options.level);
        return adain_style_layers(options.level);
      }()),
      decoder_(initial_adain_decoder(options.level, options.seed, encoder.device())),
      adam_(decoder_parameters(decoder_), options.learning_rate),
      group_(group) {
  // Every process starts from rank 0's weights (they agree when seeded
  // alike; this makes it so whatever the seed).
  std::vector<torch::Tensor> weights;
  for (auto& [key, weight] : decoder_parameters(decoder_)) weights.push_back(weight);
  group_.broadcast(weights);
}

AdainTrainer::Targets AdainTrainer::targets(const torch::Tensor& photos, const torch::Tensor& paintings) const {
  torch::NoGradGuard no_grad;
  const torch::Device device = encoder_.device();
  const auto content = encoder_.extract(photos.to(device), {options_.level}).at(options_.level).to(torch::kFloat32);
  const auto style = encoder_.extract(paintings.to(device), style_layers_);
  Targets targets;
  targets.t = adaptive_instance_norm(content, style.at(options_.level).to(torch::kFloat32));
  for (const auto& layer : style_layers_)
    targets.painting_statistics.push_back(channel_mean_std(style.at(layer).to(torch::kFloat32)));
  return targets;
}

torch::Tensor AdainTrainer::losses(const torch::Tensor& decoded, const Targets& targets, AdainLosses* parts) const {
  const auto features = encoder_.extract(decoded, style_layers_);
  const auto content = (features.at(options_.level).to(torch::kFloat32) - targets.t).square().mean();
  auto style = torch::zeros({}, targets.t.options());
  for (size_t i = 0; i < style_layers_.size(); ++i) {
    const auto [mean, std] = channel_mean_std(features.at(style_layers_[i]).to(torch::kFloat32));
    const auto& [painting_mean, painting_std] = targets.painting_statistics[i];
    style = style + statistics_mse(mean, painting_mean) + statistics_mse(std, painting_std);
  }
  const auto total = options_.content_weight * content + options_.style_weight * style;
  *parts = {content.item<double>(), style.item<double>(), total.item<double>()};
  return total;
}

AdainLosses AdainTrainer::step(const torch::Tensor& photos, const torch::Tensor& paintings) {
  AdainLosses parts;
  torch::Tensor total;
  {
    AutocastScope autocast(options_.precision, encoder_.device());
    const Targets wanted = targets(photos, paintings);
    total = losses(decoder_->forward(wanted.t), wanted, &parts);
  }
  if (!std::isfinite(parts.total)) return parts;  // the run reports the divergence, writing nothing
  total.backward();
  std::vector<torch::Tensor> gradients;
  for (auto& [key, weight] : decoder_parameters(decoder_)) gradients.push_back(weight.mutable_grad());
  group_.average(gradients);
  adam_.step();
  return parts;
}

AdainLosses AdainTrainer::evaluate(const torch::Tensor& photos, const torch::Tensor& paintings) {
  torch::NoGradGuard no_grad;
  AutocastScope autocast(options_.precision, encoder_.device());
  AdainLosses parts;
  const Targets wanted = targets(photos, paintings);
  losses(decoder_->forward(wanted.t), wanted, &parts);
  return parts;
}

AdainLosses AdainTrainer::evaluate_unpainted(const torch::Tensor& photos, const torch::Tensor& paintings) {
  torch::NoGradGuard no_grad;
  AutocastScope autocast(options_.precision, encoder_.device());
  AdainLosses parts;
  losses(photos.to(encoder_.device()), targets(photos, paintings), &parts);
  return parts;
}

torch::Tensor AdainTrainer::stylise(const torch::Tensor& photos, const torch::Tensor& paintings) {
  torch::NoGradGuard no_grad;
  AutocastScope autocast(options_.precision, encoder_.device());
  return decoder_->forward(targets(photos, paintings).t).to(torch::kFloat32).to(torch::kCPU);
}

NamedTensors AdainTrainer::weights() const {
  NamedTensors weights;
  for (const auto& item : decoder_->named_parameters()) weights[item.key()] = item.value();
  return weights;
}

NamedTensors AdainTrainer::state() const {
  NamedTensors state = adam_.state();
  for (const auto& [key, weight] : weights()) state["model." + key] = weight;
  return state;
}

void AdainTrainer::load(const NamedTensors& state) {
  torch::NoGradGuard no_grad;
  for (auto& [key, weight] : decoder_parameters(decoder_)) {
    auto found = state.find("model." + key);
    if (found == state.end()) throw Error("checkpoint lacks \"model." + key + "\"");
    if (found->second.sizes() != weight.sizes()) throw Error("checkpoint \"model." + key + "\" has the wrong shape");
    weight.copy_(found->second);
  }
  adam_.load_state(state);
}

}  // namespace atelier
