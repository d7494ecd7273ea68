// `atelier stylize-video` through FFmpeg's libraries (issue 15): H.264 out,
// the sound, frame times and rotation of the input kept, the temporal blend's
// flag, and `atelier video-metrics`. Random-weight networks, clips made with
// libav in the test; one check on opencv-doc's Megamind.avi (AC3 sound).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "atelier/video_reader.hpp"
#include "random_style_network.hpp"
#include "test_support.hpp"
#include "video_fixtures.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace cli_video_sound_test {

using testing::CliResult;
using testing::lines_of;

std::vector<double> frame_times(const std::string& path) {
  VideoReader reader(path);
  std::vector<double> seconds;
  for (VideoFrame frame; reader.read(frame);) seconds.push_back(frame.seconds);
  return seconds;
}

class CliVideoSoundTest : public ::testing::Test {
 protected:
  CliVideoSoundTest() { testing::write_random_style_network(model_, /*seed=*/3); }

  CliResult run(const std::string& arguments) const { return testing::run_atelier(scratch_, arguments); }

  testing::ScratchDir scratch_;
  const std::string model_ = scratch_.file("random.safetensors");
  const std::string output_ = scratch_.file("painted.mp4");
};

// A phone clip: portrait by its rotation metadata, a variable frame rate, AAC.
TEST_F(CliVideoSoundTest, KeepsSoundFrameTimesAndRotation) {
  const std::string clip = scratch_.file("phone.mp4");
  testing::ClipSpec spec;
  spec.frames = 8;
  spec.rate_num = 30;
  spec.time_base_den = 30000;  // MPEG-4 Part 2 takes at most 65535
  spec.pts = {0, 1000, 2000, 4000, 5000, 7000, 8000, 9000};
  spec.rotation = 90;
  spec.audio = "aac";
  testing::write_clip(clip, spec);
  const CliResult result =
      run("stylize-video " + clip + " -o " + output_ + " --model " + model_ + " --threads 1 --json");
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out.find("no audio"), std::string::npos) << result.out;
  const auto before = testing::read_stream_facts(clip), after = testing::read_stream_facts(output_);
  EXPECT_EQ(after.video_codec, "h264");
  EXPECT_EQ(after.pixel_format, "yuv420p");
  EXPECT_EQ(after.audio_codec, "aac");
  EXPECT_EQ(after.audio_packets, before.audio_packets) << "the sound is copied, not re-encoded";
  EXPECT_EQ(VideoReader(output_).info().rotation, 90) << "a player shows it upright";
  EXPECT_EQ(frame_times(output_), frame_times(clip));
}

// Sound a container cannot hold is left out with one warning line.
TEST_F(CliVideoSoundTest, PcmSoundInMp4IsAWarningAndMkvKeepsIt) {
  const std::string clip = scratch_.file("pcm.mkv");
  testing::ClipSpec spec;
  spec.frames = 4;
  spec.audio = "pcm_s16le";
  testing::write_clip(clip, spec);
  const CliResult mp4 = run("stylize-video " + clip + " -o " + output_ + " --model " + model_ + " --threads 1 -q");
  ASSERT_EQ(mp4.code, 0) << mp4.err;
  const auto lines = lines_of(mp4.err);
  ASSERT_EQ(lines.size(), 1u) << mp4.err;
  EXPECT_EQ(lines[0], "atelier: warning: .mp4 cannot hold its pcm_s16le audio: the sound is left out (a .mkv or "
                      ".mov output keeps it)");
  const std::string mkv = scratch_.file("painted.mkv");
  const CliResult kept = run("stylize-video " + clip + " -o " + mkv + " --model " + model_ + " --threads 1 -q");
  ASSERT_EQ(kept.code, 0) << kept.err;
  EXPECT_EQ(kept.err, "");
  EXPECT_EQ(testing::read_stream_facts(mkv).audio_packets, testing::read_stream_facts(clip).audio_packets);
}

TEST_F(CliVideoSoundTest, TemporalWeightAndFramesAreBounded) {
  const std::string clip = scratch_.file("clip.mkv");
  testing::write_clip(clip, {});
  const CliResult refused =
      run("stylize-video " + clip + " -o " + output_ + " --model " + model_ + " -q --temporal-weight 1.5");
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("--temporal-weight: 1.5 is out of range [0..1]"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(output_ + ".frames"));
  const CliResult three = run("stylize-video " + clip + " -o " + output_ + " --model " + model_ +
                              " --threads 1 -q --frames 3 --temporal-weight 0");
  ASSERT_EQ(three.code, 0) << three.err;
  EXPECT_EQ(frame_times(output_).size(), 3u);
}

TEST_F(CliVideoSoundTest, VideoMetricsMeasuresFlickerInOneJsonLine) {
  const std::string clip = scratch_.file("clip.mkv");
  testing::ClipSpec spec;
  spec.frames = 6;
  testing::write_clip(clip, spec);
  const CliResult same = run("video-metrics " + clip + " " + clip + " --json");
  ASSERT_EQ(same.code, 0) << same.err;
  const auto measure = nlohmann::json::parse(same.out);
  EXPECT_EQ(measure["frames"], 6);
  EXPECT_LT(measure["warping_error"].get<double>(), measure["frame_change"].get<double>())
      << "a video against itself: following the motion explains the change";
  EXPECT_GT(measure["texture"].get<double>(), 0.0);
  const CliResult text = run("video-metrics " + clip + " " + clip + " --frames 3");
  EXPECT_NE(text.out.find("frames compared   3\nwarping error"), std::string::npos) << text.out;
  const CliResult missing = run("video-metrics " + clip + " " + scratch_.file("none.mp4"));
  EXPECT_EQ(missing.code, 1);
  ASSERT_EQ(lines_of(missing.err).size(), 1u) << missing.err;
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;
}

// AC3 frames: packets that start with the sync word. AVI stores sound in
// chunks that need not start on a frame; the MP4 muxer leaves out a leading
// piece that is not a frame (nothing a decoder could play).
std::vector<std::string> ac3_frames(const std::vector<std::string>& packets) {
  std::vector<std::string> frames;
  for (const std::string& packet : packets)
    if (packet.size() > 2 && packet[0] == '\x0b' && packet[1] == '\x77') frames.push_back(packet);
  return frames;
}

// opencv-doc's Megamind.avi has AC3 sound: MP4 takes it as it is.
TEST_F(CliVideoSoundTest, MegamindKeepsItsAc3Sound) {
  const std::string clip = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
  if (!fs::exists(clip)) GTEST_SKIP() << "SKIPPED: " << clip << " is absent (apt install opencv-doc)";
  const CliResult result = run("stylize-video " + clip + " -o " + output_ + " --model " + model_ +
                               " --threads 1 -q --frames 1 --temporal-weight 0");
  ASSERT_EQ(result.code, 0) << result.err;
  const auto before = testing::read_stream_facts(clip), after = testing::read_stream_facts(output_);
  EXPECT_EQ(after.video_codec, "h264");
  EXPECT_EQ(after.audio_codec, "ac3");
  const auto original = ac3_frames(before.audio_packets), copied = ac3_frames(after.audio_packets);
  ASSERT_FALSE(copied.empty());
  EXPECT_EQ(copied.size(), after.audio_packets.size()) << "only whole AC3 frames";
  ASSERT_LT(copied.size(), original.size()) << "the sound of the first frame only";
  for (std::size_t i = 0; i < copied.size(); ++i) EXPECT_TRUE(copied[i] == original[i]) << "AC3 frame " << i;
}

}  // namespace cli_video_sound_test
}  // namespace atelier
