// End to end tests of `atelier data prepare` and `atelier data stats`.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "atelier/image.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;

class CliDataTest : public ::testing::Test {
 protected:
  CliDataTest() {
    fs::create_directories(input_ + "/z_more");
    cv::RNG rng(5);
    for (int i = 0; i < 6; ++i) {
      cv::Mat coarse(4, 5, CV_32FC3), rgb;
      rng.fill(coarse, cv::RNG::UNIFORM, 0.0, 1.0);
      cv::resize(coarse, rgb, {80 + 10 * i, 60}, 0, 0, cv::INTER_CUBIC);
      rgb = cv::min(cv::max(rgb, 0.0), 1.0);
      save_image(Image{rgb, {}}, input_ + "/photo" + std::to_string(i) + ".png");
      if (i == 2) save_image(Image{rgb, {}}, input_ + "/z_more/photo2_again.jpg", {98, 8});  // near duplicate
    }
    fs::copy_file(input_ + "/photo1.png", input_ + "/z_more/copy_of_1.png");  // exact duplicate
    const std::string jpeg = testing::read_all(input_ + "/z_more/photo2_again.jpg");
    testing::write_all(input_ + "/corrupt.jpg", jpeg.substr(0, 40));  // cut short
    testing::write_all(input_ + "/notes.txt", "a text file, not a picture\n");
    save_image(Image{cv::Mat(1, 1, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5)), {}}, input_ + "/dot.png");
  }
  CliResult run(const std::string& arguments) const { return testing::run_atelier(scratch_, arguments); }

  testing::ScratchDir scratch_;
  const std::string input_ = scratch_.file("in");
  const std::string output_ = scratch_.file("prepared");
};

// Acceptance 4: duplicates, a corrupt JPEG, a text file and a 1x1 image are
// each reported; the rest is prepared; a second run does no work.
TEST_F(CliDataTest, PrepareReportsEveryBadFileAndRerunsDoNothing) {
  const CliResult first = run("data prepare " + input_ + " -o " + output_ + " --size 32 --val 0.5");
  ASSERT_EQ(first.code, 0) << first.err;
  const std::vector<std::pair<std::string, std::string>> expected = {{"z_more/copy_of_1.png", "duplicate of photo1.png"},
                                                                     {"z_more/photo2_again.jpg", "near duplicate of"},
                                                                     {"corrupt.jpg", "unreadable"},
                                                                     {"notes.txt", "unreadable"},
                                                                     {"dot.png", "too small"}};
  for (const auto& [file, reason] : expected) {
    bool found = false;
    for (const auto& line : testing::lines_of(first.err))
      if (line.find("left out " + file + ": ") == 0 && line.find(reason) != std::string::npos) found = true;
    EXPECT_TRUE(found) << file << " / " << reason << "\n" << first.err;
  }
  EXPECT_NE(first.err.find("6 prepared, 0 already done, 5 left out"), std::string::npos) << first.err;

  std::ifstream in(output_ + "/manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  ASSERT_EQ(manifest["images"].size(), 6u);
  int val = 0;
  for (const auto& entry : manifest["images"]) {
    const Image prepared = load_image(output_ + "/" + entry["file"].get<std::string>());
    EXPECT_EQ(prepared.width(), 32);
    EXPECT_EQ(prepared.height(), 32);
    val += entry["split"] == "val";
  }
  EXPECT_GT(val, 0);
  EXPECT_LT(val, 6);
  EXPECT_EQ(list_training_images(output_).size(), static_cast<size_t>(6 - val));

  const auto before = fs::last_write_time(output_ + "/manifest.json");
  const CliResult second = run("data prepare " + input_ + " -o " + output_ + " --size 32 --val 0.5");
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.err.find("0 prepared, 11 already done, 0 left out"), std::string::npos) << second.err;
  EXPECT_EQ(fs::last_write_time(output_ + "/manifest.json"), before);

  // A new photo is the only work of a third run.
  cv::Mat rgb = load_image(input_ + "/photo5.png").rgb;
  cv::flip(rgb, rgb, 0);
  save_image(Image{rgb, {}}, input_ + "/new.png");
  const CliResult third = run("data prepare " + input_ + " -o " + output_ + " --size 32 --val 0.5");
  EXPECT_NE(third.err.find("1 prepared, 11 already done, 0 left out"), std::string::npos) << third.err;

  const CliResult other = run("data prepare " + input_ + " -o " + output_ + " --size 64");
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("other settings"), std::string::npos) << other.err;
}

TEST_F(CliDataTest, StatsCountsSizesAndColours) {
  const CliResult stats = run("data stats " + input_ + " --json");
  ASSERT_EQ(stats.code, 0) << stats.err;
  const auto json = nlohmann::json::parse(stats.out);
  EXPECT_EQ(json["images"], 9);  // 6 photos, both duplicates and the 1x1 (.txt is not an image file)
  EXPECT_EQ(json["unreadable"], 1);  // corrupt.jpg
  EXPECT_EQ(json["longest_side"]["<256"], 9);
  EXPECT_GT(json["mean_rgb"][0].get<double>(), 0.2);
  EXPECT_LT(json["mean_rgb"][0].get<double>(), 0.8);
  ASSERT_EQ(run("data prepare " + input_ + " -o " + output_ + " --size 32 -q").code, 0);
  const CliResult prepared = run("data stats " + output_);
  EXPECT_NE(prepared.out.find("6 images (" ), std::string::npos) << prepared.out;
  EXPECT_EQ(run("data stats " + scratch_.file("nothing")).code, 1);
}

// Issue 13: one symbolic link loop aborted the whole `data prepare` run. It
// is left out, with its reason, like any unreadable file.
TEST_F(CliDataTest, SymlinkLoopIsLeftOutNotFatal) {
  fs::create_symlink("loop.png", input_ + "/loop.png");
  const CliResult first = run("data prepare " + input_ + " -o " + output_ + " --size 32 --json");
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("loop.png"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("unreadable: Too many levels of symbolic links"), std::string::npos) << first.out;
  EXPECT_TRUE(fs::exists(output_ + "/manifest.json"));
  const CliResult stats = run("data stats " + input_ + " --json");
  EXPECT_EQ(stats.code, 0) << stats.err;
}

}  // namespace
}  // namespace atelier
