// End to end tests of `atelier stylize --model` and `atelier models import`
// with a random-weight pytorch/examples network on small images.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <set>

#include "models/fast_style.hpp"
#include "atelier/image.hpp"
#include "atelier/safetensors.hpp"
#include "random_style_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;
using testing::lines_of;
using testing::read_all;
using testing::write_all;

constexpr std::uint64_t kSeed = 1;

class CliFastStylizeTest : public ::testing::Test {
 protected:
  CliFastStylizeTest() {
    testing::write_random_style_network(model_, kSeed);
    fs::create_directories(inputs_);
    fs::create_directories(outputs_);
  }

  std::string write_input(const std::string& name, int width, int height, bool alpha = false) const {
    cv::Mat rgb(height, width, CV_32FC3);
    cv::randu(rgb, 0.0, 1.0);
    Image image{rgb, {}};
    if (alpha) image.alpha = cv::Mat(height, width, CV_32FC1, cv::Scalar(0.25));
    const std::string path = inputs_ + "/" + name;
    save_image(image, path);
    return path;
  }

  CliResult run(const std::string& arguments) const {
    const bool stylize = arguments.rfind("stylize", 0) == 0;
    return testing::run_atelier(scratch_, arguments + (stylize ? " --threads 1" : ""));
  }

  testing::ScratchDir scratch_;
  const std::string model_ = scratch_.file("random.safetensors");
  const std::string inputs_ = scratch_.file("in");
  const std::string outputs_ = scratch_.file("out");
};

// Issue 3, acceptance 3: one corrupt file among 20 is reported and skipped,
// the exit code says so, and a rerun skips the 19 finished outputs.
TEST_F(CliFastStylizeTest, BatchWithACorruptFileAndARerun) {
  std::string inputs;
  for (int i = 0; i < 20; ++i) {
    const std::string name = "image" + std::to_string(100 + i) + ".png";
    if (i == 9) {
      write_all(inputs_ + "/" + name, "not a png at all");
      inputs += " " + inputs_ + "/" + name;
    } else {
      inputs += " " + write_input(name, 24, 20);
    }
  }
  const CliResult first = run("stylize --model " + model_ + inputs + " --out-dir " + outputs_);
  EXPECT_EQ(first.code, 1);
  size_t error_lines = 0;
  for (const auto& line : lines_of(first.err))
    if (line.rfind("atelier: error: ", 0) == 0) {
      ++error_lines;
      EXPECT_NE(line.find("image109.png"), std::string::npos) << line;
    }
  EXPECT_EQ(error_lines, 1u) << first.err;
  EXPECT_NE(first.err.find("19 written, 0 skipped"), std::string::npos) << first.err;
  std::set<std::string> outputs;
  for (const auto& entry : fs::directory_iterator(outputs_)) outputs.insert(entry.path().filename().string());
  EXPECT_EQ(outputs.size(), 19u);
  EXPECT_TRUE(outputs.count("image100.random.png"));
  EXPECT_FALSE(outputs.count("image109.random.png"));

  const CliResult again = run("stylize --model " + model_ + inputs + " --out-dir " + outputs_);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("0 written, 19 skipped"), std::string::npos) << again.err;
}

// --name chooses the output names (and so the format); a pattern without
// {name} would send every input to one file and is refused.
TEST_F(CliFastStylizeTest, NamePattern) {
  const std::string input = write_input("photo.png", 24, 24);
  const CliResult named = run("stylize --model " + model_ + " " + input + " --out-dir " + outputs_ +
                              " --name '{model}-{name}.jpg' -q");
  ASSERT_EQ(named.code, 0) << named.err;
  EXPECT_TRUE(fs::exists(outputs_ + "/random-photo.jpg"));
  const CliResult refused = run("stylize --model " + model_ + " " + input + " --out-dir " + outputs_ +
                                " --name 'same.png' -q");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("needs {name}"), std::string::npos) << refused.err;
}

// Sizes that are not multiples of 4 keep their size; alpha is carried.
TEST_F(CliFastStylizeTest, OutputKeepsSizeAndAlpha) {
  const std::string input = write_input("odd.png", 30, 22, /*alpha=*/true);
  const std::string output = outputs_ + "/odd.png";
  const CliResult result = run("stylize --model " + model_ + " " + input + " -o " + output + " -q");
  ASSERT_EQ(result.code, 0) << result.err;
  const Image out = load_image(output);
  EXPECT_EQ(out.width(), 30);
  EXPECT_EQ(out.height(), 22);
  ASSERT_TRUE(out.has_alpha());
  EXPECT_NEAR(cv::mean(out.alpha)[0], 0.25, 1.0 / 255);
}

// --strength 0 gives the photo back; 1 (the default) does not.
TEST_F(CliFastStylizeTest, StrengthBlendsWithThePhoto) {
  const std::string input = write_input("photo.png", 24, 24);
  ASSERT_EQ(run("stylize --model " + model_ + " " + input + " -o " + outputs_ + "/zero.png --strength 0 -q").code, 0);
  ASSERT_EQ(run("stylize --model " + model_ + " " + input + " -o " + outputs_ + "/full.png -q").code, 0);
  cv::Mat difference;
  cv::absdiff(load_image(outputs_ + "/zero.png").rgb, load_image(input).rgb, difference);
  EXPECT_LT(cv::mean(difference)[0], 1.0 / 255);
  cv::absdiff(load_image(outputs_ + "/full.png").rgb, load_image(input).rgb, difference);
  EXPECT_GT(cv::mean(difference)[0], 0.02);
}

// A .pth checkpoint imported to safetensors stylises identically.
TEST_F(CliFastStylizeTest, ImportedCheckpointGivesIdenticalOutput) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [key, tensor] : testing::random_style_weights(FastStyleArchitecture::PytorchExamples, kSeed)) dict.insert(key, tensor);
  dict.insert("in1.running_mean", torch::zeros({32}));  // as old pytorch/examples checkpoints have
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_all(scratch_.file("random.pth"), std::string(bytes.begin(), bytes.end()));
  const std::string imported = scratch_.file("imported.safetensors");
  const CliResult import = run("models import " + scratch_.file("random.pth") + " -o " + imported + " -q");
  ASSERT_EQ(import.code, 0) << import.err;
  const SafetensorsFile written = SafetensorsFile::open(imported);
  EXPECT_EQ(written.metadata_value("title"), "Random");  // the checkpoint's name, made readable
  EXPECT_EQ(written.metadata_value("family"), "pytorch-examples");

  const std::string input = write_input("photo.png", 24, 24);
  ASSERT_EQ(run("stylize --model " + model_ + " " + input + " -o " + outputs_ + "/a.png -q").code, 0);
  ASSERT_EQ(run("stylize --model " + imported + " " + input + " -o " + outputs_ + "/b.png -q").code, 0);
  ASSERT_EQ(run("stylize --model " + scratch_.file("random.pth") + " " + input + " -o " + outputs_ + "/c.png -q").code, 0);
  EXPECT_EQ(read_all(outputs_ + "/a.png"), read_all(outputs_ + "/b.png"));
  EXPECT_EQ(read_all(outputs_ + "/a.png"), read_all(outputs_ + "/c.png"));
}

// A --max-memory below what a whole pass needs makes it run in tiles (said
// on the progress stream) with the same result.
TEST_F(CliFastStylizeTest, MaxMemoryRunsInTilesWithTheSameResult) {
  const std::string input = write_input("large.png", 600, 400);
  const CliResult tiled = run("stylize --model " + model_ + " " + input + " -o " + outputs_ + "/tiled.png --json " +
                              "--max-memory 500M");
  ASSERT_EQ(tiled.code, 0) << tiled.err;
  EXPECT_NE(tiled.out.find("\"tile\":256"), std::string::npos) << tiled.out;
  const CliResult whole = run("stylize --model " + model_ + " " + input + " -o " + outputs_ + "/whole.png --json");
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_EQ(whole.out.find("\"tile\""), std::string::npos) << whole.out;
  double max_difference = 0;
  cv::minMaxLoc(cv::Mat(cv::abs(load_image(outputs_ + "/tiled.png").rgb - load_image(outputs_ + "/whole.png").rgb))
                    .reshape(1),
                nullptr, &max_difference);
  EXPECT_LE(max_difference, 1.0 / 255 + 1e-6);  // at most one 8-bit step of rounding
}

TEST_F(CliFastStylizeTest, MisuseIsAOneLineError) {
  const std::string input = write_input("photo.png", 24, 24);
  write_all(scratch_.file("garbage.pth"), "PK but not really a checkpoint");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"stylize --model " + model_ + " " + input + " " + input + " -o " + outputs_ + "/x.png", "one input"},
      {"stylize --model " + model_ + " " + input + " -s " + input + " -o " + outputs_ + "/x.png", "--style"},
      {"stylize --model " + model_ + " " + input, "-o OUTPUT or --out-dir"},
      {"stylize --model nosuch " + input + " -o " + outputs_ + "/x.png", "no weights named \"nosuch\""},
      {"stylize --model " + model_ + " " + input + " -o " + outputs_ + "/x.png --max-memory 4X", "memory size \"4X\""},
      {"stylize --model " + model_ + " " + input + " -o " + outputs_ + "/x.png --max-memory 1M -q", "even in tiles"},
      {"models import " + scratch_.file("garbage.pth") + " -o " + outputs_ + "/x.safetensors", "garbage.pth"},
  };
  for (const auto& [arguments, needle] : cases) {
    const CliResult result = run(arguments);
    EXPECT_EQ(result.code, 1) << arguments;
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << arguments << "\n" << result.err;
    EXPECT_EQ(lines[0].rfind("atelier: error: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
  }
  EXPECT_TRUE(fs::is_empty(outputs_));
}

// Issue 13: `models import x.pth -o x.pth` destroyed its source; an
// existing output was replaced silently; any extension was taken.
TEST_F(CliFastStylizeTest, ImportProtectsItsSourceAndExistingFiles) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [key, tensor] : testing::random_style_weights(FastStyleArchitecture::PytorchExamples, kSeed)) dict.insert(key, tensor);
  const std::vector<char> bytes = torch::pickle_save(dict);
  const std::string source = scratch_.file("x.pth");
  write_all(source, std::string(bytes.begin(), bytes.end()));
  fs::create_symlink(source, scratch_.file("link.safetensors"));
  const std::string existing = outputs_ + "/existing.safetensors";
  write_all(existing, "keep me");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"models import " + source + " -o " + source, "it is the input"},
      {"models import " + source + " -o " + scratch_.file("link.safetensors") + " --force", "it is the input"},
      {"models import " + source + " -o " + outputs_ + "/x.png", ".safetensors"},
      {"models import " + source + " -o " + existing, "--force"},
  };
  for (const auto& [arguments, needle] : cases) {
    const CliResult result = run(arguments);
    EXPECT_EQ(result.code, 1) << arguments;
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << arguments << "\n" << result.err;
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
  }
  EXPECT_EQ(read_all(source), std::string(bytes.begin(), bytes.end()));
  EXPECT_EQ(read_all(existing), "keep me");
  EXPECT_FALSE(fs::exists(outputs_ + "/x.png"));
  const CliResult forced = run("models import " + source + " -o " + existing + " --force -q");
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(read_all(existing), "keep me");
}

// Issue 13: -o naming the input itself (another spelling, a link) replaced it.
TEST_F(CliFastStylizeTest, OutputThatIsTheInputIsRefused) {
  const std::string input = write_input("photo.png", 24, 20);
  const std::string before = read_all(input);
  fs::create_symlink(input, scratch_.file("alias.png"));
  for (const std::string& output : {inputs_ + "/./photo.png", scratch_.file("alias.png")}) {
    const CliResult result = run("stylize --model " + model_ + " " + input + " -o " + output);
    EXPECT_EQ(result.code, 1) << output;
    EXPECT_NE(result.err.find("it is the input"), std::string::npos) << result.err;
  }
  // The same through --out-dir and a --name that gives the input's own name.
  const CliResult batch = run("stylize --model " + model_ + " " + input + " --out-dir " + inputs_ +
                              " --name '{name}.png' --overwrite");
  EXPECT_EQ(batch.code, 1);
  EXPECT_NE(batch.err.find("it is the input"), std::string::npos) << batch.err;
  EXPECT_EQ(read_all(input), before);
}

// Issue 13: inputs sharing a base name (a/x.jpg, b/x.jpg, a/x.png) wrote one
// output and called the others "skipped". Now the batch is refused before any
// work, naming both inputs, and a pattern with {parent} and {ext} writes
// them all; rerunning it skips all three.
TEST_F(CliFastStylizeTest, InputsSharingANameAreNeverLost) {
  fs::create_directories(inputs_ + "/a");
  fs::create_directories(inputs_ + "/b");
  const std::string inputs = " " + write_input("a/x.jpg", 24, 20) + " " + write_input("b/x.jpg", 20, 24) + " " +
                             write_input("a/x.png", 16, 16);
  const CliResult refused = run("stylize --model " + model_ + inputs + " --out-dir " + outputs_);
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("a/x.jpg and " + inputs_ + "/b/x.jpg would both be written to"), std::string::npos)
      << refused.err;
  EXPECT_TRUE(fs::is_empty(outputs_));

  const std::string named = "stylize --model " + model_ + inputs + " --out-dir " + outputs_ + " --name '{parent}-{name}.{ext}.png'";
  const CliResult written = run(named);
  ASSERT_EQ(written.code, 0) << written.err;
  EXPECT_NE(written.err.find("3 written, 0 skipped"), std::string::npos) << written.err;
  for (const char* name : {"a-x.jpg.png", "b-x.jpg.png", "a-x.png.png"})
    EXPECT_TRUE(fs::exists(outputs_ + "/" + name)) << name;
  const CliResult again = run(named);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("0 written, 3 skipped"), std::string::npos) << again.err;

  // The same file given twice is stylised once, not refused.
  const CliResult twice = run("stylize --model " + model_ + " " + inputs_ + "/a/x.jpg " + inputs_ +
                              "/a/../a/x.jpg --out-dir " + outputs_ + " --overwrite");
  EXPECT_EQ(twice.code, 0) << twice.err;
  EXPECT_NE(twice.err.find("1 written"), std::string::npos) << twice.err;
}

// Issue 13: weights full of NaN painted a black picture with exit 0. They are
// refused at load, naming the tensor, for .safetensors and .pth alike.
TEST_F(CliFastStylizeTest, WeightsWithNanAreRefusedNamingTheTensor) {
  auto weights = testing::random_style_weights(FastStyleArchitecture::PytorchExamples, kSeed);
  const std::string damaged = std::prev(weights.end())->first;
  weights[damaged].fill_(std::numeric_limits<float>::quiet_NaN());
  std::map<std::string, TensorToWrite> tensors;
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [key, tensor] : weights) {
    TensorToWrite entry;
    entry.shape = tensor.sizes().vec();
    entry.values.assign(tensor.data_ptr<float>(), tensor.data_ptr<float>() + tensor.numel());
    tensors[key] = entry;
    dict.insert(key, tensor);
  }
  write_safetensors(scratch_.file("nan.safetensors"), tensors, {});
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_all(scratch_.file("nan.pth"), std::string(bytes.begin(), bytes.end()));
  const std::string input = write_input("photo.png", 24, 20);
  for (const std::string& model : {scratch_.file("nan.safetensors"), scratch_.file("nan.pth")}) {
    const CliResult result = run("stylize --model " + model + " " + input + " -o " + outputs_ + "/x.png");
    EXPECT_EQ(result.code, 1) << model;
    EXPECT_NE(result.err.find("tensor " + damaged + " holds NaN"), std::string::npos) << result.err;
  }
  EXPECT_TRUE(fs::is_empty(outputs_));
}

// Issue 13: a truncated JPEG or PNG decoded partially (grey below the cut)
// with exit 0. It is refused as cut short; in a batch it is the one failure.
TEST_F(CliFastStylizeTest, TruncatedPicturesAreRefused) {
  const std::string jpeg = write_input("whole.jpg", 64, 64);
  const std::string png = write_input("whole.png", 64, 64);
  const std::string jpeg_bytes = read_all(jpeg), png_bytes = read_all(png);
  write_all(inputs_ + "/cut.jpg", jpeg_bytes.substr(0, jpeg_bytes.size() * 3 / 4));
  write_all(inputs_ + "/cut.png", png_bytes.substr(0, png_bytes.size() - 12));  // IEND gone
  for (const char* name : {"cut.jpg", "cut.png"}) {
    const CliResult result = run("stylize --model " + model_ + " " + inputs_ + "/" + name + " -o " + outputs_ + "/x.png");
    EXPECT_EQ(result.code, 1) << name;
    EXPECT_NE(result.err.find("the file was cut short"), std::string::npos) << result.err;
  }
  EXPECT_TRUE(fs::is_empty(outputs_));
  const CliResult whole = run("stylize --model " + model_ + " " + jpeg + " " + png + " --out-dir " + outputs_ + " --name '{name}.{ext}.png' -q");
  EXPECT_EQ(whole.code, 0) << whole.err;
}

// Issue 13: hidden temporary files of a killed run stayed for ever, and an
// output that was a symbolic link was replaced by a file.
TEST_F(CliFastStylizeTest, StaleTemporariesGoAndLinksAreWrittenThrough) {
  const std::string input = write_input("photo.png", 24, 20);
  // Left by a process that is gone (pid 999999 is beyond pid_max's default)
  // before this run, in our exact pattern; and files that only look alike.
  write_all(outputs_ + "/.x.png.tmp-999999-123", "stale");
  fs::last_write_time(outputs_ + "/.x.png.tmp-999999-123", fs::file_time_type::clock::now() - std::chrono::hours(1));
  write_all(outputs_ + "/.x.png.tmp-notours", "keep");
  write_all(outputs_ + "/x.png.tmp-999999-1", "keep");
  ASSERT_EQ(run("stylize --model " + model_ + " " + input + " -o " + outputs_ + "/x.png -q").code, 0);
  EXPECT_FALSE(fs::exists(outputs_ + "/.x.png.tmp-999999-123"));
  EXPECT_TRUE(fs::exists(outputs_ + "/.x.png.tmp-notours"));
  EXPECT_TRUE(fs::exists(outputs_ + "/x.png.tmp-999999-1"));

  fs::create_directories(scratch_.file("elsewhere"));
  write_all(scratch_.file("elsewhere/target.png"), "old");
  fs::create_symlink("../elsewhere/target.png", outputs_ + "/link.png");
  ASSERT_EQ(run("stylize --model " + model_ + " " + input + " -o " + outputs_ + "/link.png -q").code, 0);
  EXPECT_TRUE(fs::is_symlink(outputs_ + "/link.png"));
  EXPECT_EQ(load_image(scratch_.file("elsewhere/target.png")).width(), 24);
  for (const auto& entry : fs::directory_iterator(scratch_.file("elsewhere")))
    EXPECT_EQ(entry.path().filename(), "target.png") << "no temporary file left";
}

}  // namespace
}  // namespace atelier
