// Video without flicker: optical flow between consecutive input frames
// (OpenCV's DIS), which pixels it follows reliably (Ruder et al. 2016's
// forward-backward check), each painted frame blended with the previous
// output warped along it (short-term consistency as a post-process), and the
// flicker measure of Lai et al. 2018. Torch-free.
#pragma once
#include <opencv2/core.hpp>

#include <functional>
#include <memory>
#include <string>

namespace atelier {

// Where there is no flag: 0 paints every frame on its own, 1 would freeze
// reliable pixels on the first frame. 0.5 cuts the warping error by about
// two thirds on opencv-doc's clips while the texture stays within 10%
// (docs/VIDEO.md); more smooths the strokes of fast-moving scenes.
constexpr double kDefaultTemporalWeight = 0.5;

class OpticalFlow {
 public:
  OpticalFlow();
  // Flow from `from` to `to` (8-bit BGR frames of one size), CV_32FC2 in
  // pixels: the content at x in `from` is at x + flow(x) in `to`. Frames with
  // a side over 1024 are measured at half size (or less) and the flow scaled.
  cv::Mat operator()(const cv::Mat& from, const cv::Mat& to) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// `image` sampled at x + flow(x): `to`'s content brought to `from`'s places
// (bicubic, which blurs less than bilinear over many frames of blending;
// outside the frame, the nearest edge).
cv::Mat warp_by_flow(const cv::Mat& image, const cv::Mat& flow);

// CV_32F mask, 1 where `flow` (a to b) can be trusted, 0 where Ruder et al.'s
// criteria say it cannot: the flow back from b (`back`) does not return to
// the start (|w + w_back|^2 > 0.01 (|w|^2 + |w_back|^2) + 0.5, occlusion),
// the flow leaves the frame, or, with `motion_boundaries`, its gradient is
// steep (|grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002).
cv::Mat reliable_flow_mask(const cv::Mat& flow, const cv::Mat& back, bool motion_boundaries = true);

// The previous output carried to `input`'s places along the optical flow
// between the frames (8-bit BGR, one size), and how far each pixel can be
// trusted (CV_32F in [0,1], soft-edged so that no seam appears where the
// flow turns unreliable): what the blend and Gatys's temporal loss both hold
// a frame to. `previous_output` (CV_32FC3, any channel order) is fitted to
// the frame's size.
struct CarriedFrame {
  cv::Mat warped;    // CV_32FC3, the frame's size
  cv::Mat reliable;  // CV_32F
};
CarriedFrame carry_previous_output(const OpticalFlow& flow, const cv::Mat& input, const cv::Mat& previous_input,
                                   const cv::Mat& previous_output);

class TemporalBlender {
 public:
  // weight in [0, 1]: how much of the warped previous output a reliable pixel keeps.
  explicit TemporalBlender(double weight = kDefaultTemporalWeight);
  // The output for `input` (8-bit BGR) whose painting is `painted` (CV_32FC3,
  // [0,1], any channel order, the frame's size), given the previous input and
  // the previous output (as it was saved, CV_32FC3 like `painted`). With no
  // previous frame or a weight of 0, `painted` itself.
  cv::Mat blend(const cv::Mat& input, const cv::Mat& painted, const cv::Mat& previous_input,
                const cv::Mat& previous_output) const;
  double weight() const { return weight_; }

 private:
  double weight_;
  OpticalFlow flow_;
};

struct FlickerMeasure {
  long long frames = 0;           // frames compared
  double warping_error = 0;       // Lai et al. 2018: mean over pairs of the masked mean squared RGB distance
  double frame_change = 0;        // the same without warping: mean squared RGB change between frames
  double texture = 0;             // style measure: mean gradient magnitude of the output frames
  double reliable_fraction = 0;   // share of pixels the flow follows (not occluded)
};

// Measures the output video `output` of `input` (same frame count, any size:
// frames are compared at the input's), at most `max_frames` frames (0: all).
// `on_frame(done)` is called after each frame.
FlickerMeasure measure_flicker(const std::string& input, const std::string& output, long long max_frames = 0,
                               const std::function<void(long long)>& on_frame = {});

}  // namespace atelier
