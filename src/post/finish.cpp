#include "atelier/finish.hpp"

#include "atelier/error.hpp"

namespace atelier {

std::vector<PostStep> parse_post_steps(const std::vector<std::string>& specs, bool has_style) {
  std::vector<PostStep> steps;
  for (const auto& spec : specs) {
    steps.push_back(parse_post_step(spec));
    if (!has_style && steps.back().reference_is_style)
      throw Error("--post " + spec + ": --model has no style image to match");
  }
  return steps;
}

Image finish(const cv::Mat& painted, const Image& photo, const cv::Mat& style, const FinishOptions& options) {
  cv::Mat rgb = painted;
  if (options.strength < 1.0) {
    rgb = cv::Mat();  // a new buffer: the caller's picture is left as it was
    cv::addWeighted(painted, options.strength, photo.rgb, 1.0 - options.strength, 0.0, rgb);
  }
  if (options.original_colors) rgb = keep_original_colors(rgb, photo.rgb);
  rgb = apply_post_steps(rgb, options.post, PostContext{photo.rgb, style});
  Image output{rgb, {}};
  if (photo.has_alpha()) output.alpha = resize_plane(photo.alpha, rgb.size());
  return output;
}

}  // namespace atelier
