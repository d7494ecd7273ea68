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

// A phone's portrait clip (stored 64x48, turned 270 degrees on display) is
// painted upright, as the viewer sees it, and written back as stored with
// its rotation: strokes and masks fall the way the picture stands.
TEST_F(VideoPaintingTest, RotatedClipsArePaintedUpright) {
  std::vector<cv::Size> seen;
  VideoPainting(input_, output_, {}).run([&](const cv::Mat& rgb) {
    seen.push_back(rgb.size());
    cv::Mat painted = rgb.clone();
    painted(cv::Rect(0, 0, 8, 8)).setTo(cv::Scalar(1, 0, 0));  // a red mark at the upright top left
    return painted;
  });
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen[0], cv::Size(48, 64)) << "upright: taller than wide";
  VideoReader reader(output_);
  EXPECT_EQ(reader.info().rotation, 270);
  VideoFrame frame;
  ASSERT_TRUE(reader.read(frame));
  ASSERT_EQ(frame.bgr.size(), cv::Size(64, 48)) << "stored as the input is";
  // 270 degrees clockwise on display: the upright top left is the stored top right.
  const cv::Vec3b corner = frame.bgr.at<cv::Vec3b>(3, 60);
  EXPECT_GT(corner[2], 200);
  EXPECT_LT(corner[1], 60);
  const cv::Vec3b stored_top_left = frame.bgr.at<cv::Vec3b>(3, 3);  // where a painter of stored frames would mark
  EXPECT_FALSE(stored_top_left[2] > 200 && stored_top_left[1] < 60);
}

// Gatys on video: painted in order, each frame sees the one before and its
// painting as saved (8 bits), also across a resume, where that painting is
// read back from the work folder.
TEST_F(VideoPaintingTest, InOrderEachFrameSeesThePaintingBeforeItAlsoAfterAResume) {
  std::vector<VideoFrameHistory> seen;
  std::vector<cv::Mat> paintings;
  const SequentialFramePainter painter = [&](const cv::Mat& rgb, const VideoFrameHistory& history) {
    seen.push_back({history.bgr.clone(), history.previous_bgr.clone(), history.previous_painting.clone()});
    paintings.push_back(flickering_paint(rgb));
    return paintings.back();
  };
  const auto as_saved = [](const cv::Mat& painting) {  // clamped and rounded to 8 bits
    cv::Mat eight, back;
    painting.convertTo(eight, CV_8UC3, 255.0);
    eight.convertTo(back, CV_32FC3, 1 / 255.0);
    return back;
  };
  long long painted = 0;
  const VideoPaintingResult stopped = VideoPainting(input_, output_, {}).paint_in_order(
      painter, [&](long long done) { painted = done; }, [&] { return painted == 4; });
  EXPECT_TRUE(stopped.interrupted);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_TRUE(seen[0].previous_bgr.empty() && seen[0].previous_painting.empty()) << "the first frame has no history";
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_EQ(cv::norm(seen[i].previous_bgr, seen[i - 1].bgr, cv::NORM_INF), 0) << i;
    EXPECT_LT(cv::norm(seen[i].previous_painting, as_saved(paintings[i - 1]), cv::NORM_INF), 1e-5) << i;
  }

  const cv::Mat third_frame = seen[3].bgr, third_painting = as_saved(paintings[3]);
  seen.clear();
  VideoPaintingOptions resume;
  resume.resume = true;
  VideoPainting resumed(input_, output_, resume);
  EXPECT_EQ(resumed.paint_in_order(painter).painted, 6);
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(cv::norm(seen[0].previous_bgr, third_frame, cv::NORM_INF), 0) << "frame 4 sees frame 3";
  EXPECT_LT(cv::norm(seen[0].previous_painting, third_painting, cv::NORM_INF), 1e-5) << "read back from the folder";
  EXPECT_EQ(resumed.assemble().frames, 10);
}

// Issue 17: four shards paint their frames into the shared work folder, each
// its own (3, 3, 2 and 2 of the 10), the assembly refuses while frames are
// missing, and then writes the same file as one run; a shard rerun after a
// lost frame paints only that one.
TEST_F(VideoPaintingTest, FourShardsAndTheAssemblyGiveTheSameFileAsOneRun) {
  VideoPainting(input_, output_, {}).run(flickering_paint);
  const std::string whole = testing::read_all(output_);
  fs::remove(output_);

  VideoPaintingOptions shared;
  shared.resume = true;
  std::vector<long long> painted_by(10, -1);
  auto run_shard = [&](long long index) {
    VideoPainting painting(input_, output_, shared);
    const VideoPaintingResult result = painting.paint(flickering_paint, Shard{index, 4}, [&](long long frame) {
      EXPECT_EQ(painted_by[frame - 1], -1) << "frame " << frame - 1 << " painted twice";
      painted_by[frame - 1] = index;
    });
    EXPECT_EQ(result.frames, 10);
    EXPECT_FALSE(fs::exists(output_)) << "a shard writes no video";
    return result.painted;
  };
  EXPECT_EQ(run_shard(0), 3);
  EXPECT_EQ(run_shard(1), 3);
  EXPECT_EQ(run_shard(3), 2);
  try {
    VideoPainting(input_, output_, shared).assemble();
    ADD_FAILURE() << "assembled with shard 2 missing";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("2 of the 10 frames are not painted yet"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("(frames 2, 6, counted from 0)"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(output_));
  EXPECT_EQ(run_shard(2), 2);
  EXPECT_EQ(painted_by, (std::vector<long long>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1}));

  fs::remove(output_ + ".frames/painted0000005.png");  // lost, as by a shard killed while saving it
  EXPECT_EQ(VideoPainting(input_, output_, shared).frames_already_painted(Shard{1, 4}), 2);
  painted_by[5] = -1;
  EXPECT_EQ(run_shard(1), 1);
  EXPECT_EQ(run_shard(1), 0);

  const VideoPaintingResult assembled = VideoPainting(input_, output_, shared).assemble();
  EXPECT_EQ(assembled.frames, 10);
  EXPECT_TRUE(testing::read_all(output_) == whole) << "the sharded video differs from one run";
  EXPECT_FALSE(fs::exists(output_ + ".frames"));
}

// A shard or a resumed run with another style would mix two paintings in one
// video: the work folder keeps the settings of its paintings.
TEST_F(VideoPaintingTest, AWorkFolderPaintedWithOtherSettingsIsRefused) {
  VideoPaintingOptions options;
  options.resume = true;
  options.painting_settings = R"({"model":"candy.safetensors","strength":1.0})";
  VideoPainting(input_, output_, options).paint(flickering_paint, Shard{0, 2});
  options.painting_settings = R"({"model":"candy.safetensors","strength":0.5})";
  try {
    VideoPainting painting(input_, output_, options);
    ADD_FAILURE() << "other settings were taken";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("holds frames painted with other settings (strength 1.0 there, 0.5 now)"),
              std::string::npos)
        << error.what();
  }
  options.painting_settings = R"({"model":"candy.safetensors","strength":1.0})";
  EXPECT_EQ(VideoPainting(input_, output_, options).paint(flickering_paint, Shard{1, 2}).painted, 5);
  options.painting_settings.clear();  // the assembly paints nothing
  EXPECT_EQ(VideoPainting(input_, output_, options).assemble().frames, 10);
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
