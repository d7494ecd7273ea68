// Video files through FFmpeg's libraries: H.264/yuv420p out, frames, rates
// (variable too), rotation and the audio stream carried through; bad input.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "atelier/error.hpp"
#include "atelier/video_file.hpp"
#include "atelier/video_reader.hpp"
#include "test_support.hpp"
#include "video_fixtures.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::ClipSpec;
using testing::read_stream_facts;
using testing::write_clip;

std::vector<VideoFrame> read_frames(const std::string& path) {
  VideoReader reader(path);
  std::vector<VideoFrame> frames;
  for (VideoFrame frame; reader.read(frame);) frames.push_back({frame.bgr.clone(), frame.pts, frame.seconds});
  return frames;
}

// Copies `input` to `output` frame by frame the way stylize-video does.
VideoFile copy_video(const std::string& input, const std::string& output) {
  VideoReader reader(input);
  const VideoInfo& info = reader.info();
  VideoFileOptions options;
  options.fps = info.fps;
  options.frame_rate_num = info.frame_rate_num;
  options.frame_rate_den = info.frame_rate_den;
  options.time_base_num = info.time_base_num;
  options.time_base_den = info.time_base_den;
  options.display_matrix = info.display_matrix;
  options.audio_from = input;
  VideoFile file(output, info.size, options);
  for (VideoFrame frame; reader.read(frame);) file.write(frame.bgr, frame.pts);
  file.finish();
  return file;
}

class VideoFileTest : public ::testing::Test {
 protected:
  testing::ScratchDir scratch_;
};

TEST_F(VideoFileTest, WritesH264Yuv420pThatReadsBackAtItsRateAndSize) {
  const std::string output = scratch_.file("out.mp4");
  {
    VideoFile file(output, 15.0, {33, 25});  // odd: padded to even
    EXPECT_EQ(file.size(), cv::Size(34, 26));
    for (int i = 0; i < 20; ++i) {
      cv::Mat frame(25, 33, CV_8UC3, cv::Scalar(40 + i * 5, 120, 200 - i * 5));
      cv::circle(frame, {5 + i, 12}, 4, cv::Scalar(255, 255, 255), -1);
      file.write(frame);
    }
    EXPECT_FALSE(fs::exists(output)) << "written to a temporary until finished";
    file.finish();
  }
  const auto facts = read_stream_facts(output);
  EXPECT_EQ(facts.video_codec, "h264");
  EXPECT_EQ(facts.pixel_format, "yuv420p");
  const auto frames = read_frames(output);
  ASSERT_EQ(frames.size(), 20u);
  VideoReader reader(output);
  EXPECT_NEAR(reader.info().fps, 15.0, 1e-6);
  EXPECT_EQ(reader.info().size, cv::Size(34, 26));
  EXPECT_NEAR(frames[19].seconds, 19 / 15.0, 1e-3);
  cv::Mat expected(25, 33, CV_8UC3, cv::Scalar(40 + 19 * 5, 120, 200 - 19 * 5));
  cv::circle(expected, {24, 12}, 4, cv::Scalar(255, 255, 255), -1);
  EXPECT_GT(cv::PSNR(frames[19].bgr(cv::Rect(0, 0, 33, 25)), expected), 30.0);
  for (const auto& entry : fs::directory_iterator(scratch_.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << "temporary left behind";
}

TEST_F(VideoFileTest, UnfinishedFileLeavesNothing) {
  const std::string output = scratch_.file("out.mp4");
  {
    VideoFile file(output, 10.0, {32, 24});
    file.write(cv::Mat(24, 32, CV_8UC3, cv::Scalar(1, 2, 3)));
  }
  EXPECT_TRUE(fs::is_empty(scratch_.path()));
}

TEST_F(VideoFileTest, AacAudioIsCopiedIntoMp4PacketForPacket) {
  const std::string input = scratch_.file("in.mkv"), output = scratch_.file("out.mp4");
  ClipSpec spec;
  spec.frames = 24;
  spec.audio = "aac";
  write_clip(input, spec);
  const VideoFile file = copy_video(input, output);
  EXPECT_EQ(file.audio_notice(), "");
  const auto before = read_stream_facts(input), after = read_stream_facts(output);
  EXPECT_EQ(after.video_codec, "h264");
  EXPECT_EQ(after.audio_codec, "aac");
  ASSERT_GT(before.audio_packets.size(), 5u);
  EXPECT_EQ(after.audio_packets, before.audio_packets) << "the same bytes decode to the same samples";
  const auto frames = read_frames(output);
  ASSERT_EQ(frames.size(), 24u);
  const auto originals = read_frames(input);
  for (std::size_t i = 0; i < frames.size(); ++i)
    EXPECT_NEAR(frames[i].seconds, originals[i].seconds, 1e-6) << "frame " << i << ": the sound stays in sync";
}

TEST_F(VideoFileTest, PcmAudioIsKeptInMovAndLeftOutOfMp4WithANotice) {
  const std::string input = scratch_.file("in.mkv");
  ClipSpec spec;
  spec.audio = "pcm_s16le";
  write_clip(input, spec);
  const auto before = read_stream_facts(input);
  ASSERT_FALSE(before.audio_packets.empty());
  const VideoFile mov = copy_video(input, scratch_.file("out.mov"));
  EXPECT_EQ(mov.audio_notice(), "");
  EXPECT_EQ(read_stream_facts(scratch_.file("out.mov")).audio_packets, before.audio_packets);
  const VideoFile mp4 = copy_video(input, scratch_.file("out.mp4"));
  EXPECT_EQ(mp4.audio_notice(), ".mp4 cannot hold its pcm_s16le audio: the sound is left out (a .mkv or .mov output "
                                "keeps it)");
  EXPECT_EQ(read_stream_facts(scratch_.file("out.mp4")).audio_codec, "");
}

TEST_F(VideoFileTest, VariableFrameRateKeepsEachFramesTime) {
  const std::string input = scratch_.file("vfr.mkv"), output = scratch_.file("out.mp4");
  ClipSpec spec;
  spec.frames = 8;
  spec.rate_num = 25;
  spec.time_base_den = 1000;
  spec.pts = {0, 40, 120, 160, 300, 340, 380, 600};
  write_clip(input, spec);
  copy_video(input, output);
  const auto frames = read_frames(output);
  ASSERT_EQ(frames.size(), spec.pts.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    EXPECT_NEAR(frames[i].seconds, spec.pts[i] / 1000.0, 1e-3) << "frame " << i;
}

TEST_F(VideoFileTest, RotationMetadataIsKept) {
  const std::string input = scratch_.file("phone.mp4"), output = scratch_.file("out.mp4");
  ClipSpec spec;
  spec.width = 48;
  spec.height = 32;
  spec.rotation = 90;
  write_clip(input, spec);
  EXPECT_EQ(VideoReader(input).info().rotation, 90);
  copy_video(input, output);
  const VideoReader reader(output);
  EXPECT_EQ(reader.info().rotation, 90) << "a player turns it upright";
  EXPECT_EQ(reader.info().size, cv::Size(48, 32));
}

TEST_F(VideoFileTest, BadInputIsAOneLineError) {
  testing::write_all(scratch_.file("text.mp4"), "not a video at all");
  ClipSpec sound_only;
  sound_only.video = false;
  sound_only.audio = "aac";
  write_clip(scratch_.file("sound.mp4"), sound_only);
  cv::imwrite(scratch_.file("picture.mp4.png"), cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  fs::rename(scratch_.file("picture.mp4.png"), scratch_.file("picture.mp4"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {scratch_.file("missing.mp4"), "no such file"},
      {scratch_.file("text.mp4"), "not a video"},
      {scratch_.file("sound.mp4"), "it has no video stream"},
      {scratch_.file("picture.mp4"), "it is a png picture, not a video"},
  };
  for (const auto& [path, needle] : cases) {
    try {
      VideoReader reader(path);
      ADD_FAILURE() << path << " opened";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find(needle), std::string::npos) << message;
    }
  }
  EXPECT_THROW(VideoFile(scratch_.file("x.gif"), 10.0, {8, 8}), Error);
}

TEST_F(VideoFileTest, CutShortVideoGivesTheFramesBeforeTheCut) {
  const std::string input = scratch_.file("cut.avi");
  ClipSpec spec;
  spec.frames = 24;
  spec.width = 320;  // frames big enough that half the file is past the header
  spec.height = 240;
  write_clip(input, spec);
  const std::string bytes = testing::read_all(input);
  testing::write_all(input, bytes.substr(0, bytes.size() / 2));
  VideoReader reader(input);
  EXPECT_EQ(reader.info().frame_count, 24);
  std::size_t frames = 0;
  for (VideoFrame frame; reader.read(frame);) ++frames;
  EXPECT_GT(frames, 0u);
  EXPECT_LT(frames, 24u);
}

}  // namespace
}  // namespace atelier
