// The flicker measure of Lai et al. 2018 ("Learning Blind Video Temporal
// Consistency"): each output frame against the next one warped back along
// the input's optical flow, over the pixels the flow follows.
#include <opencv2/imgproc.hpp>

#include "atelier/error.hpp"
#include "atelier/temporal.hpp"
#include "atelier/video_reader.hpp"

namespace atelier {

namespace {

cv::Mat as_float(const cv::Mat& bgr8, cv::Size size) {
  cv::Mat resized = bgr8, out;
  if (bgr8.size() != size) cv::resize(bgr8, resized, size, 0, 0, cv::INTER_AREA);
  resized.convertTo(out, CV_32FC3, 1.0 / 255.0);
  return out;
}

// Squared RGB distance per pixel (summed over channels), averaged where mask is 1.
double masked_squared_distance(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
  cv::Mat difference = a - b;
  difference = difference.mul(difference);
  cv::Mat per_pixel;
  cv::transform(difference, per_pixel, cv::Matx13f(1, 1, 1));
  const double weight = mask.empty() ? per_pixel.total() : cv::sum(mask)[0];
  if (weight <= 0) return 0;
  return (mask.empty() ? cv::sum(per_pixel)[0] : cv::sum(per_pixel.mul(mask))[0]) / weight;
}

double mean_gradient(const cv::Mat& bgr) {
  cv::Mat grey, gx, gy, magnitude;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::Sobel(grey, gx, CV_32F, 1, 0, 3, 0.125);
  cv::Sobel(grey, gy, CV_32F, 0, 1, 3, 0.125);
  cv::magnitude(gx, gy, magnitude);
  return cv::mean(magnitude)[0];
}

}  // namespace

FlickerMeasure measure_flicker(const std::string& input, const std::string& output, long long max_frames,
                               const std::function<void(long long)>& on_frame) {
  VideoReader source(input), painted(output);
  const cv::Size size = source.info().size;
  const OpticalFlow flow;
  FlickerMeasure measure;
  VideoFrame in_frame, out_frame;
  cv::Mat previous_in, previous_out;
  double warping = 0, change = 0, texture = 0, reliable = 0;
  long long pairs = 0;
  while ((max_frames <= 0 || measure.frames < max_frames) && source.read(in_frame)) {
    if (!painted.read(out_frame)) break;
    const cv::Mat current = as_float(out_frame.bgr, size);
    texture += mean_gradient(current);
    if (!previous_in.empty()) {
      const cv::Mat forward = flow(previous_in, in_frame.bgr);  // previous -> current
      const cv::Mat backward = flow(in_frame.bgr, previous_in);
      const cv::Mat mask = reliable_flow_mask(forward, backward, /*motion_boundaries=*/false);
      warping += masked_squared_distance(previous_out, warp_by_flow(current, forward), mask);
      change += masked_squared_distance(previous_out, current, {});
      reliable += cv::mean(mask)[0];
      ++pairs;
    }
    previous_in = in_frame.bgr.clone();
    previous_out = current;
    ++measure.frames;
    if (on_frame) on_frame(measure.frames);
  }
  if (measure.frames < 2) throw Error("video-metrics: " + output + " and " + input + " share fewer than two frames");
  measure.warping_error = warping / pairs;
  measure.frame_change = change / pairs;
  measure.texture = texture / measure.frames;
  measure.reliable_fraction = reliable / pairs;
  return measure;
}

}  // namespace atelier
