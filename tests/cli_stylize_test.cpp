// End to end tests of `atelier stylize`: the built binary runs on tiny inputs
// (a random 5-convolution VGG19, a 64x48 content and a 32x32 style image) and
// its exit codes, messages and output files are checked.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "atelier/image.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;
using testing::ScratchDir;
using testing::lines_of;
using testing::read_all;
using testing::write_all;

// Names of the entries in `dir`.
std::set<std::string> entries_of(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// A grey-blue picture: a horizontal ramp with a darker square in it.
cv::Mat grey_blue_content(int width, int height) {
  cv::Mat rgb(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      float level = 0.35f + 0.3f * x / width;
      if (x > width / 4 && x < width / 2 && y > height / 4 && y < 3 * height / 4) level -= 0.2f;
      rgb.at<cv::Vec3f>(y, x) = {0.85f * level, 0.9f * level, std::min(1.0f, 1.15f * level)};
    }
  }
  return rgb;
}

// Saturated red noise: a style whose colours are far from the content's.
cv::Mat red_noise_style(int size) {
  cv::Mat noise(size, size, CV_32FC3);
  cv::RNG rng(1);
  rng.fill(noise, cv::RNG::UNIFORM, 0.0, 1.0);
  cv::Mat red;
  cv::multiply(noise, cv::Scalar(0.4, 0.1, 0.1), red);
  return red + cv::Scalar(0.6, 0.0, 0.0);
}

double mean_abs_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat difference;
  cv::absdiff(a, b, difference);
  const cv::Scalar mean = cv::mean(difference);
  return (mean[0] + mean[1] + mean[2] + mean[3]) / a.channels();
}

// Mean absolute difference of the Cr and Cb planes (float YCrCb).
double chroma_difference(const cv::Mat& rgb_a, const cv::Mat& rgb_b) {
  cv::Mat a, b;
  cv::cvtColor(rgb_a, a, cv::COLOR_RGB2YCrCb);
  cv::cvtColor(rgb_b, b, cv::COLOR_RGB2YCrCb);
  cv::Mat difference;
  cv::absdiff(a, b, difference);
  const cv::Scalar mean = cv::mean(difference);
  return (mean[1] + mean[2]) / 2;
}

class CliStylizeTest : public ::testing::Test {
 protected:
  // Flag -> value; "" for a flag without value, std::nullopt to drop a default.
  using Flags = std::map<std::string, std::optional<std::string>>;

  CliStylizeTest() {
    fs::create_directory(out_dir_);
    testing::write_tiny_vgg_file(weights_, "vgg19", 5, {{"preprocess", "caffe"}});
    save_image(Image{grey_blue_content(64, 48), {}}, content_);
    save_image(Image{red_noise_style(32), {}}, style_);
  }

  // `atelier stylize` with the tiny defaults below, `changes` applied, and
  // `extra` (repeated flags) appended.
  CliResult stylize(const Flags& changes = {}, const std::string& extra = "") const {
    return testing::run_atelier(scratch_, stylize_arguments(changes, extra));
  }

  std::string stylize_arguments(const Flags& changes = {}, const std::string& extra = "") const {
    Flags flags = {{"--content", content_},
                   {"--style", style_},
                   {"--output", output()},
                   {"--weights", weights_},
                   {"--size", "32"},
                   {"--iterations", "5"},
                   {"--style-layers", "relu1_1,relu2_1"},
                   {"--content-layers", "relu2_2"},
                   {"--threads", "1"},
                   {"--quiet", ""}};
    for (const auto& [flag, value] : changes) flags[flag] = value;
    std::string arguments = "stylize";
    for (const auto& [flag, value] : flags)
      if (value) arguments += " " + flag + (value->empty() ? "" : " '" + *value + "'");
    return arguments + " " + extra;
  }

  // Runs with `changes`, expects success, returns the output image.
  Image stylized(const Flags& changes = {}, const std::string& extra = "") const {
    const CliResult run = stylize(changes, extra);
    EXPECT_EQ(run.code, 0) << run.err;
    return load_image(output());
  }

  // The error contract: exit 1, nothing on stdout, exactly one stderr line
  // "atelier: error: ..." containing `needle` (runs are --quiet, so nothing
  // else may appear there), and nothing written, temporary files included.
  void expect_clean_failure(const CliResult& run, const std::string& needle) const {
    EXPECT_EQ(run.code, 1) << run.err;
    EXPECT_EQ(run.out, "");
    const auto lines = lines_of(run.err);
    ASSERT_EQ(lines.size(), 1u) << run.err;
    EXPECT_EQ(lines[0].rfind("atelier: error: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(needle), std::string::npos) << "expected \"" << needle << "\" in: " << lines[0];
    EXPECT_EQ(entries_of(out_dir_), std::set<std::string>{}) << "left in the output directory";
  }

  // The content as the CLI sees it at --size 32.
  Image content_at_32() const { return resize_longest_side(load_image(content_), 32); }

  std::string output() const { return out_dir_ + "/out.png"; }

  ScratchDir scratch_;
  const std::string out_dir_ = scratch_.file("out");
  const std::string weights_ = scratch_.file("tiny.safetensors");
  const std::string content_ = scratch_.file("content.png");
  const std::string style_ = scratch_.file("style.png");
};

// A run succeeds silently under --quiet, at the requested size, with a
// changed image and no stray files.
TEST_F(CliStylizeTest, WritesStylizedImageAtRequestedSize) {
  const CliResult run = stylize();
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(entries_of(out_dir_), std::set<std::string>{"out.png"});
  const Image result = load_image(output());
  EXPECT_EQ(result.width(), 32);
  EXPECT_EQ(result.height(), 24);
  EXPECT_GT(mean_abs_difference(result.rgb, content_at_32().rgb), 0.01);
}

// --- Bad input: one error line naming the problem, nothing written. ---

TEST_F(CliStylizeTest, MissingContentFile) {
  expect_clean_failure(stylize({{"--content", scratch_.file("absent.png")}}), "absent.png: no such file");
}

TEST_F(CliStylizeTest, TextFileNamedPng) {
  write_all(scratch_.file("text.png"), "this is not an image\n");
  expect_clean_failure(stylize({{"--content", scratch_.file("text.png")}}), "not an image");
}

TEST_F(CliStylizeTest, EmptyImageFile) {
  write_all(scratch_.file("empty.png"), "");
  expect_clean_failure(stylize({{"--style", scratch_.file("empty.png")}}), "empty file");
}

TEST_F(CliStylizeTest, ImageOverPixelLimit) {
  expect_clean_failure(stylize({{"--max-pixels", "100"}}), "image too large");
}

TEST_F(CliStylizeTest, UnknownLayer) {
  expect_clean_failure(stylize({{"--style-layers", "relu9_9"}}), "unknown layer \"relu9_9\"");
}

TEST_F(CliStylizeTest, LayerBeyondTheWeights) {
  const CliResult run = stylize({{"--content-layers", "relu4_2"}});
  expect_clean_failure(run, "relu4_2");
  EXPECT_NE(run.err.find("layers present"), std::string::npos) << run.err;
}

TEST_F(CliStylizeTest, TruncatedWeights) {
  const std::string bytes = read_all(weights_);
  write_all(scratch_.file("truncated.safetensors"), bytes.substr(0, bytes.size() / 2));
  const CliResult run = stylize({{"--weights", scratch_.file("truncated.safetensors")}});
  expect_clean_failure(run, "truncated.safetensors: ");
  EXPECT_NE(run.err.find("truncated data"), std::string::npos) << run.err;
}

TEST_F(CliStylizeTest, OutputInMissingDirectory) {
  expect_clean_failure(stylize({{"--output", scratch_.file("missing/out.png")}}), "does not exist");
  EXPECT_FALSE(fs::exists(scratch_.file("missing")));
}

TEST_F(CliStylizeTest, OutputWithUnknownExtension) {
  expect_clean_failure(stylize({{"--output", out_dir_ + "/out.xyz"}}), "unknown image extension");
}

// Output problems that save_image would only meet at the end are caught
// before the optimisation starts: no progress is ever reported.
TEST_F(CliStylizeTest, SixteenBitJpegFailsBeforeOptimising) {
  const CliResult run = stylize({{"--output", out_dir_ + "/out.jpg"}, {"--bit-depth", "16"}, {"--quiet", std::nullopt},
                                 {"--json", ""}, {"--iterations", "100000"}});
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.out.find("\"progress\""), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("16-bit output is supported for PNG and TIFF only"), std::string::npos) << run.err;
  EXPECT_TRUE(entries_of(out_dir_).empty());
}

TEST_F(CliStylizeTest, OutputThatIsADirectory) {
  fs::create_directory(out_dir_ + "/taken.png");
  const CliResult run = stylize({{"--output", out_dir_ + "/taken.png"}});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("is a directory"), std::string::npos) << run.err;
  EXPECT_EQ(entries_of(out_dir_), std::set<std::string>{"taken.png"});
}

// Ctrl-C stops with a checkpoint and exit code 130; the same command with
// --resume carries on from there and removes the checkpoint when done.
TEST_F(CliStylizeTest, InterruptThenResume) {
  const Flags flags = {{"--iterations", "2000"}, {"--checkpoint-every", "0"}, {"--quiet", std::nullopt}, {"--json", ""}};
  const std::string command = "env -u ATELIER_MODELS " + std::string(ATELIER_CLI_PATH) + " " +
                              stylize_arguments(flags);
  const std::string progress_file = scratch_.file("progress.jsonl");
  // Start it, wait (bounded) for the first progress line, then send SIGINT.
  const int code = testing::run_command("{ " + command + " >" + progress_file + " 2>/dev/null & pid=$!; " +
                                        "for i in $(seq 1 400); do grep -q '\"progress\"' " + progress_file +
                                        " && break; sleep 0.05; done; kill -INT $pid; wait $pid; }");
  ASSERT_EQ(code, 130);
  const std::string checkpoint = output() + ".checkpoint.safetensors";
  ASSERT_TRUE(fs::exists(checkpoint));
  EXPECT_FALSE(fs::exists(output()));

  const CliResult resumed = stylize(flags, "--resume");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  int first_iteration = 0;
  for (const auto& line : lines_of(resumed.out)) {
    const auto event = nlohmann::json::parse(line);
    if (event["event"] == "progress") {
      first_iteration = event["iteration"];
      break;
    }
  }
  EXPECT_GT(first_iteration, 1) << "the resumed run starts after the checkpoint";
  EXPECT_TRUE(fs::exists(output()));
  EXPECT_FALSE(fs::exists(checkpoint));
}

// A checkpoint is only resumed by the command that wrote it.
TEST_F(CliStylizeTest, ResumeRefusesAnotherJobsCheckpoint) {
  const std::string checkpoint = output() + ".checkpoint.safetensors";
  write_safetensors(checkpoint, {{"image", TensorToWrite{DType::F32, {24, 32, 3}, std::vector<float>(24 * 32 * 3, 0.5f)}}},
                    {{"job", "{\"content\":\"another.png\"}"}, {"scale_index", "0"}, {"iteration", "1"}});
  const CliResult run = stylize({}, "--resume");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("was written by a different command"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(output()));
  fs::remove(checkpoint);
  expect_clean_failure(stylize({}, "--resume"), "no checkpoint");
}

TEST_F(CliStylizeTest, WeightsNameNotInstalled) {
  fs::create_directory(scratch_.file("models"));
  const CliResult run = stylize({{"--weights", "nosuch"}, {"--models-dir", scratch_.file("models")}});
  expect_clean_failure(run, "no weights named \"nosuch\"");
  EXPECT_NE(run.err.find(scratch_.file("models")), std::string::npos) << "should list the directories searched";
}

TEST_F(CliStylizeTest, CudaDeviceWithoutCuda) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  expect_clean_failure(stylize({{"--device", "cuda"}}), "--device cuda");
}

TEST_F(CliStylizeTest, BadPostSpec) {
  expect_clean_failure(stylize({}, "--post blur:3"), "bad post-processing step 'blur:3'");
}

TEST_F(CliStylizeTest, StyleBlendCountMismatch) {
  expect_clean_failure(stylize({{"--style-blend", "1,2"}}), "--style-blend has 2 weights for 1 style images");
}

// A loss that overflows to inf at the first evaluation: exit 3, one error
// line, and the last finite image (the start: the resized content) saved.
TEST_F(CliStylizeTest, NonFiniteLossKeepsLastGoodImage) {
  const CliResult run = stylize({{"--style-weight", "1e39"}});
  EXPECT_EQ(run.code, 3) << run.err;
  const auto lines = lines_of(run.err);
  ASSERT_EQ(lines.size(), 1u) << run.err;
  EXPECT_EQ(lines[0].rfind("atelier: error: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("NaN"), std::string::npos) << lines[0];
  EXPECT_EQ(entries_of(out_dir_), std::set<std::string>{"out.png"});
  const Image saved = load_image(output());
  const Image expected = content_at_32();
  ASSERT_EQ(saved.rgb.size(), expected.rgb.size());
  EXPECT_LE(cv::norm(saved.rgb, expected.rgb, cv::NORM_INF), 1.0 / 255 + 1e-6);
}

// --original-colors keeps the content's chroma; without it the red style's
// chroma comes through.
TEST_F(CliStylizeTest, OriginalColorsKeepContentChroma) {
  const cv::Mat content = content_at_32().rgb;
  const Flags strong = {{"--iterations", "20"}, {"--style-weight", "1e5"}, {"--tv-weight", "0"}};
  const cv::Mat painted = stylized(strong).rgb;
  Flags keep = strong;
  keep["--original-colors"] = "";
  const cv::Mat kept = stylized(keep).rgb;
  EXPECT_GT(chroma_difference(painted, content), 0.03);
  EXPECT_LT(chroma_difference(kept, content), 0.01);
  EXPECT_GT(mean_abs_difference(kept, content), 0.01) << "the luminance should still be stylized";
}

// Runs are deterministic, and each --post step changes the result.
TEST_F(CliStylizeTest, PostStepsChangeTheOutput) {
  ASSERT_EQ(stylize().code, 0);
  const std::string plain_bytes = read_all(output());
  ASSERT_EQ(stylize().code, 0);
  ASSERT_EQ(read_all(output()), plain_bytes) << "two identical runs should give identical files";
  const cv::Mat plain = load_image(output()).rgb;

  for (const std::string spec : {"hist:style", "lab:content", "unsharp:2", "guided", "denoise:10"}) {
    SCOPED_TRACE(spec);
    const cv::Mat post = stylized({}, "--post " + spec).rgb;
    EXPECT_GT(mean_abs_difference(post, plain), 1e-3);
    if (spec == "hist:style") {
      // Histogram matching gives the style's per-channel means.
      const cv::Scalar style_mean = cv::mean(load_image(style_).rgb);
      const cv::Scalar post_mean = cv::mean(post), plain_mean = cv::mean(plain);
      for (int c = 0; c < 3; ++c) {
        EXPECT_LT(std::abs(post_mean[c] - style_mean[c]), 0.01) << "channel " << c;
        EXPECT_LT(std::abs(post_mean[c] - style_mean[c]), std::abs(plain_mean[c] - style_mean[c])) << "channel " << c;
      }
    }
  }
}

// --save-every 2 over 5 iterations: snapshots at 2 and 4 beside the output.
TEST_F(CliStylizeTest, SaveEveryWritesNumberedSnapshots) {
  const CliResult run = stylize({{"--save-every", "2"}});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(entries_of(out_dir_), (std::set<std::string>{"out.png", "out.iter0002.png", "out.iter0004.png"}));
  EXPECT_EQ(load_image(out_dir_ + "/out.iter0002.png").width(), 32);
}

// --json: one JSON object per stdout line, progress for every iteration,
// and a final event naming the output.
TEST_F(CliStylizeTest, JsonProgressIsOneObjectPerLine) {
  const CliResult run = stylize({{"--quiet", std::nullopt}, {"--json", ""}});
  ASSERT_EQ(run.code, 0) << run.err;
  std::vector<nlohmann::json> events;
  for (const auto& line : lines_of(run.out)) {
    try {
      events.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& error) {
      FAIL() << "not JSON: " << line << " (" << error.what() << ")";
    }
  }
  std::vector<int> iterations;
  for (const auto& event : events) {
    if (event.value("event", "") != "progress") continue;
    ASSERT_TRUE(event.contains("loss")) << event.dump();
    EXPECT_TRUE(event["loss"].is_number()) << event.dump();
    iterations.push_back(event.at("iteration").get<int>());
  }
  EXPECT_EQ(iterations, (std::vector<int>{1, 2, 3, 4, 5}));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().value("output", ""), output()) << events.back().dump();
}

// --scales: coarse to fine, the last scale (not --size) sets the output size.
TEST_F(CliStylizeTest, ScalesEndAtTheLastScale) {
  const Image result = stylized({{"--scales", "16,32"}, {"--size", "64"}});
  EXPECT_EQ(result.width(), 32);
  EXPECT_EQ(result.height(), 24);
}

// --scales auto: coarse to fine from --size (160: 128 then 160), the
// coarse scale for --coarse-iterations, the last for -n; progress counts both.
TEST_F(CliStylizeTest, AutoScalesGrowToTheSizeWithFewerCoarseIterations) {
  const CliResult run =
      stylize({{"--scales", "auto"}, {"--size", "160"}, {"--coarse-iterations", "2"}, {"--json", ""}});
  ASSERT_EQ(run.code, 0) << run.err;
  std::vector<std::pair<int, int>> steps;  // (scale, iteration)
  for (const auto& line : lines_of(run.out)) {
    const auto event = nlohmann::json::parse(line);
    if (event.value("event", "") != "progress") continue;
    EXPECT_EQ(event.at("scales").get<int>(), 2) << event.dump();
    steps.emplace_back(event.at("scale").get<int>(), event.at("iteration").get<int>());
  }
  const std::vector<std::pair<int, int>> expected = {{1, 1}, {1, 2}, {2, 1}, {2, 2}, {2, 3}, {2, 4}, {2, 5}};
  EXPECT_EQ(steps, expected);
  EXPECT_EQ(load_image(output()).width(), 160);
}

// --optimizer adam takes another path than the default L-BFGS.
TEST_F(CliStylizeTest, AdamDiffersFromLbfgs) {
  const cv::Mat lbfgs = stylized().rgb;
  const cv::Mat adam = stylized({{"--optimizer", "adam"}, {"--lr", "0.05"}}).rgb;
  EXPECT_GT(mean_abs_difference(adam, lbfgs), 1e-3);
}

// --init noise is reproducible by seed, and the seed matters.
TEST_F(CliStylizeTest, NoiseInitFollowsSeed) {
  const Flags noise = {{"--init", "noise"}, {"--seed", "3"}};
  ASSERT_EQ(stylize(noise).code, 0);
  const std::string first = read_all(output());
  ASSERT_EQ(stylize(noise).code, 0);
  EXPECT_EQ(read_all(output()), first);
  const cv::Mat seed3 = load_image(output()).rgb;
  const cv::Mat seed4 = stylized({{"--init", "noise"}, {"--seed", "4"}}).rgb;
  EXPECT_GT(mean_abs_difference(seed3, seed4), 0.01);
}

// An RGBA content gives an RGBA output carrying the content's alpha.
TEST_F(CliStylizeTest, AlphaIsCarriedToTheOutput) {
  cv::Mat alpha(48, 64, CV_32FC1);
  for (int y = 0; y < alpha.rows; ++y)
    for (int x = 0; x < alpha.cols; ++x) alpha.at<float>(y, x) = (x < 32 ? 0.2f : 0.9f) + 0.1f * y / alpha.rows;
  save_image(Image{grey_blue_content(64, 48), alpha}, scratch_.file("rgba.png"));
  const Image result = stylized({{"--content", scratch_.file("rgba.png")}});
  ASSERT_TRUE(result.has_alpha());
  const Image expected = resize_longest_side(load_image(scratch_.file("rgba.png")), 32);
  ASSERT_EQ(result.alpha.size(), expected.alpha.size());
  EXPECT_LE(cv::norm(result.alpha, expected.alpha, cv::NORM_INF), 1.0 / 255 + 1e-6);
}

// --bit-depth 16 writes 16-bit PNG samples with more than 8 bits of precision.
TEST_F(CliStylizeTest, SixteenBitPng) {
  const CliResult run = stylize({{"--bit-depth", "16"}});
  ASSERT_EQ(run.code, 0) << run.err;
  const cv::Mat samples = cv::imread(output(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(samples.depth(), CV_16U);
  int beyond_8_bits = 0;
  for (auto it = samples.begin<cv::Vec3w>(); it != samples.end<cv::Vec3w>(); ++it)
    for (int c = 0; c < 3; ++c) beyond_8_bits += (*it)[c] % 257 != 0;
  EXPECT_GT(beyond_8_bits, 0) << "every sample is an 8-bit value scaled up";
}

}  // namespace
}  // namespace atelier
