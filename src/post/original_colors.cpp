// Colour preservation: the stylised image's luminance under the content's
// chroma, as jcjohnson/neural-style's -original_colors does.
#include <opencv2/imgproc.hpp>

#include "atelier/image.hpp"
#include "atelier/postprocess.hpp"

namespace atelier {

cv::Mat keep_original_colors(const cv::Mat& stylised, const cv::Mat& content) {
  CV_Assert(stylised.type() == CV_32FC3 && content.type() == CV_32FC3 && !content.empty());
  cv::Mat stylised_ycc, combined;
  cv::cvtColor(stylised, stylised_ycc, cv::COLOR_RGB2YCrCb);
  cv::cvtColor(resize_plane(content, stylised.size()), combined, cv::COLOR_RGB2YCrCb);
  const int y_to_y[] = {0, 0};
  cv::mixChannels(&stylised_ycc, 1, &combined, 1, y_to_y, 1);
  cv::Mat result;
  cv::cvtColor(combined, result, cv::COLOR_YCrCb2RGB);
  // A bright luminance under saturated chroma can leave the RGB cube.
  return cv::min(cv::max(result, 0.0), 1.0);
}

}  // namespace atelier
