#include "atelier/temporal.hpp"

#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <algorithm>
#include <cmath>

#include "atelier/error.hpp"

namespace atelier {

namespace {

constexpr int kLargestFlowSide = 1024;

cv::Mat grey(const cv::Mat& bgr8) {
  cv::Mat out;
  cv::cvtColor(bgr8, out, cv::COLOR_BGR2GRAY);
  return out;
}

cv::Mat fitted(const cv::Mat& image, cv::Size size) {
  if (image.size() == size) return image;
  cv::Mat out;
  cv::resize(image, out, size, 0, 0, cv::INTER_AREA);
  return out;
}

}  // namespace

struct OpticalFlow::Impl {
  cv::Ptr<cv::DISOpticalFlow> dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM);
};

OpticalFlow::OpticalFlow() : impl_(std::make_shared<Impl>()) {}

cv::Mat OpticalFlow::operator()(const cv::Mat& from, const cv::Mat& to) const {
  if (from.size() != to.size()) throw Error("optical flow: the two frames differ in size");
  const int side = std::max(from.cols, from.rows);
  int shrink = 1;
  while (side / shrink > kLargestFlowSide) shrink *= 2;
  const cv::Size small(from.cols / shrink, from.rows / shrink);
  cv::Mat flow;
  // DIS keeps state between calls; one at a time per estimator.
  impl_->dis->calc(grey(fitted(from, small)), grey(fitted(to, small)), flow);
  if (shrink == 1) return flow;
  cv::Mat full;
  cv::resize(flow, full, from.size(), 0, 0, cv::INTER_LINEAR);
  return full * static_cast<double>(shrink);
}

cv::Mat warp_by_flow(const cv::Mat& image, const cv::Mat& flow) {
  cv::Mat map(flow.size(), CV_32FC2);
  for (int y = 0; y < flow.rows; ++y) {
    const auto* step = flow.ptr<cv::Vec2f>(y);
    auto* at = map.ptr<cv::Vec2f>(y);
    for (int x = 0; x < flow.cols; ++x) at[x] = cv::Vec2f(x + step[x][0], y + step[x][1]);
  }
  cv::Mat out;
  cv::remap(image, out, map, cv::noArray(), cv::INTER_CUBIC, cv::BORDER_REPLICATE);
  return out;
}

cv::Mat reliable_flow_mask(const cv::Mat& flow, const cv::Mat& back, bool motion_boundaries) {
  const cv::Mat returned = warp_by_flow(back, flow);  // the flow back, seen from the start
  cv::Mat gradient_u, gradient_v;
  if (motion_boundaries) {
    cv::Mat planes[2];
    cv::split(flow, planes);
    cv::Mat ux, uy, vx, vy;
    cv::Sobel(planes[0], ux, CV_32F, 1, 0, 1, 0.5);
    cv::Sobel(planes[0], uy, CV_32F, 0, 1, 1, 0.5);
    cv::Sobel(planes[1], vx, CV_32F, 1, 0, 1, 0.5);
    cv::Sobel(planes[1], vy, CV_32F, 0, 1, 1, 0.5);
    gradient_u = ux.mul(ux) + uy.mul(uy);
    gradient_v = vx.mul(vx) + vy.mul(vy);
  }
  cv::Mat mask(flow.size(), CV_32F);
  for (int y = 0; y < flow.rows; ++y) {
    const auto* w = flow.ptr<cv::Vec2f>(y);
    const auto* r = returned.ptr<cv::Vec2f>(y);
    auto* out = mask.ptr<float>(y);
    for (int x = 0; x < flow.cols; ++x) {
      const float u = w[x][0], v = w[x][1];
      const float flow_square = u * u + v * v;
      const float sum_u = u + r[x][0], sum_v = v + r[x][1];
      const bool occluded = sum_u * sum_u + sum_v * sum_v >
                            0.01f * (flow_square + r[x][0] * r[x][0] + r[x][1] * r[x][1]) + 0.5f;
      const float tx = x + u, ty = y + v;
      const bool outside = tx < 0 || ty < 0 || tx > flow.cols - 1 || ty > flow.rows - 1;
      const bool boundary = motion_boundaries && gradient_u.at<float>(y, x) + gradient_v.at<float>(y, x) >
                                                     0.01f * flow_square + 0.002f;
      out[x] = occluded || outside || boundary ? 0.0f : 1.0f;
    }
  }
  return mask;
}

TemporalBlender::TemporalBlender(double weight) : weight_(weight) {
  if (!(weight >= 0 && weight <= 1)) throw Error("--temporal-weight: must be within 0..1");
}

cv::Mat TemporalBlender::blend(const cv::Mat& input, const cv::Mat& painted, const cv::Mat& previous_input,
                               const cv::Mat& previous_output) const {
  const cv::Mat current = fitted(painted, input.size());
  if (weight_ == 0 || previous_input.empty() || previous_output.empty() || previous_input.size() != input.size())
    return current;
  const CarriedFrame carried = carry_previous_output(flow_, input, previous_input, previous_output);
  cv::Mat keep = carried.reliable * weight_;
  cv::Mat keep3;
  cv::merge(std::vector<cv::Mat>(3, keep), keep3);
  cv::Mat out = current + keep3.mul(carried.warped - current);
  return out;
}

CarriedFrame carry_previous_output(const OpticalFlow& flow, const cv::Mat& input, const cv::Mat& previous_input,
                                   const cv::Mat& previous_output) {
  const cv::Mat backward = flow(input, previous_input);  // where each pixel was in the previous frame
  const cv::Mat forward = flow(previous_input, input);
  CarriedFrame carried;
  carried.reliable = reliable_flow_mask(backward, forward);
  // Soft edges: no seam where a region turns unreliable.
  cv::GaussianBlur(carried.reliable, carried.reliable, cv::Size(5, 5), 0);
  carried.warped = warp_by_flow(fitted(previous_output, input.size()), backward);
  return carried;
}

}  // namespace atelier
