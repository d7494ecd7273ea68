// The finishing steps every method shares, written once: blend with the
// photo (strength), keep the photo's colours, the --post steps, and the
// photo's alpha. Front ends call finish() on what a method painted, then save.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "atelier/image.hpp"
#include "atelier/postprocess.hpp"

namespace atelier {

struct FinishOptions {
  double strength = 1.0;         // 1: the painting alone; 0: the photo
  bool original_colors = false;  // luminance-only transfer (keep_original_colors)
  std::vector<PostStep> post;    // in order
};

// Parses --post specs; throws atelier::Error for a bad one, and for a step
// that matches the style image when the method has none (`has_style` false).
std::vector<PostStep> parse_post_steps(const std::vector<std::string>& specs, bool has_style = true);

// `painted` is CV_32FC3 RGB [0,1]; `photo` the content it was painted from
// (its rgb at the size the method painted, or any size when strength is 1);
// `style` the first style picture, or empty. Strength, then original
// colours, then the post steps, then the photo's alpha (resized to fit).
Image finish(const cv::Mat& painted, const Image& photo, const cv::Mat& style, const FinishOptions& options);

}  // namespace atelier
