// `stylize --method magenta` beyond one picture (issue 14): batches
// (--out-dir, one style vector for the batch, one bad file reported and
// skipped, skip-existing, name collisions refused) and tiles within
// --max-memory. Random-weight networks in a scratch models folder; small
// pictures.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "atelier/arbitrary_style.hpp"
#include "atelier/image.hpp"
#include "random_magenta_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace cli_magenta_batch_test {

using testing::CliResult;
using testing::lines_of;
using testing::read_all;

class CliMagentaBatchTest : public ::testing::Test {
 protected:
  CliMagentaBatchTest() {
    testing::write_random_magenta_models(models_, 11);
    fs::create_directories(scratch_.file("in"));
    fs::create_directories(out_);
  }

  std::string picture(const std::string& name, int width, int height, uint64_t seed = 1) const {
    cv::Mat rgb(height, width, CV_32FC3);
    cv::RNG(seed).fill(rgb, cv::RNG::UNIFORM, 0.0, 1.0);
    save_image(Image{rgb, {}}, scratch_.file(name));
    return scratch_.file(name);
  }

  CliResult run(const std::string& arguments) const {
    return testing::run_atelier(scratch_, arguments + " --threads 1 --models-dir '" + models_ + "'");
  }

  std::set<std::string> files_in(const std::string& folder) const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) names.insert(entry.path().filename().string());
    return names;
  }

  testing::ScratchDir scratch_;
  const std::string models_ = scratch_.file("models");
  const std::string out_ = scratch_.file("out");
};

// Three photos, one of them corrupt: two written, the bad one named on one
// line, exit 1; the style (predicted once for the batch) gives each photo
// exactly what a run on that photo alone gives. A rerun skips what exists,
// --overwrite redoes it.
TEST_F(CliMagentaBatchTest, BatchWithACorruptFileSkipsAndOverwrites) {
  const std::string style = picture("starry.png", 40, 30, 2);
  const std::string a = picture("in/a.png", 36, 28, 3), b = picture("in/b.png", 30, 41, 4);
  const std::string bad = scratch_.file("in/bad.jpg");
  testing::write_all(bad, "not a picture at all");
  const std::string batch = "stylize --method magenta -s '" + style + "' --out-dir '" + out_ + "' '" + a + "' '" + bad +
                            "' '" + b + "'";
  const CliResult first = run(batch + " --json");
  EXPECT_EQ(first.code, 1);
  ASSERT_EQ(lines_of(first.err).size(), 1u) << first.err;
  EXPECT_NE(first.err.find("atelier: error: "), std::string::npos);
  EXPECT_NE(first.err.find("bad.jpg"), std::string::npos) << first.err;
  EXPECT_NE(first.out.find("\"styles\":1"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("\"pictures\":3"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("\"written\":2"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("\"failed\":1"), std::string::npos) << first.out;
  EXPECT_EQ(files_in(out_), (std::set<std::string>{"a.starry.png", "b.starry.png"}));

  const CliResult alone =
      run("stylize --method magenta -s '" + style + "' -c '" + b + "' -o '" + scratch_.file("b_alone.png") + "' -q");
  ASSERT_EQ(alone.code, 0) << alone.err;
  EXPECT_EQ(read_all(out_ + "/b.starry.png"), read_all(scratch_.file("b_alone.png")));
  EXPECT_EQ(load_image(out_ + "/b.starry.png").width(), 30);

  testing::write_all(out_ + "/a.starry.png", "kept");  // a rerun leaves what exists
  const CliResult again = run(batch);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("0 written, 2 skipped"), std::string::npos) << again.err;
  EXPECT_EQ(read_all(out_ + "/a.starry.png"), "kept");
  const CliResult redo = run(batch + " --overwrite -q");
  EXPECT_EQ(redo.code, 1);
  EXPECT_EQ(load_image(out_ + "/a.starry.png").width(), 36);
}

// Two photos that would share an output are refused before any work,
// naming both; a --name pattern tells them apart. {model} is the style's
// name: a vector file's without ".style.json", "blend" for several.
TEST_F(CliMagentaBatchTest, NamesFromTheStyleAndCollisionsRefused) {
  const std::string style = picture("starry.png", 40, 30, 2), other = picture("wave.png", 32, 32, 5);
  fs::create_directories(scratch_.file("in/one"));
  fs::create_directories(scratch_.file("in/two"));
  const std::string x1 = picture("in/one/x.png", 24, 24, 6), x2 = picture("in/two/x.png", 24, 24, 7);
  const CliResult refused =
      run("stylize --method magenta -s '" + style + "' --out-dir '" + out_ + "' '" + x1 + "' '" + x2 + "'");
  EXPECT_EQ(refused.code, 1);
  EXPECT_EQ(lines_of(refused.err).size(), 1u) << refused.err;
  EXPECT_NE(refused.err.find("would both be written to"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(out_ + "/x.starry.png"));

  const CliResult named = run("stylize --method magenta -s '" + style + "' --out-dir '" + out_ + "' '" + x1 + "' '" +
                              x2 + "' --name '{parent}-{name}.{model}.png' -q");
  ASSERT_EQ(named.code, 0) << named.err;
  EXPECT_EQ(files_in(out_), (std::set<std::string>{"one-x.starry.png", "two-x.starry.png"}));

  ASSERT_EQ(run("style-vector '" + style + "' -o '" + scratch_.file("starry.style.json") + "' -q").code, 0);
  const CliResult from_vector = run("stylize --method magenta -s '" + scratch_.file("starry.style.json") +
                                    "' --out-dir '" + out_ + "' '" + x1 + "' --name '{name}-{model}.png' -q");
  ASSERT_EQ(from_vector.code, 0) << from_vector.err;
  EXPECT_EQ(read_all(out_ + "/x-starry.png"), read_all(out_ + "/one-x.starry.png"));
  const CliResult blended = run("stylize --method magenta -s '" + style + "' -s '" + other +
                                "' --style-blend 1,1 --out-dir '" + out_ + "' '" + x1 + "' -q");
  ASSERT_EQ(blended.code, 0) << blended.err;
  EXPECT_TRUE(fs::exists(out_ + "/x.blend.png"));

  // -o with several photos, and an output onto a style picture, are refused.
  const CliResult two_outputs =
      run("stylize --method magenta -s '" + style + "' -o '" + scratch_.file("o.png") + "' '" + x1 + "' '" + x2 + "'");
  EXPECT_EQ(two_outputs.code, 1);
  EXPECT_NE(two_outputs.err.find("-o takes one input image"), std::string::npos) << two_outputs.err;
  const CliResult onto_style = run("stylize --method magenta -s '" + style + "' -c '" + x1 + "' -o '" + style + "'");
  EXPECT_EQ(onto_style.code, 1);
  EXPECT_EQ(lines_of(onto_style.err).size(), 1u) << onto_style.err;
}

// A --max-memory below the whole pass's estimate runs in tiles (said on
// the progress stream) with the same picture.
TEST_F(CliMagentaBatchTest, MaxMemoryRunsInTilesWithTheSameResult) {
  const std::string style = picture("starry.png", 40, 30, 2), photo = picture("in/large.png", 800, 600, 8);
  const TilingPlan plan = plan_magenta_tiling(600, 800, int64_t{450} << 20);
  ASSERT_GT(plan.tile, 0);
  const CliResult tiled = run("stylize --method magenta -s '" + style + "' -c '" + photo + "' -o '" +
                              scratch_.file("tiled.png") + "' --max-memory 450M --json");
  ASSERT_EQ(tiled.code, 0) << tiled.err;
  EXPECT_NE(tiled.out.find("\"tile\":" + std::to_string(plan.tile)), std::string::npos) << tiled.out;
  const CliResult whole = run("stylize --method magenta -s '" + style + "' -c '" + photo + "' -o '" +
                              scratch_.file("whole.png") + "' --json");
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_EQ(whole.out.find("\"tile\""), std::string::npos) << whole.out;
  double max_difference = 0;
  cv::minMaxLoc(cv::Mat(cv::abs(load_image(scratch_.file("tiled.png")).rgb - load_image(scratch_.file("whole.png")).rgb))
                    .reshape(1),
                nullptr, &max_difference);
  EXPECT_LE(max_difference, 1.0 / 255 + 1e-6);  // at most one 8-bit step of rounding
}

}  // namespace cli_magenta_batch_test
}  // namespace atelier
