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

}  // namespace atelier
