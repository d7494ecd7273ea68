// Post-processing shared by every styliser, applied to the finished RGB image
// (CV_32FC3, [0,1]) in the order given on the command line.
//
// Spec strings (`--post`, repeatable):
//   hist:content | hist:style      per-channel histogram matching to the reference
//   lab:content  | lab:style       LAB mean/std colour transfer (Reinhard et al.)
//   unsharp[:AMOUNT[:SIGMA]]       unsharp mask (default 0.5, sigma 1.5 px)
//   guided[:RADIUS[:EPS]]          guided filter with the content as guide:
//                                  restores content edges (default r=4, eps=1e-3)
//   denoise[:STRENGTH]             non-local means denoising (default 5)
#pragma once
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace atelier {

struct PostStep {
  enum class Kind { HistogramMatch, LabTransfer, Unsharp, Guided, Denoise } kind;
  bool reference_is_style = false;  // for HistogramMatch and LabTransfer
  double param1 = 0;
  double param2 = 0;
  std::string spec;  // as written, for messages
};

// Throws atelier::Error for an unknown or malformed spec.
PostStep parse_post_step(const std::string& spec);

struct PostContext {
  cv::Mat content;  // CV_32FC3 [0,1], any size (resized to the output when needed)
  cv::Mat style;    // CV_32FC3 [0,1], may be empty when no style image exists
};

cv::Mat apply_post_step(const cv::Mat& rgb, const PostStep& step, const PostContext& context);
cv::Mat apply_post_steps(const cv::Mat& rgb, const std::vector<PostStep>& steps, const PostContext& context);

// The building blocks, usable on their own.
cv::Mat match_histograms(const cv::Mat& rgb, const cv::Mat& reference);
cv::Mat transfer_lab_statistics(const cv::Mat& rgb, const cv::Mat& reference);
// The colours of `rgb` given the mean and the 3x3 covariance of the
// reference's RGB (CORAL: whitened by its own covariance's inverse square
// root, coloured by the reference's square root), unclipped, so the two
// match exactly. AdaIN's preserve_color recolours the style this way.
cv::Mat match_color_covariance(const cv::Mat& rgb, const cv::Mat& reference);
cv::Mat unsharp_mask(const cv::Mat& rgb, double amount, double sigma);
// He et al.'s guided filter: each channel of `source` becomes, window by
// window, a linear function of the guide's luminance, so the guide's edges
// appear in the result and its flat areas smooth the source. `guide` is
// CV_32FC3 or CV_32FC1 of the source's size; radius >= 1, eps > 0.
cv::Mat guided_filter(const cv::Mat& guide, const cv::Mat& source, int radius, double eps);
cv::Mat denoise(const cv::Mat& rgb, double strength);

// Keeps the luminance of `stylised` and the chroma of `content` (YCrCb), as
// jcjohnson/neural-style's -original_colors does.
cv::Mat keep_original_colors(const cv::Mat& stylised, const cv::Mat& content);

}  // namespace atelier
