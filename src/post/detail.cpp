// Detail-level filters: unsharp mask, guided filter, non-local means.
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include "atelier/postprocess.hpp"

namespace atelier {
namespace {

cv::Mat clamp01(const cv::Mat& image) { return cv::min(cv::max(image, 0.0), 1.0); }

// Mean over the (2r+1)^2 window around each pixel.
cv::Mat box_mean(const cv::Mat& image, int radius) {
  cv::Mat mean;
  cv::boxFilter(image, mean, CV_32F, cv::Size(2 * radius + 1, 2 * radius + 1), cv::Point(-1, -1),
                /*normalize=*/true, cv::BORDER_REFLECT);
  return mean;
}

// The guide's luminance repeated over three channels, so the filter below
// handles every source channel in the same matrix operations.
cv::Mat grey_guide(const cv::Mat& guide) {
  cv::Mat grey = guide;
  if (guide.channels() == 3) cv::cvtColor(guide, grey, cv::COLOR_RGB2GRAY);
  const cv::Mat planes[] = {grey, grey, grey};
  cv::Mat repeated;
  cv::merge(planes, 3, repeated);
  return repeated;
}

}  // namespace

cv::Mat unsharp_mask(const cv::Mat& rgb, double amount, double sigma) {
  CV_Assert(rgb.type() == CV_32FC3 && amount >= 0 && sigma > 0);
  cv::Mat blurred, sharpened;
  cv::GaussianBlur(rgb, blurred, cv::Size(), sigma, sigma, cv::BORDER_REFLECT101);
  // img + amount * (img - blurred)
  cv::addWeighted(rgb, 1.0 + amount, blurred, -amount, 0.0, sharpened);
  return clamp01(sharpened);
}

// He, Sun and Tang, "Guided Image Filtering" (2010), Algorithm 1.
cv::Mat guided_filter(const cv::Mat& guide, const cv::Mat& source, int radius, double eps) {
  CV_Assert(source.type() == CV_32FC3 && (guide.type() == CV_32FC3 || guide.type() == CV_32FC1));
  CV_Assert(guide.size() == source.size() && radius >= 1 && eps > 0);
  const cv::Mat guide3 = grey_guide(guide);
  const cv::Mat mean_guide = box_mean(guide3, radius);
  const cv::Mat mean_source = box_mean(source, radius);
  const cv::Mat covariance = box_mean(guide3.mul(source), radius) - mean_guide.mul(mean_source);
  const cv::Mat variance = box_mean(guide3.mul(guide3), radius) - mean_guide.mul(mean_guide);
  // Per window: source ~ a * guide + b. Where the guide varies much more
  // than eps, a follows it (its edges pass); where it is flat, a -> 0 and
  // b is the local mean (smoothing).
  // Scalar::all: a plain double would be added to the first channel only.
  const cv::Mat a = covariance / (variance + cv::Scalar::all(eps));
  const cv::Mat b = mean_source - a.mul(mean_guide);
  return clamp01(box_mean(a, radius).mul(guide3) + box_mean(b, radius));
}

cv::Mat denoise(const cv::Mat& rgb, double strength) {
  CV_Assert(rgb.type() == CV_32FC3 && strength > 0);
  cv::Mat rgb8, bgr8, cleaned;
  rgb.convertTo(rgb8, CV_8UC3, 255.0);
  // OpenCV's colour NLM works in LAB and assumes BGR input.
  cv::cvtColor(rgb8, bgr8, cv::COLOR_RGB2BGR);
  const auto h = static_cast<float>(strength);
  cv::fastNlMeansDenoisingColored(bgr8, cleaned, h, h, /*templateWindowSize=*/7,
                                  /*searchWindowSize=*/21);
  cv::cvtColor(cleaned, rgb8, cv::COLOR_BGR2RGB);
  cv::Mat result;
  rgb8.convertTo(result, CV_32FC3, 1.0 / 255.0);
  return result;
}

}  // namespace atelier
