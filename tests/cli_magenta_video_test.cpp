// `atelier stylize-video --style` (issue 14): any picture or a style vector
// file as the style of a video, predicted once for the whole video.
// Random-weight Magenta networks in a scratch models folder; a small clip.
#include <gtest/gtest.h>
#include <opencv2/videoio.hpp>

#include <filesystem>

#include "atelier/image.hpp"
#include "random_magenta_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace cli_magenta_video_test {

using testing::CliResult;
using testing::lines_of;

class CliMagentaVideoTest : public ::testing::Test {
 protected:
  CliMagentaVideoTest() { testing::write_random_magenta_models(models_, 11); }

  std::string picture(const std::string& name, int width, int height, uint64_t seed = 1) const {
    cv::Mat rgb(height, width, CV_32FC3);
    cv::RNG(seed).fill(rgb, cv::RNG::UNIFORM, 0.0, 1.0);
    save_image(Image{rgb, {}}, scratch_.file(name));
    return scratch_.file(name);
  }

  CliResult run(const std::string& arguments) const {
    return testing::run_atelier(scratch_, arguments + " --threads 1 --models-dir '" + models_ + "'");
  }

  testing::ScratchDir scratch_;
  const std::string models_ = scratch_.file("models");
};

// stylize-video with a style picture or vector: the vector is predicted
// once for the whole video; frames keep their count and size.
TEST_F(CliMagentaVideoTest, StylePictureOrVector) {
  const std::string clip = scratch_.file("clip.avi"), styled = scratch_.file("styled.mp4");
  {
    cv::VideoWriter writer(clip, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, {52, 36});
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < 6; ++i) {
      cv::Mat frame(36, 52, CV_8UC3);
      for (int y = 0; y < frame.rows; ++y)
        for (int x = 0; x < frame.cols; ++x)
          frame.at<cv::Vec3b>(y, x) = cv::Vec3b((x * 4 + i * 8) % 256, (y * 5) % 256, (x + y + i) % 256);
      writer.write(frame);
    }
  }
  const std::string style = picture("starry.png", 40, 30, 2);
  const CliResult painted = run("stylize-video '" + clip + "' -o '" + styled + "' --style '" + style + "' --json");
  ASSERT_EQ(painted.code, 0) << painted.err;
  EXPECT_NE(painted.out.find("\"styles\":1"), std::string::npos) << painted.out;
  cv::VideoCapture video(styled, cv::CAP_FFMPEG);
  ASSERT_TRUE(video.isOpened());
  EXPECT_EQ(video.get(cv::CAP_PROP_FRAME_COUNT), 6);
  EXPECT_EQ(video.get(cv::CAP_PROP_FRAME_WIDTH), 52);
  EXPECT_EQ(video.get(cv::CAP_PROP_FRAME_HEIGHT), 36);
  EXPECT_FALSE(fs::exists(styled + ".frames"));

  ASSERT_EQ(run("style-vector '" + style + "' -o '" + scratch_.file("starry.style.json") + "' -q").code, 0);
  const std::string again = scratch_.file("again.mp4");
  const CliResult from_vector = run("stylize-video '" + clip + "' -o '" + again + "' --style '" +
                                    scratch_.file("starry.style.json") + "' --strength 0.5 -q");
  ASSERT_EQ(from_vector.code, 0) << from_vector.err;
  EXPECT_TRUE(fs::exists(again));

  // One engine: --model and --style together, or neither, is a one-line error.
  for (const std::string& flags : {"--style '" + style + "' --model candy", std::string()}) {
    SCOPED_TRACE(flags);
    const CliResult refused = run("stylize-video '" + clip + "' -o '" + scratch_.file("no.mp4") + "' " + flags);
    EXPECT_EQ(refused.code, 1);
    EXPECT_EQ(lines_of(refused.err).size(), 1u) << refused.err;
    EXPECT_NE(refused.err.find("--model"), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(scratch_.file("no.mp4")));
  }
}

}  // namespace cli_magenta_video_test
}  // namespace atelier
