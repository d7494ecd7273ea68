// Style transfer by optimisation (Gatys, Ecker & Bethge 2016): an image is
// optimised so that its VGG features match the content image at the content
// layers and its Gram matrices match the style image(s) at the style layers,
// with total-variation smoothing.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "atelier/gatys_options.hpp"
#include "torch/tensor_image.hpp"
#include "models/vgg.hpp"

namespace atelier {

// The weighted loss terms of one evaluation (scalars, differentiable).
struct GatysLoss {
  torch::Tensor total, content, style, tv, temporal;
};

// The style targets of one scale, computed once and shared by its tiles:
// the blended Gram matrices, or with style masks each style's own.
struct GatysStyleTargets {
  std::map<std::string, torch::Tensor> blended;
  std::vector<std::map<std::string, torch::Tensor>> per_style;
};
// `styles` are CV_32FC3 RGB [0,1]; `tile` > 0 gathers each in tiles.
GatysStyleTargets gatys_style_targets(const VggFeatures& network, const std::vector<cv::Mat>& styles,
                                      const std::vector<double>& blend, const GatysOptions& options,
                                      std::int64_t tile = 0);

// Where the content lies in the scale's picture (a tile), so that the style
// masks and the temporal target are taken from the same place. Empty: the
// content is the whole picture.
struct GatysWindow {
  cv::Size full;
  cv::Rect rect;
};

// The objective being minimised: targets are computed once from the content
// and style images (tensors [1,3,H,W] RGB [0,1]); calling it on an image
// gives  content_weight * mean over content layers of content_loss
//      + style_weight   * mean over style layers of style_loss (blended Grams)
//      + tv_weight      * total_variation_loss(image)
//      + temporal_weight * mean(temporal_mask * (image - temporal_target)^2).
class GatysObjective {
 public:
  // `blend` holds one weight per style, summing to 1.
  GatysObjective(const VggFeatures& network, const torch::Tensor& content, const std::vector<torch::Tensor>& styles,
                 const std::vector<double>& blend, const GatysOptions& options);
  GatysObjective(const VggFeatures& network, const torch::Tensor& content, const GatysStyleTargets& targets,
                 const GatysOptions& options, const GatysWindow& window = {});
  GatysLoss operator()(const torch::Tensor& image) const;

 private:
  const VggFeatures& network_;
  GatysOptions options_;
  std::vector<std::string> layers_;  // union of content and style layers
  std::map<std::string, torch::Tensor> content_targets_;
  std::map<std::string, torch::Tensor> style_targets_;  // blended Gram matrices
  // With style_masks: per style, its own targets and its map at the image's size [1,1,H,W].
  std::vector<std::map<std::string, torch::Tensor>> region_targets_;
  std::vector<torch::Tensor> region_masks_;
  // With a temporal target: it and its mask at the image's size, [1,3,H,W] and [1,1,H,W].
  torch::Tensor temporal_target_, temporal_mask_;
  torch::Tensor region_style_loss(const std::map<std::string, torch::Tensor>& features,
                                  const torch::Tensor& image) const;
};

// Defaults: content relu4_2 (relu3_2 when the network stops before it);
// style relu1_1..relu5_1, keeping those present.
std::vector<std::string> default_content_layers(const VggFeatures& network);
std::vector<std::string> default_style_layers(const VggFeatures& network);

// `content` and `styles` are CV_32FC3 RGB [0,1]. With no `scales` the result
// has the content's size. Throws atelier::Error for bad options (unknown or
// missing layers, blend count mismatch, no style image).
GatysResult stylize_gatys(const VggFeatures& network, const cv::Mat& content, const std::vector<cv::Mat>& styles,
                          const GatysOptions& options, const GatysCallbacks& callbacks = {});

}  // namespace atelier
