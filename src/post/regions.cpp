#include "atelier/regions.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>

#include "atelier/error.hpp"

namespace atelier {
namespace {

std::string size_text(cv::Size size) { return std::to_string(size.width) + "x" + std::to_string(size.height); }

// The mask at the content's size (area or linear: a mask's grey levels and
// colours are kept, never overshot), saying so when its shape differs.
cv::Mat mask_at_size(const cv::Mat& mask_rgb, cv::Size size, int interpolation, std::vector<std::string>& notices) {
  if (mask_rgb.size() == size) return mask_rgb;
  const double ratio = (static_cast<double>(mask_rgb.cols) / mask_rgb.rows) / (static_cast<double>(size.width) / size.height);
  if (std::abs(ratio - 1.0) > 0.01)
    notices.push_back("the mask is " + size_text(mask_rgb.size()) + ", the picture " + size_text(size) +
                      ": a different shape, stretched to fit");
  cv::Mat resized;
  cv::resize(mask_rgb, resized, size, 0, 0, interpolation);
  return resized;
}

}  // namespace

RegionSpec parse_region(const std::string& text) {
  const auto equals = text.find('=');
  std::string colour = text.substr(0, equals);
  if (!colour.empty() && colour[0] == '#') colour.erase(0, 1);
  unsigned r = 0, g = 0, b = 0;
  char rest = 0;
  if (equals == std::string::npos || equals + 1 == text.size() || colour.size() != 6 ||
      std::sscanf(colour.c_str(), "%2x%2x%2x%c", &r, &g, &b, &rest) != 3)
    throw Error("--region " + text + ": expected #rrggbb=STYLE, e.g. '#ff0000=starry.jpg'");
  return {cv::Vec3b(static_cast<uchar>(r), static_cast<uchar>(g), static_cast<uchar>(b)), text.substr(equals + 1)};
}

std::string colour_hex(cv::Vec3b rgb) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return hex;
}

RegionWeights grey_mask_weights(const cv::Mat& mask_rgb, cv::Size size, int styles) {
  CV_Assert(mask_rgb.type() == CV_32FC3);
  if (styles != 1 && styles != 2)
    throw Error("a grey mask takes one style (white: painted) or two (white: the first, black: the second), not " +
                std::to_string(styles) + "; for more, colour the regions and bind each with --region");
  RegionWeights out;
  cv::Mat grey;
  cv::transform(mask_at_size(mask_rgb, size, cv::INTER_AREA, out.notices), grey, cv::Matx13f(1.0f / 3, 1.0f / 3, 1.0f / 3));
  grey = cv::min(cv::max(grey, 0.0), 1.0);
  out.weights.push_back(grey);
  if (styles == 2) out.weights.push_back(1.0 - grey);
  return out;
}

RegionWeights colour_mask_weights(const cv::Mat& mask_rgb, cv::Size size, const std::vector<cv::Vec3b>& colours,
                                  int tolerance, double feather) {
  CV_Assert(mask_rgb.type() == CV_32FC3);
  if (colours.empty()) throw Error("a colour mask needs at least one --region");
  RegionWeights out;
  // Nearest neighbour: a resized mask must not invent colours at region borders.
  cv::Mat bytes;
  mask_at_size(mask_rgb, size, cv::INTER_NEAREST, out.notices).convertTo(bytes, CV_8UC3, 255.0);
  std::vector<cv::Mat> hard(colours.size());
  for (auto& plane : hard) plane = cv::Mat::zeros(size, CV_32FC1);
  for (int y = 0; y < bytes.rows; ++y)
    for (int x = 0; x < bytes.cols; ++x) {
      const cv::Vec3b pixel = bytes.at<cv::Vec3b>(y, x);
      int best = -1, best_distance = tolerance + 1;
      for (size_t i = 0; i < colours.size(); ++i) {
        int distance = 0;
        for (int c = 0; c < 3; ++c) distance = std::max(distance, std::abs(pixel[c] - colours[i][c]));
        if (distance < best_distance) best = static_cast<int>(i), best_distance = distance;
      }
      if (best >= 0) hard[best].at<float>(y, x) = 1.0f;
    }
  for (size_t i = 0; i < colours.size(); ++i) {
    if (cv::countNonZero(hard[i]) == 0)
      out.notices.push_back("no pixel of the mask is " + colour_hex(colours[i]) + ": that region is empty");
    if (feather > 0) cv::GaussianBlur(hard[i], hard[i], cv::Size(0, 0), feather, feather, cv::BORDER_REPLICATE);
    out.weights.push_back(hard[i]);
  }
  return out;  // blurred partitions of unity still sum to <= 1
}

RegionWeights mask_weights(const cv::Mat& mask_rgb, cv::Size size, const std::vector<cv::Vec3b>& colours, int styles,
                           double feather) {
  if (colours.empty()) return grey_mask_weights(mask_rgb, size, styles);
  return colour_mask_weights(mask_rgb, size, colours, kRegionTolerance, feather);
}

cv::Mat composite(const cv::Mat& photo, const std::vector<cv::Mat>& painted, const std::vector<cv::Mat>& weights) {
  CV_Assert(painted.size() == weights.size());
  cv::Mat sum = cv::Mat::zeros(photo.size(), CV_32FC1), out = cv::Mat::zeros(photo.size(), CV_32FC3);
  for (size_t i = 0; i < painted.size(); ++i) {
    CV_Assert(painted[i].size() == photo.size() && weights[i].size() == photo.size());
    cv::Mat weight3;
    cv::merge(std::vector<cv::Mat>(3, weights[i]), weight3);
    out += painted[i].mul(weight3);
    sum += weights[i];
  }
  cv::Mat rest3;
  cv::merge(std::vector<cv::Mat>(3, cv::Mat(cv::max(1.0 - sum, 0.0))), rest3);
  return out + photo.mul(rest3);
}

}  // namespace atelier
