#include <cmath>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "losses/losses.hpp"
#include "train/style_training.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace {

// Per photo: mean over its elements of (a-b)^2, over the mean of b^2.
torch::Tensor relative_error_per_item(const torch::Tensor& a, const torch::Tensor& b) {
  const auto dims = std::vector<int64_t>{1, 2, 3};
  return (a - b).square().mean(dims) / (b.square().mean(dims) + 1e-12);
}

}  // namespace

NamedTensors initial_style_network_weights(uint64_t seed) {
  torch::manual_seed(seed);
  NamedTensors weights;
  const auto shapes = FastStyleNetwork::expected_shapes(FastStyleArchitecture::PytorchExamples);
  for (const auto& [key, shape] : shapes) {
    const bool conv = key.find(".conv2d.") != std::string::npos;
    if (!conv) {  // instance norm: scale 1, shift 0
      weights[key] = key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0 ? torch::ones(shape)
                                                                                         : torch::zeros(shape);
      continue;
    }
    const auto& kernel = shapes.at(key.substr(0, key.rfind('.')) + ".weight");
    const double bound = 1.0 / std::sqrt(static_cast<double>(kernel[1] * kernel[2] * kernel[3]));
    weights[key] = torch::rand(shape) * (2 * bound) - bound;
  }
  // The output starts mid-grey rather than black: Adam moves a bias by about
  // lr a step, so from 0 it would take the first thousands of steps.
  weights["deconv3.conv2d.bias"].fill_(127.5);
  return weights;
}

PerceptualLoss::PerceptualLoss(const FeatureNetwork& features, const cv::Mat& style_rgb,
                               const StyleTrainingOptions& options)
    : features_(features),
      options_(options),
      content_layer_(options.content_layer.empty() ? features.default_content_layer() : options.content_layer),
      style_layers_(options.style_layers.empty() ? features.default_style_layers() : options.style_layers) {
  features.check_layer(content_layer_);
  for (const auto& layer : style_layers_) features.check_layer(layer);
  if (style_layers_.empty()) throw Error("no style layers: the feature network is too shallow");
  cv::Mat style = style_rgb;
  if (options.style_size > 0) style = resize_longest_side(Image{style_rgb, {}}, static_cast<int>(options.style_size)).rgb;
  torch::NoGradGuard no_grad;
  const auto maps = features.extract(image_to_tensor(style, features.device()), style_layers_);
  for (const auto& layer : style_layers_) style_grams_[layer] = gram_matrix(maps.at(layer)).detach();
}

torch::Tensor PerceptualLoss::operator()(const torch::Tensor& stylised, const torch::Tensor& photos,
                                         StyleLosses* parts) const {
  std::vector<std::string> layers = style_layers_;
  layers.push_back(content_layer_);
  // NCHW, as the feature network's weights are, so its convolutions convert nothing.
  const auto output_maps = features_.extract(stylised.contiguous(), layers);
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    target = features_.extract(photos, {content_layer_}).at(content_layer_).to(torch::kFloat32);
  }
  const auto content = relative_error_per_item(output_maps.at(content_layer_).to(torch::kFloat32), target).mean();
  auto style = torch::zeros({}, stylised.options().dtype(torch::kFloat32));
  for (const auto& layer : style_layers_) {
    const auto gram = gram_matrix(output_maps.at(layer).to(torch::kFloat32));  // [N,C,C]
    const auto& style_gram = style_grams_.at(layer);
    style = style + ((gram - style_gram).square().mean({1, 2}) / style_gram.square().mean()).mean();
  }
  style = style / static_cast<double>(style_layers_.size());
  const auto tv = total_variation_loss(stylised.to(torch::kFloat32));
  const auto total = options_.content_weight * content + options_.style_weight * style + options_.tv_weight * tv;
  if (parts) *parts = {content.item<double>(), style.item<double>(), tv.item<double>(), total.item<double>()};
  return total;
}

StyleTrainer::StyleTrainer(const FeatureNetwork& features, const cv::Mat& style_rgb, const StyleTrainingOptions& options,
                           ProcessGroup& group)
    : options_(options),
      network_(FastStyleArchitecture::PytorchExamples, initial_style_network_weights(options.seed), features.device()),
      loss_(features, style_rgb, options),
      adam_([&] {
        for (auto& [key, weight] : network_.weights()) weight.requires_grad_(true);
        return network_.weights();
      }(),
            options.learning_rate),
      group_(group) {
  // Every process starts from rank 0's weights (they already agree when
  // seeded alike; this makes it so whatever the seed).
  std::vector<torch::Tensor> weights;
  for (auto& [key, weight] : network_.weights()) weights.push_back(weight);
  group_.broadcast(weights);
}

StyleLosses StyleTrainer::step(const torch::Tensor& photos) {
  const auto x = photos.to(network_.device());
  StyleLosses parts;
  torch::Tensor total;
  {
    AutocastScope autocast(options_.precision, network_.device());
    const auto stylised = network_.forward(x * 255.0, /*clamp=*/false) / 255.0;
    total = loss_(stylised, x, &parts);
  }
  if (!std::isfinite(parts.total))
    throw Error("the loss became " + std::to_string(parts.total) + " at step " + std::to_string(adam_.steps() + 1) +
                " (content " + std::to_string(parts.content) + ", style " + std::to_string(parts.style) + ", tv " +
                std::to_string(parts.tv) + "): lower --lr");
  total.backward();
  std::vector<torch::Tensor> gradients;
  for (auto& [key, weight] : network_.weights()) gradients.push_back(weight.mutable_grad());
  group_.average(gradients);
  adam_.step();
  return parts;
}

StyleLosses StyleTrainer::evaluate(const torch::Tensor& photos) const {
  torch::NoGradGuard no_grad;
  AutocastScope autocast(options_.precision, network_.device());
  const auto x = photos.to(network_.device());
  StyleLosses parts;
  loss_(network_.forward(x * 255.0) / 255.0, x, &parts);
  return parts;
}

torch::Tensor StyleTrainer::stylise(const torch::Tensor& photos) const {
  torch::NoGradGuard no_grad;
  AutocastScope autocast(options_.precision, network_.device());
  return (network_.forward(photos.to(network_.device()) * 255.0) / 255.0).to(torch::kFloat32);
}

NamedTensors StyleTrainer::weights() const { return network_.weights(); }

NamedTensors StyleTrainer::state() const {
  NamedTensors state = adam_.state();
  for (const auto& [key, weight] : network_.weights()) state["model." + key] = weight;
  return state;
}

void StyleTrainer::load(const NamedTensors& state) {
  torch::NoGradGuard no_grad;
  for (auto& [key, weight] : network_.weights()) {
    auto found = state.find("model." + key);
    if (found == state.end()) throw Error("checkpoint lacks \"model." + key + "\"");
    if (found->second.sizes() != weight.sizes()) throw Error("checkpoint \"model." + key + "\" has the wrong shape");
    weight.copy_(found->second);
  }
  adam_.load_state(state);
}

}  // namespace atelier
