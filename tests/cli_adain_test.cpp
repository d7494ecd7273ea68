// End to end tests of `atelier stylize --method adain`: random-weight AdaIN
// networks in the real layouts, written into a scratch models folder (no
// shared data needed). Random weights cannot show that a picture looks
// painted; they show that the style reaches the picture exactly as far as
// --strength lets it, that blends and masks change it, and that bad input is
// a one-line error leaving no file.
#include <gtest/gtest.h>

#include <opencv2/videoio.hpp>

#include <filesystem>

#include "atelier/image.hpp"
#include "random_adain_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace cli_adain_test {

class CliAdainTest : public ::testing::Test {
 protected:
  std::string picture(const std::string& name, int width, int height, double low = 0.0, double high = 1.0) const {
    cv::Mat rgb(height, width, CV_32FC3);
    cv::randu(rgb, low, high);
    save_image(Image{rgb, {}}, scratch_.file(name));
    return scratch_.file(name);
  }

  // Runs atelier with the relu3_1 pair (small) unless `models` flags are given.
  testing::CliResult run(const std::string& arguments, const std::string& models = "") const {
    const std::string chosen =
        models.empty() ? "--adain-encoder adain/vgg_relu3_1 --adain-decoder adain/decoder_relu3_1" : models;
    return testing::run_atelier(scratch_, arguments + " " + chosen + " --threads 1 --models-dir '" + models_ + "'");
  }

  double difference(const std::string& a, const std::string& b) const {
    return cv::norm(load_image(scratch_.file(a)).rgb, load_image(scratch_.file(b)).rgb, cv::NORM_L1);
  }

  testing::ScratchDir scratch_;
  const std::string models_ = scratch_.file("models");
};

TEST_F(CliAdainTest, PaintsAsFarAsTheStrengthSays) {
  testing::write_random_adain_models(models_, "relu3_1", 71);
  testing::write_random_adain_models(models_, "relu4_1", 72);
  const std::string photo = picture("photo.png", 45, 31), a = picture("a.png", 40, 40, 0.0, 0.4),
                    b = picture("b.png", 36, 52, 0.5, 1.0);
  // naoto0804's names by default, at the picture's own size.
  const auto painted = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("d.png") +
                               "' --json",
                           " ");
  ASSERT_EQ(painted.code, 0) << painted.err;
  EXPECT_NE(painted.out.find("\"level\":\"relu4_1\""), std::string::npos) << painted.out;
  EXPECT_EQ(load_image(scratch_.file("d.png")).width(), 45);
  EXPECT_EQ(load_image(scratch_.file("d.png")).height(), 31);

  const auto paint = [&](const std::string& flags, const std::string& out) {
    const auto result = run("stylize --method adain -c '" + photo + "' " + flags + " -o '" + scratch_.file(out) + "' -q");
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_TRUE(result.err.empty()) << result.err;
  };
  paint("-s '" + a + "' --strength 0", "a0.png");
  paint("-s '" + b + "' --strength 0", "b0.png");
  paint("-s '" + a + "'", "a1.png");
  paint("-s '" + a + "' -s '" + b + "' --style-blend 0.7,0.3", "blend.png");
  paint("-s '" + a + "' -s '" + b + "' --mask '" + picture("mask.png", 45, 31) + "'", "mask.png.out.png");
  // Strength 0 keeps the photo's own features: the style does not matter.
  EXPECT_EQ(testing::read_all(scratch_.file("a0.png")), testing::read_all(scratch_.file("b0.png")));
  // At full strength it does, and a blend or a mask paints something else again.
  EXPECT_GT(difference("a1.png", "a0.png"), 0.0);
  EXPECT_GT(difference("blend.png", "a1.png"), 0.0);
  EXPECT_GT(difference("mask.png.out.png", "a1.png"), 0.0);
  EXPECT_GT(difference("mask.png.out.png", "blend.png"), 0.0);

  // A batch: the style encoded once, each picture as it is painted alone.
  const std::string other = picture("other.png", 20, 24);
  fs::create_directories(scratch_.file("batch"));
  const auto batch = run("stylize --method adain '" + photo + "' '" + other + "' -s '" + a + "' --out-dir '" +
                         scratch_.file("batch") + "' -q");
  ASSERT_EQ(batch.code, 0) << batch.err;
  EXPECT_EQ(testing::read_all(scratch_.file("batch/photo.a.png")), testing::read_all(scratch_.file("a1.png")));
  EXPECT_EQ(load_image(scratch_.file("batch/other.a.png")).width(), 20);
}

TEST_F(CliAdainTest, BadInputIsAOneLineErrorAndNoOutput) {
  testing::write_random_adain_models(models_, "relu3_1", 81);
  const std::string photo = picture("photo.png", 32, 32), a = picture("a.png", 32, 32), tiny = picture("tiny.png", 1, 1);
  testing::write_all(scratch_.file("text.jpg"), "not a picture");
  const std::string out = scratch_.file("out.png");
  const std::string relu3 = "--adain-encoder adain/vgg_relu3_1 --adain-decoder adain/decoder_relu3_1";
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"-s '" + tiny + "'", relu3, "a style picture of 1x1 is too small"},
      {"-s '" + scratch_.file("text.jpg") + "'", relu3, "text.jpg"},
      {"-s '" + a + "' --style-blend 1,2", relu3, "--style-blend: 2 weights for 1 --style pictures"},
      {"-s '" + a + "' -s '" + a + "' -s '" + a + "' --mask '" + a + "'", relu3, "colour the regions"},
      // The encoder given as the decoder: the file is named.
      {"-s '" + a + "'", "--adain-encoder adain/vgg_relu3_1 --adain-decoder adain/vgg_relu3_1", "vgg_relu3_1.safetensors"},
      {"-s '" + a + "'", " ", "models import vgg_normalised.pth"},
  };
  for (const auto& [flags, models, message] : cases) {
    SCOPED_TRACE(flags + " " + models);
    const auto result = run("stylize --method adain -c '" + photo + "' " + flags + " -o '" + out + "' --quiet", models);
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(testing::lines_of(result.err).size(), 1u) << result.err;
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(out));
  }
}

// --precision auto (the default) says what it chose and why; an explicit
// precision is reported too. Which one auto picks depends on the CPU; that
// it follows the rule is AutoPrecision.ThisMachineFollowsTheRule.
TEST_F(CliAdainTest, SaysWhichPrecisionItChose) {
  testing::write_random_adain_models(models_, "relu3_1", 99);
  const std::string photo = picture("photo.png", 32, 32), a = picture("a.png", 32, 32);
  const auto automatic = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("o.png") +
                             "' --precision auto");
  ASSERT_EQ(automatic.code, 0) << automatic.err;
  EXPECT_NE(automatic.err.find("(auto: this CPU has"), std::string::npos) << automatic.err;
  const auto json = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("j.png") +
                        "' --json --precision auto");
  EXPECT_NE(json.out.find("\"auto\":true"), std::string::npos) << json.out;
  const auto chosen = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("b.png") +
                          "' --precision bf16 --json");
  ASSERT_EQ(chosen.code, 0) << chosen.err;
  EXPECT_NE(chosen.out.find("\"precision\":\"bf16\""), std::string::npos) << chosen.out;
  // $ATELIER_PRECISION is every command's default; the flag wins over it.
  const auto from_environment = testing::run_atelier(
      scratch_, "stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("e.png") +
                    "' --json --threads 1 --models-dir '" + models_ +
                    "' --adain-encoder adain/vgg_relu3_1 --adain-decoder adain/decoder_relu3_1",
      "ATELIER_PRECISION=bf16");
  ASSERT_EQ(from_environment.code, 0) << from_environment.err;
  EXPECT_NE(from_environment.out.find("\"precision\":\"bf16\""), std::string::npos) << from_environment.out;
  const auto wrong = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("w.png") +
                         "' --precision fp16 -q");
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.err.find("--precision"), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(scratch_.file("w.png")));
}

// --preserve-color recolours the style to the photo (CORAL) before encoding
// it: a style that differs from another only by a scale and a shift of its
// colours then paints the same picture; without it, a different one.
TEST_F(CliAdainTest, PreserveColorTakesTheStylesColoursAway) {
  testing::write_random_adain_models(models_, "relu3_1", 97);
  const std::string photo = picture("photo.png", 48, 40), a = picture("a.png", 40, 40, 0.1, 0.9);
  const cv::Mat a_rgb = load_image(a).rgb;
  const cv::Scalar mean = cv::mean(a_rgb);
  save_image(Image{(a_rgb - mean) * 0.5 + mean + cv::Scalar(0.05, -0.1, 0.08), {}}, scratch_.file("b.png"));
  const auto paint = [&](const std::string& style, const std::string& flags, const std::string& out) {
    const auto result = run("stylize --method adain -c '" + photo + "' -s '" + style + "' -o '" + scratch_.file(out) +
                            "' " + flags + " -q");
    ASSERT_EQ(result.code, 0) << result.err;
  };
  paint(a, "--preserve-color", "a_kept.png");
  paint(scratch_.file("b.png"), "--preserve-color", "b_kept.png");
  paint(a, "", "a_free.png");
  paint(scratch_.file("b.png"), "", "b_free.png");
  // 8-bit style pictures: a step of rounding at most.
  EXPECT_LE(difference("a_kept.png", "b_kept.png") / (48 * 40 * 3), 1.5 / 255);
  EXPECT_GT(difference("a_free.png", "b_free.png"), 4 * difference("a_kept.png", "b_kept.png"));
}

// --max-memory below what the whole pass needs: tiles, AdaIN on the whole
// picture's features, so the same picture as the whole pass.
TEST_F(CliAdainTest, TilesWithinMaxMemory) {
  testing::write_random_adain_models(models_, "relu3_1", 95);
  const std::string photo = picture("photo.png", 603, 451), a = picture("a.png", 40, 40, 0.0, 0.4);
  const auto whole = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("whole.png") +
                         "' --max-memory 8G --json");
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_EQ(whole.out.find("\"tile\""), std::string::npos) << whole.out;
  const auto tiled = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("tiled.png") +
                         "' --max-memory 720M --json");
  ASSERT_EQ(tiled.code, 0) << tiled.err;
  EXPECT_NE(tiled.out.find("\"tile\":"), std::string::npos) << tiled.out;
  double largest = 0;
  cv::minMaxLoc(cv::Mat(cv::abs(load_image(scratch_.file("tiled.png")).rgb - load_image(scratch_.file("whole.png")).rgb))
                    .reshape(1),
                nullptr, &largest);
  EXPECT_LE(largest, 1.0 / 255 + 1e-6);  // 8-bit rounding at most
  const auto tight = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("no.png") +
                         "' --max-memory 64M -q");
  EXPECT_EQ(tight.code, 1);
  EXPECT_NE(tight.err.find("even in tiles"), std::string::npos) << tight.err;
  EXPECT_FALSE(fs::exists(scratch_.file("no.png")));
}

// stylize-video --method adain: the styles encoded once for the whole
// video, every frame painted as far as --strength says.
TEST_F(CliAdainTest, PaintsAVideo) {
  testing::write_random_adain_models(models_, "relu3_1", 91);
  const std::string clip = scratch_.file("clip.avi");
  {
    cv::VideoWriter writer(clip, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, {52, 36});
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < 4; ++i) {
      cv::Mat frame(36, 52, CV_8UC3);
      cv::randu(frame, 0, 256);
      writer.write(frame);
    }
  }
  const std::string a = picture("a.png", 40, 40, 0.0, 0.4), b = picture("b.png", 36, 52, 0.5, 1.0);
  const auto frames_of = [&](const std::string& flags, const std::string& name) {
    const std::string out = scratch_.file(name);
    const auto result = run("stylize-video --method adain '" + clip + "' -o '" + out + "' " + flags + " --json");
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_NE(result.out.find("\"method\":\"adain\""), std::string::npos) << result.out;
    std::vector<cv::Mat> frames;
    cv::VideoCapture video(out, cv::CAP_FFMPEG);
    for (cv::Mat frame; video.read(frame);) frames.push_back(frame.clone());
    return frames;
  };
  const auto a0 = frames_of("-s '" + a + "' --strength 0", "a0.mp4");
  const auto b0 = frames_of("-s '" + b + "' --strength 0", "b0.mp4");
  const auto a1 = frames_of("-s '" + a + "'", "a1.mp4");
  ASSERT_EQ(a0.size(), 4u);
  ASSERT_EQ(a1.size(), 4u);
  EXPECT_EQ(a1[0].size(), cv::Size(52, 36));
  // Strength 0 keeps each frame's own features, whatever the style.
  for (std::size_t i = 0; i < a0.size(); ++i) EXPECT_EQ(cv::norm(a0[i], b0[i], cv::NORM_INF), 0.0) << i;
  EXPECT_GT(cv::norm(a0[0], a1[0], cv::NORM_L1), 0.0);

  // AdaIN takes pictures, and works with --style only.
  testing::write_all(scratch_.file("v.style.json"), "{}");
  const auto vector = run("stylize-video --method adain '" + clip + "' -o '" + scratch_.file("v.mp4") + "' -s '" +
                          scratch_.file("v.style.json") + "' -q");
  EXPECT_EQ(vector.code, 1);
  EXPECT_NE(vector.err.find("takes style pictures"), std::string::npos) << vector.err;
  const auto model = run("stylize-video --method adain '" + clip + "' -o '" + scratch_.file("m.mp4") + "' -m x -q");
  EXPECT_EQ(model.code, 1);
  EXPECT_NE(model.err.find("not --model"), std::string::npos) << model.err;
  EXPECT_FALSE(fs::exists(scratch_.file("v.mp4")));
  EXPECT_FALSE(fs::exists(scratch_.file("m.mp4")));
}

}  // namespace cli_adain_test
}  // namespace atelier
