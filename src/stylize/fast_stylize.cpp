#include "models/fast_style.hpp"

namespace atelier {

cv::Mat stylize_image(const FastStyleNetwork& network, const cv::Mat& rgb, Precision precision) {
  torch::InferenceMode inference;
  AutocastScope autocast(precision, network.device());
  auto output = network.forward(image_to_tensor(rgb, network.device()) * 255.0) / 255.0;
  // Sizes that are not multiples of 4 come back a few pixels larger: the
  // extra rows and columns are padding, so crop to the input.
  using torch::indexing::Slice;
  output = output.index({Slice(), Slice(), Slice(0, rgb.rows), Slice(0, rgb.cols)});
  return tensor_to_image(output.to(torch::kFloat32));
}

torch::Tensor FastStyleStages::input(const cv::Mat& rgb) const {
  return network_.input_tensor(image_to_tensor(rgb) * 255.0);
}

torch::Tensor FastStyleStages::decode(const torch::Tensor& trunk_output, const NormPlan& plan) const {
  const auto output = network_.decode(trunk_output, plan);
  // A stage that stops at a norm returns that norm's input as it is.
  const bool stopped = plan.stop_at_next && plan.fixed.size() < network_.decoder_norm_scales().size();
  return stopped ? output : output.to(torch::kFloat32) / 255.0;  // not in bf16
}

}  // namespace atelier
