// `atelier stylize --mask/--region` (issue 15): each style where the mask
// says, the photo where no style is. Random-weight networks (Magenta and a
// trained-style network) in a scratch models folder; small pictures.
#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>

#include "atelier/image.hpp"
#include "random_magenta_network.hpp"
#include "random_style_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace cli_regions_test {

class CliRegionsTest : public ::testing::Test {
 protected:
  CliRegionsTest() {
    testing::write_random_magenta_models(models_, 21);
    testing::write_random_style_network(models_ + "/net.safetensors", 22);
  }

  std::string picture(const std::string& name, const cv::Mat& rgb) const {
    save_image(Image{rgb, {}}, scratch_.file(name));
    return scratch_.file(name);
  }
  std::string noise(const std::string& name, int width, int height, uint64_t seed) const {
    cv::Mat rgb(height, width, CV_32FC3);
    cv::RNG(seed).fill(rgb, cv::RNG::UNIFORM, 0.0, 1.0);
    return picture(name, rgb);
  }
  testing::CliResult run(const std::string& arguments) const {
    return testing::run_atelier(scratch_, arguments + " --threads 1 --models-dir '" + models_ + "'");
  }
  cv::Mat read(const std::string& name) const { return load_image(scratch_.file(name)).rgb; }
  static double largest(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

  testing::ScratchDir scratch_;
  const std::string models_ = scratch_.file("models");
};

// A colour mask: red takes style A (Magenta), green the trained network,
// blue is bound to nothing and keeps the photo; away from the feathered
// edges each region is what its style paints alone.
TEST_F(CliRegionsTest, ColourRegionsPutEachStyleInItsPlace) {
  const std::string photo = noise("photo.png", 96, 40, 1), a = noise("a.png", 40, 40, 2);
  cv::Mat mask(40, 96, CV_32FC3, cv::Scalar(1, 0, 0));
  mask(cv::Rect(32, 0, 32, 40)).setTo(cv::Scalar(0, 1, 0));
  mask(cv::Rect(64, 0, 32, 40)).setTo(cv::Scalar(0, 0, 1));
  const std::string regions = picture("regions.png", mask);
  const auto painted = run("stylize -c '" + photo + "' --mask '" + regions + "' --region '#ff0000=" + a +
                           "' --region '#00ff00=net' --feather 2 -o '" + scratch_.file("out.png") + "' --json");
  ASSERT_EQ(painted.code, 0) << painted.err;
  EXPECT_NE(painted.out.find("\"regions\":2"), std::string::npos) << painted.out;
  ASSERT_EQ(run("stylize -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("a_alone.png") + "' -q").code, 0);
  ASSERT_EQ(run("stylize -c '" + photo + "' -m net -o '" + scratch_.file("net_alone.png") + "' -q").code, 0);
  const cv::Mat out = read("out.png");
  EXPECT_LE(largest(out(cv::Rect(8, 0, 16, 40)), read("a_alone.png")(cv::Rect(8, 0, 16, 40))), 1.5 / 255);
  EXPECT_LE(largest(out(cv::Rect(40, 0, 16, 40)), read("net_alone.png")(cv::Rect(40, 0, 16, 40))), 1.5 / 255);
  EXPECT_LE(largest(out(cv::Rect(72, 0, 24, 40)), read("photo.png")(cv::Rect(72, 0, 24, 40))), 2.0 / 255);
  EXPECT_GT(largest(read("a_alone.png"), read("photo.png")), 0.1);  // the styles did change the picture
}

// A grey mask with one style is a strength map: black keeps the photo,
// white is the style, a mask of another shape is stretched with a warning.
TEST_F(CliRegionsTest, GreyMaskIsWhereAndHowStrongly) {
  const std::string photo = noise("photo.png", 64, 32, 3), a = noise("a.png", 32, 32, 4);
  cv::Mat grey(32, 64, CV_32FC3, cv::Scalar(0, 0, 0));
  grey(cv::Rect(0, 0, 32, 32)).setTo(cv::Scalar(1, 1, 1));
  const auto painted = run("stylize -c '" + photo + "' -s '" + a + "' --mask '" + picture("grey.png", grey) + "' -o '" +
                           scratch_.file("out.png") + "' -q");
  ASSERT_EQ(painted.code, 0) << painted.err;
  ASSERT_EQ(run("stylize -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("alone.png") + "' -q").code, 0);
  EXPECT_LE(largest(read("out.png")(cv::Rect(32, 0, 32, 32)), read("photo.png")(cv::Rect(32, 0, 32, 32))), 2.0 / 255);
  EXPECT_LE(largest(read("out.png")(cv::Rect(0, 0, 32, 32)), read("alone.png")(cv::Rect(0, 0, 32, 32))), 1.5 / 255);

  cv::Mat square;
  cv::resize(grey, square, {32, 32}, 0, 0, cv::INTER_NEAREST);
  const auto stretched = run("stylize -c '" + photo + "' -s '" + a + "' --mask '" + picture("square.png", square) +
                             "' -o '" + scratch_.file("stretched.png") + "'");
  ASSERT_EQ(stretched.code, 0) << stretched.err;
  EXPECT_NE(stretched.err.find("warning"), std::string::npos) << stretched.err;
  EXPECT_NE(stretched.err.find("stretched to fit"), std::string::npos) << stretched.err;
}

// A batch with a folder of masks: each photo takes the mask of its name;
// a photo without one is reported and skipped, the others are painted.
TEST_F(CliRegionsTest, BatchTakesEachPhotosMaskByName) {
  const std::string a = noise("a.png", 32, 32, 8);
  fs::create_directories(scratch_.file("photos"));
  fs::create_directories(scratch_.file("masks"));
  fs::create_directories(scratch_.file("out"));
  for (const char* name : {"one", "two", "three"}) {
    cv::Mat rgb(24, 40, CV_32FC3);
    cv::randu(rgb, 0.0, 1.0);
    save_image(Image{rgb, {}}, scratch_.file(std::string("photos/") + name + ".png"));
  }
  cv::Mat black(24, 40, CV_32FC3, cv::Scalar(0, 0, 0)), white(24, 40, CV_32FC3, cv::Scalar(1, 1, 1));
  save_image(Image{black, {}}, scratch_.file("masks/one.png"));
  save_image(Image{white, {}}, scratch_.file("masks/two.jpg"));
  const auto batch = run("stylize '" + scratch_.file("photos/one.png") + "' '" + scratch_.file("photos/two.png") + "' '" +
                         scratch_.file("photos/three.png") + "' -s '" + a + "' --mask '" + scratch_.file("masks") +
                         "' --out-dir '" + scratch_.file("out") + "' -q");
  EXPECT_EQ(batch.code, 1);  // one photo failed
  EXPECT_NE(batch.err.find("no mask for three.png"), std::string::npos) << batch.err;
  EXPECT_LE(largest(read("out/one.regions.png"), read("photos/one.png")), 2.0 / 255);  // black: the photo
  EXPECT_GT(largest(read("out/two.regions.png"), read("photos/two.png")), 0.1);       // white: painted
  EXPECT_FALSE(fs::exists(scratch_.file("out/three.regions.png")));
}

// stylize-video --mask: the mask on every frame. The right half (black)
// stays the frame, the left half is painted as without a mask; outputs are
// lossy video, so the comparison is of mean differences.
TEST_F(CliRegionsTest, VideoTakesTheMaskOnEveryFrame) {
  const std::string clip = scratch_.file("clip.avi");
  {
    cv::VideoWriter writer(clip, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, {64, 48});
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < 4; ++i) {
      cv::Mat frame(48, 64, CV_8UC3);
      for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x) frame.at<cv::Vec3b>(y, x) = cv::Vec3b((x * 4 + i * 8) % 256, (y * 5) % 256, 128);
      writer.write(frame);
    }
  }
  cv::Mat half(48, 64, CV_32FC3, cv::Scalar(0, 0, 0));
  half(cv::Rect(0, 0, 32, 48)).setTo(cv::Scalar(1, 1, 1));
  const std::string mask = picture("half.png", half), a = noise("a.png", 32, 32, 9);
  const auto frames = [&](const std::string& flags, const std::string& name) {
    const auto result = run("stylize-video '" + clip + "' -o '" + scratch_.file(name) + "' -s '" + a +
                            "' --temporal-weight 0 -q " + flags);
    EXPECT_EQ(result.code, 0) << result.err;
    std::vector<cv::Mat> out;
    cv::VideoCapture video(scratch_.file(name), cv::CAP_FFMPEG);
    for (cv::Mat frame; video.read(frame);) {
      cv::Mat rgb;
      frame.convertTo(rgb, CV_32FC3, 1.0 / 255);
      out.push_back(rgb);
    }
    return out;
  };
  const auto masked = frames("--mask '" + mask + "'", "masked.mp4"), plain = frames("", "plain.mp4");
  const auto original = frames("--strength 0 --mask '" + picture("black.png", cv::Mat(48, 64, CV_32FC3, cv::Scalar(0, 0, 0))) + "'",
                               "original.mp4");  // all black: every frame as it was, through the same encoder
  ASSERT_EQ(masked.size(), 4u);
  ASSERT_EQ(plain.size(), 4u);
  ASSERT_EQ(original.size(), 4u);
  const cv::Rect left(4, 4, 24, 40), right(36, 4, 24, 40);
  const auto mean_difference = [](const cv::Mat& x, const cv::Mat& y) {
    const cv::Scalar m = cv::mean(cv::abs(x - y));
    return (m[0] + m[1] + m[2]) / 3;
  };
  for (size_t i = 0; i < masked.size(); ++i) {
    EXPECT_LT(mean_difference(masked[i](right), original[i](right)), 0.02) << i;
    EXPECT_LT(mean_difference(masked[i](left), plain[i](left)), 0.02) << i;
    EXPECT_GT(mean_difference(plain[i](right), original[i](right)), 0.05) << i;  // the style did change it
  }
}

TEST_F(CliRegionsTest, BadMasksAreOneLineErrorsAndNoOutput) {
  const std::string photo = noise("photo.png", 32, 32, 5), a = noise("a.png", 32, 32, 6), mask = noise("m.png", 32, 32, 7);
  testing::write_all(scratch_.file("text.png"), "not a picture");
  const std::string out = scratch_.file("out.png");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-s '" + a + "' --mask '" + scratch_.file("text.png") + "'", "text.png"},
      {"--region '#ff0000=" + a + "'", "give the --mask"},
      {"--mask '" + mask + "' --region 'red=" + a + "'", "expected #rrggbb=STYLE"},
      {"-s '" + a + "' --mask '" + mask + "' --region '#ff0000=" + a + "'", "drop --style"},
      {"-s '" + a + "' -s '" + a + "' -s '" + a + "' --mask '" + mask + "'", "colour the regions"},
      {"-s '" + a + "' -s '" + a + "' --style-blend 1,1 --mask '" + mask + "'", "drop --style-blend"},
      {"--mask '" + mask + "' --region '#ff0000=no_such_network'", "no_such_network"},
      {"--method gatys -m net --mask '" + mask + "'", "not --model"},
  };
  for (const auto& [flags, message] : cases) {
    SCOPED_TRACE(flags);
    const auto result = run("stylize -c '" + photo + "' " + flags + " -o '" + out + "' -q");
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(testing::lines_of(result.err).size(), 1u) << result.err;
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace cli_regions_test
}  // namespace atelier
