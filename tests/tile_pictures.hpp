// Pictures for the tile tests: smooth random structure (so tiles differ)
// and the largest difference between two results.
#pragma once
#include <opencv2/imgproc.hpp>

#include <cstdint>

namespace atelier::testing {

// A smooth random picture with some structure: noise blurred at two scales.
inline cv::Mat random_picture(int width, int height, std::uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat coarse(height / 16 + 1, width / 16 + 1, CV_32FC3), fine(height, width, CV_32FC3), picture;
  rng.fill(coarse, cv::RNG::UNIFORM, 0.0, 1.0);
  rng.fill(fine, cv::RNG::UNIFORM, -0.15, 0.15);
  cv::resize(coarse, picture, {width, height}, 0, 0, cv::INTER_CUBIC);
  cv::GaussianBlur(fine, fine, {0, 0}, 1.5);
  picture += fine;
  return cv::min(cv::max(picture, 0.0), 1.0);
}

// The largest absolute difference of any channel of any pixel.
inline double max_difference(const cv::Mat& a, const cv::Mat& b) {
  double most = 0;
  cv::minMaxLoc(cv::Mat(cv::abs(a - b)).reshape(1), nullptr, &most);
  return most;
}

}  // namespace atelier::testing
