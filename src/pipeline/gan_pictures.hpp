// Generated images as pictures: shared by the GAN tools and by training,
// which writes sample grids as it goes.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

namespace atelier {

// [1,C,H,W] (C 1 or 3) in 0..1 as CV_32FC3 RGB (grey repeated to RGB).
cv::Mat rgb_picture(const torch::Tensor& image);

}  // namespace atelier
