// End to end tests of `atelier stylize --method magenta` and `atelier
// style-vector`: random-weight Magenta networks in a scratch models folder
// (no shared data needed), and the real ones from ../shared when present.
#include <gtest/gtest.h>

#include <filesystem>

#include "atelier/arbitrary_style.hpp"
#include "atelier/image.hpp"
#include "random_magenta_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace cli_arbitrary_test {

class CliArbitraryTest : public ::testing::Test {
 protected:
  CliArbitraryTest() { testing::write_random_magenta_models(models_, 11); }

  std::string picture(const std::string& name, int width, int height) const {
    cv::Mat rgb(height, width, CV_32FC3);
    cv::randu(rgb, 0.0, 1.0);
    save_image(Image{rgb, {}}, scratch_.file(name));
    return scratch_.file(name);
  }

  testing::CliResult run(const std::string& arguments, const std::string& models = "") const {
    return testing::run_atelier(scratch_, arguments + " --threads 1 --models-dir '" +
                                              (models.empty() ? models_ : models) + "'");
  }

  testing::ScratchDir scratch_;
  const std::string models_ = scratch_.file("models");
};

TEST_F(CliArbitraryTest, PaintsAtTheContentsSizeFromPicturesAndVectors) {
  const std::string photo = picture("photo.png", 37, 29), a = picture("a.png", 64, 40), b = picture("b.png", 30, 50);
  // A style predicted once, kept, and used again.
  auto made = run("style-vector '" + a + "' -o '" + scratch_.file("a.style.json") + "' --quiet");
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_EQ(load_style_vector(scratch_.file("a.style.json")).values.size(), 100u);

  auto painted = run("stylize --method magenta -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("from_picture.png") +
                     "' --quiet");
  ASSERT_EQ(painted.code, 0) << painted.err;
  const Image out = load_image(scratch_.file("from_picture.png"));
  EXPECT_EQ(out.width(), 37);
  EXPECT_EQ(out.height(), 29);
  auto reused = run("stylize --method magenta -c '" + photo + "' -s '" + scratch_.file("a.style.json") + "' -o '" +
                    scratch_.file("from_vector.png") + "' --quiet");
  ASSERT_EQ(reused.code, 0) << reused.err;
  EXPECT_EQ(testing::read_all(scratch_.file("from_vector.png")), testing::read_all(scratch_.file("from_picture.png")));

  // Two styles blended, and a weaker strength: both give other pictures.
  auto blended = run("stylize --method magenta -c '" + photo + "' -s '" + a + "' -s '" + b +
                     "' --style-blend 0.7,0.3 --strength 0.5 -o '" + scratch_.file("blend.png") + "' --json");
  ASSERT_EQ(blended.code, 0) << blended.err;
  EXPECT_NE(blended.out.find("\"output\""), std::string::npos);
  EXPECT_NE(testing::read_all(scratch_.file("blend.png")), testing::read_all(scratch_.file("from_picture.png")));
}

// With --style and no --method the painting is Magenta's (one pass), and
// --style-size changes the vector; a Gatys-only setting chooses Gatys,
// and with another method it is refused, not ignored.
TEST_F(CliArbitraryTest, MagentaIsTheDefaultWithAStyle) {
  const std::string photo = picture("photo.png", 40, 32), a = picture("a.png", 64, 48);
  const auto chosen = run("stylize -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("default.png") + "' --quiet");
  ASSERT_EQ(chosen.code, 0) << chosen.err;
  const auto named = run("stylize --method magenta -c '" + photo + "' -s '" + a + "' -o '" + scratch_.file("named.png") +
                         "' --quiet");
  ASSERT_EQ(named.code, 0) << named.err;
  EXPECT_EQ(testing::read_all(scratch_.file("default.png")), testing::read_all(scratch_.file("named.png")));
  const auto smaller = run("stylize -c '" + photo + "' -s '" + a + "' --style-size 256 -o '" +
                           scratch_.file("256.png") + "' --quiet");
  ASSERT_EQ(smaller.code, 0) << smaller.err;
  EXPECT_NE(testing::read_all(scratch_.file("256.png")), testing::read_all(scratch_.file("named.png")));

  // -n is Gatys's: without --method it asks for Gatys (here: no VGG installed).
  const auto gatys = run("stylize -c '" + photo + "' -s '" + a + "' -n 3 -o '" + scratch_.file("gatys.png") + "' --quiet");
  EXPECT_EQ(gatys.code, 1);
  EXPECT_NE(gatys.err.find("vgg19"), std::string::npos) << gatys.err;
  const auto mixed = run("stylize --method magenta -c '" + photo + "' -s '" + a + "' --style-weight 5 -o '" +
                         scratch_.file("mixed.png") + "' --quiet");
  EXPECT_EQ(mixed.code, 1);
  ASSERT_EQ(testing::lines_of(mixed.err).size(), 1u) << mixed.err;
  EXPECT_NE(mixed.err.find("--style-weight is a setting of --method gatys"), std::string::npos) << mixed.err;
  EXPECT_FALSE(fs::exists(scratch_.file("gatys.png")));
  EXPECT_FALSE(fs::exists(scratch_.file("mixed.png")));
}

TEST_F(CliArbitraryTest, BadInputIsAOneLineErrorAndNoOutput) {
  const std::string photo = picture("photo.png", 32, 32), a = picture("a.png", 32, 32), tiny = picture("tiny.png", 1, 1);
  testing::write_all(scratch_.file("text.jpg"), "not a picture");
  testing::write_all(scratch_.file("short.style.json"),
                     R"({"format":"atelier-style-vector","version":1,"model":"magenta-arbitrary-image-stylization-v1-256","values":[1,2]})");
  const std::string out = scratch_.file("out.png");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-s '" + a + "' --style-blend 1,2", "--style-blend: 2 weights for 1 --style pictures"},
      {"-s '" + tiny + "'", "a style picture of 1x1 is too small"},
      {"-s '" + scratch_.file("text.jpg") + "'", "text.jpg"},
      {"-s '" + scratch_.file("short.style.json") + "'", "holds 2 numbers; a Magenta style vector has 100"},
  };
  for (const auto& [flags, message] : cases) {
    SCOPED_TRACE(flags);
    const auto result = run("stylize --method magenta -c '" + photo + "' " + flags + " -o '" + out + "' --quiet");
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(testing::lines_of(result.err).size(), 1u) << result.err;
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(out));
  }
  const auto unknown = run("stylize --method adain -c '" + photo + "' -s '" + a + "' -o '" + out + "'");
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("--method"), std::string::npos) << unknown.err;
  // The two networks swapped: the file and the missing key are named.
  fs::create_directories(scratch_.file("swapped/magenta-arbitrary"));
  fs::copy_file(models_ + "/magenta-arbitrary/style_transfer.safetensors",
                scratch_.file("swapped/magenta-arbitrary/style_predict.safetensors"));
  fs::copy_file(models_ + "/magenta-arbitrary/style_predict.safetensors",
                scratch_.file("swapped/magenta-arbitrary/style_transfer.safetensors"));
  const auto swapped = run("style-vector '" + a + "' -o '" + scratch_.file("v.json") + "'", scratch_.file("swapped"));
  EXPECT_EQ(swapped.code, 1);
  EXPECT_NE(swapped.err.find("style_predict.safetensors: weights for the Magenta style predictor lack"), std::string::npos)
      << swapped.err;
  EXPECT_FALSE(fs::exists(scratch_.file("v.json")));
}

TEST_F(CliArbitraryTest, RealNetworksPaintStarryNightOnTubingen) {
  ATELIER_REQUIRE_SHARED(models, "models");
  ATELIER_REQUIRE_SHARED(starry, "images/style/starry_night.jpg");
  ATELIER_REQUIRE_SHARED(tubingen, "images/content/tubingen.jpg");
  const auto result = run("stylize --method magenta -c '" + tubingen + "' -s '" + starry + "' --size 256 -o '" +
                              scratch_.file("starry.png") + "' --quiet",
                          models);
  ASSERT_EQ(result.code, 0) << result.err;
  const Image out = load_image(scratch_.file("starry.png"));
  const Image photo = resize_longest_side(load_image(tubingen), 256);
  EXPECT_EQ(out.width(), photo.width());
  EXPECT_EQ(out.height(), photo.height());
  // The colours move towards the painting's (README: mean blue rises, red falls).
  const cv::Scalar before = cv::mean(photo.rgb), after = cv::mean(out.rgb);
  EXPECT_LT(after[0], before[0]);
}

}  // namespace cli_arbitrary_test
}  // namespace atelier
