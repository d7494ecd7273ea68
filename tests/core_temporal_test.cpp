// Temporal coherence: DIS flow, Ruder et al.'s reliability check, the blend
// of each painted frame with the previous output, and the flicker measure.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "atelier/error.hpp"
#include "atelier/temporal.hpp"
#include "atelier/video_file.hpp"
#include "test_support.hpp"

namespace atelier {
namespace {

// A smooth random texture, 8-bit BGR: something optical flow can follow.
cv::Mat texture(cv::Size size, int seed) {
  cv::Mat noise(size, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(noise, noise, cv::Size(0, 0), 2.0);
  cv::normalize(noise, noise, 0, 255, cv::NORM_MINMAX);
  return noise;
}

// The scene moved by (dx, dy): the content at x is at x + (dx, dy).
cv::Mat shifted(const cv::Mat& scene, double dx, double dy, cv::Size size) {
  const cv::Matx23d move(1, 0, dx, 0, 1, dy);
  cv::Mat out;
  cv::warpAffine(scene, out, move, scene.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  return out(cv::Rect(cv::Point(16, 16), size)).clone();
}

TEST(TemporalTest, FlowFollowsATranslationAndWarpingUndoesIt) {
  const cv::Mat scene = texture({160, 128}, 1);
  const cv::Mat a = shifted(scene, 0, 0, {128, 96}), b = shifted(scene, 3, 2, {128, 96});
  const cv::Mat flow = OpticalFlow()(a, b);
  const cv::Rect inside(16, 16, 96, 64);
  const cv::Scalar mean = cv::mean(flow(inside));
  EXPECT_NEAR(mean[0], 3.0, 0.2);
  EXPECT_NEAR(mean[1], 2.0, 0.2);
  const cv::Mat back = warp_by_flow(b, flow);
  EXPECT_GT(cv::PSNR(back(inside), a(inside)), 30.0);
}

TEST(TemporalTest, ReliabilityFollowsRuderEtAlsCriteria) {
  const cv::Size size(40, 30);
  cv::Mat forward(size, CV_32FC2, cv::Scalar(2, 0)), back(size, CV_32FC2, cv::Scalar(-2, 0));
  cv::Mat mask = reliable_flow_mask(forward, back);
  EXPECT_EQ(mask.at<float>(10, 10), 1.0f) << "consistent";
  EXPECT_EQ(mask.at<float>(10, 39), 0.0f) << "leaves the frame";
  back(cv::Rect(20, 0, 10, 30)).setTo(cv::Scalar(0, 0));  // occluded: the flow back does not return
  mask = reliable_flow_mask(forward, back);
  EXPECT_EQ(mask.at<float>(10, 10), 1.0f);
  EXPECT_EQ(mask.at<float>(10, 22), 0.0f) << "occluded";
  cv::Mat step(size, CV_32FC2, cv::Scalar(0, 0)), step_back(size, CV_32FC2, cv::Scalar(0, 0));
  step(cv::Rect(0, 0, 20, 30)).setTo(cv::Scalar(1, 0));
  step_back(cv::Rect(0, 0, 20, 30)).setTo(cv::Scalar(-1, 0));
  mask = reliable_flow_mask(step, step_back);
  EXPECT_EQ(mask.at<float>(10, 20), 0.0f) << "a motion boundary (consistent, but the flow steps)";
  EXPECT_EQ(mask.at<float>(10, 5), 1.0f);
  EXPECT_EQ(reliable_flow_mask(step, step_back, false).at<float>(10, 20), 1.0f) << "without the boundary check";
}

TEST(TemporalTest, WeightIsBoundedAndZeroPaintsEachFrameOnItsOwn) {
  EXPECT_THROW(TemporalBlender(1.5), Error);
  EXPECT_THROW(TemporalBlender(-0.1), Error);
  const cv::Mat input = texture({32, 24}, 2), previous = texture({32, 24}, 3);
  const cv::Mat painted(24, 32, CV_32FC3, cv::Scalar(0.1, 0.5, 0.9)), earlier(24, 32, CV_32FC3, cv::Scalar(0.9));
  EXPECT_EQ(cv::norm(TemporalBlender(0).blend(input, painted, previous, earlier), painted, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(TemporalBlender(0.6).blend(input, painted, {}, {}), painted, cv::NORM_INF), 0.0)
      << "the first frame";
}

// A moving scene painted with noise that changes every frame (flicker):
// blending with the warped previous output lowers the warping error.
TEST(TemporalTest, BlendingLowersTheWarpingError) {
  testing::ScratchDir scratch;
  const cv::Size size(96, 72);
  const cv::Mat scene = texture({160, 128}, 4);
  VideoFileOptions lossless;
  lossless.fps = 10;
  lossless.quality = 0;
  VideoFile input(scratch.file("in.mkv"), size, lossless), per_frame(scratch.file("per_frame.mkv"), size, lossless),
      blended(scratch.file("blended.mkv"), size, lossless);
  const TemporalBlender blender(0.6);
  cv::Mat previous_input, previous_output;
  cv::RNG rng(5);
  for (int i = 0; i < 12; ++i) {
    const cv::Mat frame = shifted(scene, 2.0 * i, 1.0 * i, size);
    cv::Mat painted, noise(size, CV_32FC3);
    frame.convertTo(painted, CV_32FC3, 1.0 / 255);
    rng.fill(noise, cv::RNG::NORMAL, 0, 0.08);
    painted += noise;
    const cv::Mat output = blender.blend(frame, painted, previous_input, previous_output);
    input.write(frame);
    per_frame.write(video_frame(painted, size));
    blended.write(video_frame(output, size));
    previous_input = frame;
    previous_output = output;
  }
  input.finish();
  per_frame.finish();
  blended.finish();
  const FlickerMeasure before = measure_flicker(scratch.file("in.mkv"), scratch.file("per_frame.mkv"));
  const FlickerMeasure after = measure_flicker(scratch.file("in.mkv"), scratch.file("blended.mkv"), 0);
  EXPECT_EQ(before.frames, 12);
  EXPECT_GT(before.reliable_fraction, 0.8);
  EXPECT_LT(after.warping_error, 0.5 * before.warping_error)
      << "before " << before.warping_error << ", after " << after.warping_error;
  EXPECT_LT(after.frame_change, before.frame_change);
  EXPECT_EQ(measure_flicker(scratch.file("in.mkv"), scratch.file("blended.mkv"), 5).frames, 5);
}

}  // namespace
}  // namespace atelier
