// Training a feed-forward style network (Johnson et al. 2016; the
// pytorch/examples TransformerNet) for one style image: the perceptual loss
// of a feature network (VGG or ResNet-50) between the network's output and the photo
// (content) and between Gram matrices of the output and the style image
// (style), plus total variation.
//
// Losses are relative, as in Gatys (losses.hpp), and per photo so that a
// batch split over processes averages to the same gradient:
//   content = mean over photos i of mean((F(y_i) - F(x_i))^2) / mean(F(x_i)^2)
//   style   = mean over layers and photos of mean((G(y_i) - G(s))^2) / mean(G(s)^2)
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "atelier/training_run.hpp"
#include "models/fast_style.hpp"
#include "train/training.hpp"
#include "models/feature_network.hpp"

namespace atelier {

struct StyleTrainingOptions {
  std::string content_layer;              // empty: the network's default_content_layer()
  std::vector<std::string> style_layers;  // empty: its default_style_layers()
  // The defaults are the public job's (training_run.hpp), their one place.
  double content_weight = StyleTrainingJob{}.content_weight;
  double style_weight = StyleTrainingJob{}.style_weight;
  double tv_weight = StyleTrainingJob{}.tv_weight;
  double learning_rate = StyleTrainingJob{}.learning_rate;
  int64_t style_size = StyleTrainingJob{}.style_size;  // longest side of the style image; 0: as it is
  Precision precision = Precision::F32;
  uint64_t seed = 0;  // initial weights
};

struct StyleLosses {
  double content = 0, style = 0, tv = 0, total = 0;
};

// PyTorch's default initialisation of a TransformerNet (conv weights and
// biases uniform in +-1/sqrt(fan_in), norms 1 and 0), from `seed`; except
// the last bias, 127.5, so that training starts from grey, not black.
NamedTensors initial_style_network_weights(uint64_t seed);

// The losses of a style network's output `stylised` for photos `photos`
// (both [N,3,H,W] RGB 0..1); differentiable in `stylised`.
class PerceptualLoss {
 public:
  PerceptualLoss(const FeatureNetwork& features, const cv::Mat& style_rgb, const StyleTrainingOptions& options);
  // total = content_weight*content + style_weight*style + tv_weight*tv
  torch::Tensor operator()(const torch::Tensor& stylised, const torch::Tensor& photos, StyleLosses* parts) const;
  const std::string& content_layer() const { return content_layer_; }
  const std::vector<std::string>& style_layers() const { return style_layers_; }

 private:
  const FeatureNetwork& features_;
  StyleTrainingOptions options_;
  std::string content_layer_;
  std::vector<std::string> style_layers_;
  std::map<std::string, torch::Tensor> style_grams_;  // [1,C,C]
};

class StyleTrainer {
 public:
  StyleTrainer(const FeatureNetwork& features, const cv::Mat& style_rgb, const StyleTrainingOptions& options,
               ProcessGroup& group);

  // One optimisation step on this process's batch ([N,3,H,W] RGB 0..1):
  // forward, backward, gradients averaged over the process group, Adam.
  StyleLosses step(const torch::Tensor& photos);
  // Losses of the current network on `photos`, without training.
  StyleLosses evaluate(const torch::Tensor& photos) const;
  // Stylises `photos` ([N,3,H,W] RGB 0..1) with the current network.
  torch::Tensor stylise(const torch::Tensor& photos) const;

  int64_t steps() const { return adam_.steps(); }
  const FastStyleNetwork& network() const { return network_; }
  const PerceptualLoss& loss() const { return loss_; }

  // Weights and optimizer state, for checkpoints; load() restores both.
  NamedTensors state() const;
  void load(const NamedTensors& state);
  NamedTensors weights() const;

 private:
  StyleTrainingOptions options_;
  FastStyleNetwork network_;
  PerceptualLoss loss_;
  Adam adam_;
  ProcessGroup& group_;
};

}  // namespace atelier
