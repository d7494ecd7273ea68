// Colour transfer to a reference: exact per-channel histogram matching, and
// Reinhard et al.'s LAB mean/std transfer.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "atelier/postprocess.hpp"

namespace atelier {
namespace {

std::vector<float> sorted_values(const cv::Mat& channel) {
  std::vector<float> values(channel.begin<float>(), channel.end<float>());
  std::sort(values.begin(), values.end());
  return values;
}

// The value at quantile q in [0,1] of `sorted`, linearly interpolated.
float quantile(const std::vector<float>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto low = static_cast<std::size_t>(position);
  const std::size_t high = std::min(low + 1, sorted.size() - 1);
  const auto t = static_cast<float>(position - static_cast<double>(low));
  return sorted[low] + t * (sorted[high] - sorted[low]);
}

// Gives every pixel the reference value at the pixel's own quantile. Equal
// values share their mid-rank quantile, so flat regions stay flat.
cv::Mat match_channel(const cv::Mat& channel, const std::vector<float>& reference_sorted) {
  const std::size_t n = channel.total();
  std::vector<std::pair<float, std::size_t>> ranked(n);
  const float* data = channel.ptr<float>();  // from cv::split, so continuous
  for (std::size_t i = 0; i < n; ++i) ranked[i] = {data[i], i};
  std::sort(ranked.begin(), ranked.end());

  cv::Mat matched(channel.size(), CV_32F);
  float* out = matched.ptr<float>();
  for (std::size_t begin = 0; begin < n;) {
    std::size_t end = begin + 1;
    while (end < n && ranked[end].first == ranked[begin].first) ++end;
    const double q = n > 1 ? 0.5 * static_cast<double>(begin + end - 1) / static_cast<double>(n - 1)
                           : 0.5;
    const float value = quantile(reference_sorted, q);
    for (std::size_t i = begin; i < end; ++i) out[ranked[i].second] = value;
    begin = end;
  }
  return matched;
}

cv::Mat to_lab(const cv::Mat& rgb) {
  cv::Mat lab;
  cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);
  return lab;
}

}  // namespace

cv::Mat match_histograms(const cv::Mat& rgb, const cv::Mat& reference) {
  CV_Assert(rgb.type() == CV_32FC3 && reference.type() == CV_32FC3 && !reference.empty());
  std::vector<cv::Mat> channels, reference_channels;
  cv::split(rgb, channels);
  cv::split(reference, reference_channels);
  for (int c = 0; c < 3; ++c) {
    channels[c] = match_channel(channels[c], sorted_values(reference_channels[c]));
  }
  cv::Mat matched;
  cv::merge(channels, matched);
  return matched;  // values come from the reference, so already in [0,1]
}

cv::Mat transfer_lab_statistics(const cv::Mat& rgb, const cv::Mat& reference) {
  CV_Assert(rgb.type() == CV_32FC3 && reference.type() == CV_32FC3 && !reference.empty());
  const cv::Mat lab = to_lab(rgb);
  cv::Scalar mean, stddev, reference_mean, reference_stddev;
  cv::meanStdDev(lab, mean, stddev);
  cv::meanStdDev(to_lab(reference), reference_mean, reference_stddev);

  std::vector<cv::Mat> channels;
  cv::split(lab, channels);
  for (int c = 0; c < 3; ++c) {
    // A flat channel has no spread to scale: it is only shifted.
    const double scale = stddev[c] > 1e-6 ? reference_stddev[c] / stddev[c] : 1.0;
    channels[c].convertTo(channels[c], CV_32F, scale, reference_mean[c] - scale * mean[c]);
  }
  cv::Mat shifted, result;
  cv::merge(channels, shifted);
  cv::cvtColor(shifted, result, cv::COLOR_Lab2RGB);
  // Shifted LAB values can fall outside the sRGB gamut.
  return cv::min(cv::max(result, 0.0), 1.0);
}

namespace {

// Mean (1x3) and covariance (3x3, over N pixels) of an RGB picture, in double.
void color_statistics(const cv::Mat& rgb, cv::Mat& mean, cv::Mat& covariance) {
  cv::Mat samples;
  rgb.reshape(1, static_cast<int>(rgb.total())).convertTo(samples, CV_64F);
  cv::calcCovarMatrix(samples, covariance, mean, cv::COVAR_NORMAL | cv::COVAR_ROWS | cv::COVAR_SCALE, CV_64F);
}

// A symmetric positive semi-definite matrix to the power `exponent` (1/2 or
// -1/2); eigenvalues below a floor (a flat channel) count as the floor.
cv::Mat symmetric_power(const cv::Mat& matrix, double exponent) {
  cv::Mat values, vectors;
  cv::eigen(matrix, values, vectors);  // rows of `vectors` are eigenvectors
  cv::Mat scaled = cv::Mat::zeros(3, 3, CV_64F);
  for (int i = 0; i < 3; ++i) scaled.at<double>(i, i) = std::pow(std::max(values.at<double>(i), 1e-8), exponent);
  return vectors.t() * scaled * vectors;
}

}  // namespace

cv::Mat match_color_covariance(const cv::Mat& rgb, const cv::Mat& reference) {
  CV_Assert(rgb.type() == CV_32FC3 && reference.type() == CV_32FC3 && !rgb.empty() && !reference.empty());
  cv::Mat mean, covariance, reference_mean, reference_covariance;
  color_statistics(rgb, mean, covariance);
  color_statistics(reference, reference_mean, reference_covariance);
  // Row vectors: x' = (x - mean) A^T + reference_mean, A = C_ref^1/2 C^-1/2.
  const cv::Mat transform = symmetric_power(reference_covariance, 0.5) * symmetric_power(covariance, -0.5);
  cv::Mat samples;
  rgb.reshape(1, static_cast<int>(rgb.total())).convertTo(samples, CV_64F);
  samples -= cv::repeat(mean, samples.rows, 1);
  cv::Mat recoloured = samples * transform.t() + cv::repeat(reference_mean, samples.rows, 1);
  recoloured.convertTo(recoloured, CV_32F);
  return recoloured.reshape(3, rgb.rows).clone();
}

}  // namespace atelier
