// End to end tests of `atelier gan` with tiny networks and generated data:
// train/sample/walk outputs, exact resume, reproducible sampling, two
// processes in step, bad input, divergence, and eval.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "atelier/image.hpp"
#include "train/training.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;

// An IDX file of `count` 28x28 images: a bright disc at a random place.
void write_idx(const std::string& path, int count) {
  std::ofstream out(path, std::ios::binary);
  const unsigned char header[4] = {0, 0, 0x08, 3};
  out.write(reinterpret_cast<const char*>(header), 4);
  for (int dim : {count, 28, 28}) {
    const unsigned char bytes[4] = {static_cast<unsigned char>(dim >> 24), static_cast<unsigned char>(dim >> 16),
                                    static_cast<unsigned char>(dim >> 8), static_cast<unsigned char>(dim)};
    out.write(reinterpret_cast<const char*>(bytes), 4);
  }
  cv::RNG rng(5);
  for (int i = 0; i < count; ++i) {
    cv::Mat image(28, 28, CV_8UC1, cv::Scalar(0));
    cv::circle(image, {rng.uniform(6, 22), rng.uniform(6, 22)}, rng.uniform(3, 7), cv::Scalar(255), -1);
    out.write(reinterpret_cast<const char*>(image.data), 28 * 28);
  }
}

class CliGanTest : public ::testing::Test {
 protected:
  CliGanTest() { write_idx(idx_, 64); }

  // Tiny networks, one thread, checkpoints and samples every 2 steps.
  std::string train(const std::string& output, const std::string& extra) const {
    return "gan train --data " + idx_ + " -o " + output +
           " --size 32 --batch-size 8 --latent 16 --g-width 4 --d-width 4 --threads 1 --checkpoint-every 2 "
           "--sample-every 2 -q " +
           extra;
  }
  CliResult run(const std::string& arguments) const { return testing::run_atelier(scratch_, arguments); }

  testing::ScratchDir scratch_;
  const std::string idx_ = scratch_.file("discs-idx3-ubyte");
};

TEST_F(CliGanTest, TrainWritesModelCheckpointLogsAndSamples) {
  const std::string model = scratch_.file("gan.safetensors");
  const CliResult trained = run(train(model, "--steps 2 --r1 0.1"));
  ASSERT_EQ(trained.code, 0) << trained.err;
  for (const char* suffix : {"", ".checkpoint.safetensors", ".losses.csv", ".losses.png", ".samples/step_000000.png",
                             ".samples/step_000002.png"})
    EXPECT_TRUE(fs::exists(model + suffix)) << suffix;
  std::map<std::string, std::string> metadata;
  const NamedTensors weights = load_tensors(model, &metadata);
  EXPECT_EQ(metadata["channels"], "1");
  EXPECT_EQ(metadata["image_size"], "32");
  EXPECT_NE(metadata["training"].find("\"steps\":2"), std::string::npos) << metadata["training"];
  EXPECT_TRUE(weights.count("bn1.running_mean"));
  EXPECT_EQ(testing::lines_of(testing::read_all(model + ".losses.csv")).size(), 3u);  // header + 2 steps
}

TEST_F(CliGanTest, ResumeIsExact) {
  const std::string straight = scratch_.file("straight.safetensors"), split = scratch_.file("split.safetensors");
  ASSERT_EQ(run(train(straight, "--steps 4")).code, 0);
  ASSERT_EQ(run(train(split, "--steps 2")).code, 0);
  const CliResult resumed = run(train(split, "--steps 4 --resume"));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const NamedTensors a = load_tensors(straight + ".checkpoint.safetensors"),
                     b = load_tensors(split + ".checkpoint.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  EXPECT_EQ(testing::read_all(straight + ".losses.csv"), testing::read_all(split + ".losses.csv"));
}

TEST_F(CliGanTest, SamplingIsReproducibleAndWalkWritesTheFrames) {
  const std::string model = scratch_.file("gan.safetensors");
  ASSERT_EQ(run(train(model, "--steps 2")).code, 0);
  const std::string common = "gan sample --model " + model + " --threads 1 -q ";
  ASSERT_EQ(run(common + "-n 6 --seed 3 --grid " + scratch_.file("a.png")).code, 0);
  ASSERT_EQ(run(common + "-n 6 --seed 3 --grid " + scratch_.file("b.png")).code, 0);
  ASSERT_EQ(run(common + "-n 6 --seed 4 --grid " + scratch_.file("c.png")).code, 0);
  EXPECT_EQ(testing::read_all(scratch_.file("a.png")), testing::read_all(scratch_.file("b.png")));
  EXPECT_NE(testing::read_all(scratch_.file("a.png")), testing::read_all(scratch_.file("c.png")));
  // Sample i is the same picture whatever -n.
  ASSERT_EQ(run(common + "-n 4 --seed 3 --out-dir " + scratch_.file("four")).code, 0);
  ASSERT_EQ(run(common + "-n 2 --seed 3 --out-dir " + scratch_.file("two")).code, 0);
  EXPECT_EQ(testing::read_all(scratch_.file("four/seed3_00001.png")), testing::read_all(scratch_.file("two/seed3_00001.png")));
  EXPECT_TRUE(fs::exists(scratch_.file("four/seed3_00003.png")));

  const std::string walk = "gan walk --model " + model + " --seeds 1,2,3 --threads 1 -q ";
  ASSERT_EQ(run(walk + "--frames 7 --out-dir " + scratch_.file("frames")).code, 0);
  int frames = 0;
  for (const auto& entry : fs::directory_iterator(scratch_.file("frames"))) frames += entry.path().extension() == ".png";
  EXPECT_EQ(frames, 7);
  const CliResult video = run(walk + "--frames 9 -o " + scratch_.file("walk.mp4") + " --video-size 64");
  ASSERT_EQ(video.code, 0) << video.err;
  cv::VideoCapture capture(scratch_.file("walk.mp4"));
  ASSERT_TRUE(capture.isOpened());
  int read = 0;
  for (cv::Mat frame; capture.read(frame);) ++read;
  EXPECT_EQ(read, 9);
}

TEST_F(CliGanTest, TwoProcessesStayInStep) {
  const std::string model = scratch_.file("pair.safetensors");
  const int port = 29650 + static_cast<int>(::getpid() % 300);
  std::vector<std::thread> ranks;
  std::vector<CliResult> results(2);
  for (int rank = 0; rank < 2; ++rank)
    ranks.emplace_back([&, rank] {
      results[rank] = run(train(model, "--steps 3 --save-all-ranks --world-size 2 --rank " +
                                           std::to_string(rank) + " --master-port " + std::to_string(port)));
    });
  for (auto& thread : ranks) thread.join();
  ASSERT_EQ(results[0].code, 0) << results[0].err;
  ASSERT_EQ(results[1].code, 0) << results[1].err;
  const NamedTensors zero = load_tensors(model + ".checkpoint.safetensors"), one = load_tensors(model + ".rank1");
  for (const auto& [name, tensor] : zero)
    if (name.rfind("g.", 0) == 0 || name.rfind("d.", 0) == 0 || name.rfind("ema.", 0) == 0)
      EXPECT_TRUE(torch::equal(tensor, one.at(name))) << name;
}

TEST_F(CliGanTest, FoldersOfMixedPicturesAreConverted) {
  const std::string folder = scratch_.file("paintings");
  fs::create_directories(folder);
  cv::Mat grey(30, 40, CV_8UC1, cv::Scalar(90)), colour(60, 80, CV_8UC3, cv::Scalar(10, 120, 230)),
      rgba(50, 50, CV_8UC4, cv::Scalar(200, 30, 30, 255));
  cv::imwrite(folder + "/grey.png", grey);
  cv::imwrite(folder + "/colour.jpg", colour);
  cv::imwrite(folder + "/rgba.png", rgba);
  const std::string model = scratch_.file("art.safetensors");
  const CliResult trained = run("gan train --data " + folder + " -o " + model +
                                " --size 32 --batch-size 4 --latent 8 --g-width 4 --d-width 4 --threads 1 --steps 1 --json");
  ASSERT_EQ(trained.code, 0) << trained.err;
  EXPECT_NE(trained.out.find("3 pictures"), std::string::npos) << trained.out;
  std::map<std::string, std::string> metadata;
  load_tensors(model, &metadata);
  EXPECT_EQ(metadata["channels"], "3");
}

TEST_F(CliGanTest, BadInputIsAOneLineError) {
  fs::create_directories(scratch_.file("empty"));
  const std::string out = scratch_.file("bad.safetensors");
  testing::write_all(scratch_.file("not_a_gan.safetensors"), "garbage");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"gan train --data " + scratch_.file("empty") + " -o " + out + " --steps 1", "no images in"},
      {"gan train --data " + scratch_.file("nosuch") + " -o " + out + " --steps 1", "nosuch"},
      {"gan train --data " + idx_ + " -o " + out + " --steps 1 --size 48", "--size 48 is not supported"},
      {train(out, "--steps 2 --resume"), "no checkpoint"},
      {train(out, "--steps 1 --augment zoom"), "zoom"},
      {"gan sample --model " + scratch_.file("not_a_gan.safetensors") + " --grid " + scratch_.file("g.png"),
       "not_a_gan.safetensors"},
      {"gan sample --model " + idx_ + " -n 2", "--grid"},
      {"gan walk --model " + out + " --seeds 1 --out-dir " + scratch_.file("w"), "at least two"},
  };
  for (const auto& [arguments, needle] : cases) {
    const CliResult result = run(arguments);
    EXPECT_EQ(result.code, 1) << arguments;
    const auto lines = testing::lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << arguments << "\n" << result.err;
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".checkpoint.safetensors"));
}

// Absurd learning rates blow the networks up: the run stops with exit code
// 3 and a message, and the last checkpoint stays as it was. (A resumed run
// may change the learning rates: the way out after a divergence.)
TEST_F(CliGanTest, DivergenceIsReportedAndTheLastGoodCheckpointKept) {
  const std::string model = scratch_.file("wild.safetensors");
  ASSERT_EQ(run(train(model, "--steps 2")).code, 0);
  const std::string good = testing::read_all(model + ".checkpoint.safetensors");
  fs::remove(model);
  const CliResult result = run(train(model, "--steps 40 --resume --g-lr 1e30 --d-lr 1e30"));
  EXPECT_EQ(result.code, 3) << result.err;
  const auto lines = testing::lines_of(result.err);
  ASSERT_EQ(lines.size(), 1u) << result.err;
  EXPECT_NE(lines[0].find("diverged at step"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("kept the last good checkpoint"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("(step 2)"), std::string::npos) << lines[0];
  EXPECT_EQ(testing::read_all(model + ".checkpoint.safetensors"), good);
  EXPECT_FALSE(fs::exists(model));
}

TEST_F(CliGanTest, EvalReportsKidAndFidWithTheNetwork) {
  ATELIER_REQUIRE_SHARED(resnet, "models/resnet50-caffe.safetensors");
  const std::string model = scratch_.file("gan.safetensors");
  ASSERT_EQ(run(train(model, "--steps 1")).code, 0);
  const CliResult result = run("gan eval --model " + model + " --data " + idx_ + " -n 24 --blocks 3 --input-size 64 " +
                               "--threads 1 --json --features " + resnet);
  ASSERT_EQ(result.code, 0) << result.err;
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_GT(report["kid"].get<double>(), 0.0);
  EXPECT_GT(report["fid"].get<double>(), 0.0);
  EXPECT_EQ(report["kid_blocks"].get<int>(), 3);
  EXPECT_NE(report["features"].get<std::string>().find("ResNet-50"), std::string::npos);
}

// Issue 13: `gan sample -n 100000` held every picture in memory and showed no
// progress. Pictures are now made and written a few at a time, with progress;
// sample i is still the same picture whatever -n (batch edges differ here).
TEST_F(CliGanTest, SamplingToAFolderStreamsWithProgress) {
  const std::string model = scratch_.file("gan.safetensors");
  ASSERT_EQ(run(train(model, "--steps 0")).code, 0);
  const std::string common = "gan sample --model " + model + " --threads 1 --seed 5 ";
  const CliResult many = run(common + "-n 40 --json --out-dir " + scratch_.file("many"));
  ASSERT_EQ(many.code, 0) << many.err;
  int progress_lines = 0;
  for (const auto& line : testing::lines_of(many.out)) progress_lines += line.find("\"progress\"") != std::string::npos;
  EXPECT_GE(progress_lines, 2) << many.out;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(scratch_.file("many"))) files += entry.path().extension() == ".png";
  EXPECT_EQ(files, 40);
  ASSERT_EQ(run(common + "-n 21 -q --out-dir " + scratch_.file("few")).code, 0);
  EXPECT_EQ(testing::read_all(scratch_.file("many/seed5_00020.png")), testing::read_all(scratch_.file("few/seed5_00020.png")));
  const CliResult grid = run(common + "-n 5000 -q --grid " + scratch_.file("g.png"));
  EXPECT_EQ(grid.code, 1);
  EXPECT_NE(grid.err.find("use --out-dir"), std::string::npos) << grid.err;
}

}  // namespace
}  // namespace atelier
