// What studio tests serve: a models folder with a tiny random VGG19 (for
// optimisation jobs) and random fast styles, and small pictures.
#pragma once
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <string>

#include "random_style_network.hpp"
#include "tiny_vgg.hpp"

namespace atelier::testing {

inline void write_studio_models(const std::string& dir, int styles = 2) {
  std::filesystem::create_directories(dir);
  write_tiny_vgg_file(dir + "/vgg19.safetensors", "vgg19", -1, {{"preprocess", "torchvision"}});
  const char* names[] = {"candy", "mosaic", "udnie", "rain"};
  for (int i = 0; i < styles && i < 4; ++i)
    write_random_style_network(dir + "/" + names[i] + ".safetensors", 11 + i, {{"architecture", "pytorch-examples"}});
}

// A photo-like picture: gradients and shapes, so styles have edges to paint.
inline std::string picture_png(int width, int height, int seed = 0) {
  cv::Mat bgr(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(255 * x / width), static_cast<uchar>(255 * y / height),
                                          static_cast<uchar>((seed * 70 + x + y) % 256));
  cv::circle(bgr, {width / 2, height / 2}, std::min(width, height) / 4, cv::Scalar(30, 30, 200), cv::FILLED);
  std::vector<unsigned char> bytes;
  cv::imencode(".png", bgr, bytes);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace atelier::testing
