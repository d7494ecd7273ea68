// Painting a whole video with a stand-in painter (no torch): frame times,
// sound and rotation kept, the work folder, and a resumed run giving the
// same file as an uninterrupted one.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "atelier/error.hpp"
#include "atelier/video_painting.hpp"
#include "test_support.hpp"
#include "video_fixtures.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

// A "style" that flickers: colours turned, plus noise drawn from the frame itself.
cv::Mat flickering_paint(const cv::Mat& rgb) {
  cv::Mat out, noise(rgb.size(), CV_32FC3);
  cv::cvtColor(rgb, out, cv::COLOR_RGB2BGR);
  cv::RNG rng(static_cast<uint64_t>(cv::sum(rgb)[0] * 1000));
  rng.fill(noise, cv::RNG::NORMAL, 0, 0.05);
  return out + noise;
}

class VideoPaintingTest : public ::testing::Test {
 protected:
  VideoPaintingTest() {
    testing::ClipSpec spec;
    spec.frames = 10;
    spec.rate_num = 25;
    spec.time_base_den = 1000;
    spec.pts = {0, 40, 80, 160, 200, 240, 320, 360, 400, 480};
    spec.rotation = 270;
    spec.audio = "aac";
    testing::write_clip(input_, spec);
  }
  testing::ScratchDir scratch_;
  const std::string input_ = scratch_.file("phone.mp4");
  const std::string output_ = scratch_.file("painted.mp4");
};

TEST_F(VideoPaintingTest, KeepsFrameTimesRotationAndSound) {
  VideoPainting painting(input_, output_, {});
  EXPECT_EQ(painting.info().size, cv::Size(64, 48));
  long long reported = 0;
  const VideoPaintingResult result = painting.run(flickering_paint, [&](long long done) { reported = done; });
  EXPECT_EQ(result.frames, 10);
  EXPECT_EQ(reported, 10);
  EXPECT_FALSE(result.interrupted);
  EXPECT_FALSE(fs::exists(output_ + ".frames"));
  VideoReader reader(output_);
  EXPECT_EQ(reader.info().rotation, 270);
  EXPECT_EQ(reader.info().codec, "h264");
  std::vector<double> seconds;
  for (VideoFrame frame; reader.read(frame);) seconds.push_back(frame.seconds);
  EXPECT_EQ(seconds, (std::vector<double>{0, 0.04, 0.08, 0.16, 0.2, 0.24, 0.32, 0.36, 0.4, 0.48}));
  const auto before = testing::read_stream_facts(input_), after = testing::read_stream_facts(output_);
  EXPECT_EQ(after.pixel_format, "yuv420p");
  EXPECT_EQ(after.audio_packets, before.audio_packets);
}

TEST_F(VideoPaintingTest, InterruptedThenResumedGivesTheSameFile) {
  VideoPainting(input_, output_, {}).run(flickering_paint);
  const std::string whole = testing::read_all(output_);
  fs::remove(output_);

  long long painted = 0;
  const VideoPaintingResult stopped =
      VideoPainting(input_, output_, {}).run(flickering_paint, [&](long long done) { painted = done; },
                                             [&] { return painted == 4; });
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_EQ(stopped.frames, 4);
  EXPECT_FALSE(fs::exists(output_));
  EXPECT_THROW(VideoPainting(input_, output_, {}), Error) << "a work folder needs --resume";
  VideoPaintingOptions resume;
  resume.resume = true;
  VideoPainting resumed(input_, output_, resume);
  EXPECT_EQ(resumed.frames_already_painted(), 4);
  long long first = 0;
  resumed.run(flickering_paint, [&](long long done) { first = first ? first : done; });
  EXPECT_EQ(first, 5);
  EXPECT_TRUE(testing::read_all(output_) == whole) << "the resumed file differs";
}

TEST_F(VideoPaintingTest, MaxFramesPaintsTheBeginningWithItsSound) {
  VideoPaintingOptions options;
  options.max_frames = 4;
  options.temporal_weight = 0;
  EXPECT_EQ(VideoPainting(input_, output_, options).run(flickering_paint).frames, 4);
  VideoReader reader(output_);
  int frames = 0;
  for (VideoFrame frame; reader.read(frame);) ++frames;
  EXPECT_EQ(frames, 4);
  const auto before = testing::read_stream_facts(input_), after = testing::read_stream_facts(output_);
  EXPECT_GT(after.audio_packets.size(), 0u);
  EXPECT_LT(after.audio_packets.size(), before.audio_packets.size());
}

TEST_F(VideoPaintingTest, BadOutputOrInputFailsBeforePainting) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {scratch_.file("x.gif"), "use a .mp4"},
      {scratch_.file("missing/x.mp4"), "directory does not exist"},
      {input_, "it is the input"},
  };
  for (const auto& [output, needle] : cases) {
    try {
      VideoPainting painting(input_, output, {});
      ADD_FAILURE() << output;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
    }
  }
  VideoPaintingOptions too_much;
  too_much.temporal_weight = 2;
  EXPECT_THROW(VideoPainting(input_, output_, too_much), Error);
  EXPECT_FALSE(fs::exists(output_ + ".frames"));
}

}  // namespace
}  // namespace atelier
