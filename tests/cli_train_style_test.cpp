// End to end tests of `atelier train-style` with a tiny random VGG and small
// generated photos: exact resume, two processes in step with each other and
// with one process, the result usable by `stylize --model`, bad input.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <thread>

#include "atelier/image.hpp"
#include "train/training.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;

class CliTrainStyleTest : public ::testing::Test {
 protected:
  CliTrainStyleTest() {
    testing::write_tiny_vgg_file(vgg_, "vgg19", 4, {{"preprocess", "torchvision"}});
    fs::create_directories(photos_);
    cv::RNG rng(3);
    for (int i = 0; i < 8; ++i) {
      cv::Mat coarse(5, 6, CV_32FC3), rgb;
      rng.fill(coarse, cv::RNG::UNIFORM, 0.0, 1.0);
      cv::resize(coarse, rgb, {48 + 4 * i, 40}, 0, 0, cv::INTER_CUBIC);
      save_image(Image{cv::min(cv::max(rgb, 0.0), 1.0), {}}, photos_ + "/photo" + std::to_string(i) + ".png");
    }
    cv::Mat style(40, 40, CV_32FC3);
    rng.fill(style, cv::RNG::UNIFORM, 0.0, 1.0);
    save_image(Image{style, {}}, style_);
  }

  // The common options: 32 px crops, tiny VGG's layers, one thread.
  std::string train(const std::string& output, const std::string& extra) const {
    return "train-style --style " + style_ + " --data " + photos_ + " -o " + output + " --weights " + vgg_ +
           " --image-size 32 --content-layer relu2_1 --style-layers relu1_1,relu2_1 --threads 1 "
           "--preview-every 2 --checkpoint-every 2 -q " +
           extra;
  }
  CliResult run(const std::string& arguments) const { return testing::run_atelier(scratch_, arguments); }

  NamedTensors weights(const std::string& path) const { return load_tensors(path); }

  testing::ScratchDir scratch_;
  const std::string vgg_ = scratch_.file("tiny_vgg.safetensors");
  const std::string photos_ = scratch_.file("photos");
  const std::string style_ = scratch_.file("style.png");
};

// Acceptance 2: 6 steps straight, or 3 then --resume to 6: identical files.
TEST_F(CliTrainStyleTest, ResumeGivesIdenticalWeights) {
  const std::string straight = scratch_.file("straight.safetensors"), resumed = scratch_.file("resumed.safetensors");
  ASSERT_EQ(run(train(straight, "--steps 6 --batch-size 2")).code, 0);
  ASSERT_EQ(run(train(resumed, "--steps 3 --batch-size 2")).code, 0);
  const CliResult second = run(train(resumed, "--steps 6 --batch-size 2 --resume"));
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(testing::read_all(straight), testing::read_all(resumed));
  EXPECT_NE(testing::read_all(straight), "");
  // The loss log holds each step once.
  EXPECT_EQ(testing::lines_of(testing::read_all(resumed + ".losses.csv")).size(), 7u);
  EXPECT_TRUE(fs::exists(resumed + ".losses.png"));
  EXPECT_TRUE(fs::exists(resumed + ".previews/step_000006.png"));

  // Other settings refuse the checkpoint.
  const CliResult other = run(train(resumed, "--steps 8 --batch-size 2 --resume --style-weight 5"));
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("different command"), std::string::npos) << other.err;
}

// Acceptance 3: two processes over Gloo on loopback, batch 1 each, end with
// identical weights, and match one process with batch 2. Each step's
// averaged gradient is the batch-2 gradient to float rounding (tested in
// torch_training_test); Adam then turns the rounding noise of gradients that
// are zero in exact arithmetic (a conv bias before an instance norm) into
// whole steps, so weights are compared with that allowance, and the
// networks by what they paint.
TEST_F(CliTrainStyleTest, TwoProcessesStayInStepAndMatchOneProcess) {
  const std::string single = scratch_.file("single.safetensors"), pair = scratch_.file("pair.safetensors");
  const int port = 29500 + static_cast<int>(::getpid() % 1000);
  const std::string options = " --steps 4 ";  // the default lr, 0.001
  CliResult ranks[2];
  std::thread second([&] {
    ranks[1] = run(train(pair, options + "--batch-size 1 --world-size 2 --rank 1 --master-port " + std::to_string(port) +
                                   " --save-all-ranks"));
  });
  ranks[0] = run(train(pair, options + "--batch-size 1 --world-size 2 --rank 0 --master-port " + std::to_string(port)));
  second.join();
  ASSERT_EQ(ranks[0].code, 0) << ranks[0].err;
  ASSERT_EQ(ranks[1].code, 0) << ranks[1].err;
  ASSERT_EQ(run(train(single, options + "--batch-size 2")).code, 0);

  const NamedTensors zero = weights(pair), one = weights(pair + ".rank1"), alone = weights(single);
  ASSERT_EQ(zero.size(), alone.size());
  double largest = 0;
  for (const auto& [key, tensor] : zero) {
    EXPECT_TRUE(torch::equal(tensor, one.at(key))) << key;
    largest = std::max(largest, (tensor - alone.at(key)).abs().max().item<double>());
  }
  std::printf("[ measure  ] max |2 processes - 1 process| over all weights after 4 steps: %.3g (lr 0.001)\n", largest);
  // At most 4 steps of Adam's largest possible step, lr*(1-beta1)/sqrt(1-beta2) = 3.16 lr.
  EXPECT_LT(largest, 4 * 3.17 * 0.001);
  EXPECT_FALSE(fs::exists(pair + ".rank1.checkpoint.safetensors"));

  const std::string photo = photos_ + "/photo3.png";
  ASSERT_EQ(run("stylize --model " + pair + " " + photo + " -o " + scratch_.file("pair.png") + " -q --threads 1").code, 0);
  ASSERT_EQ(run("stylize --model " + single + " " + photo + " -o " + scratch_.file("single.png") + " -q --threads 1").code, 0);
  const double psnr = cv::PSNR(load_image(scratch_.file("pair.png")).rgb, load_image(scratch_.file("single.png")).rgb, 1.0);
  std::printf("[ measure  ] 2 processes vs 1 process, stylised photo: PSNR %.1f dB\n", psnr);
  EXPECT_GT(psnr, 40.0);
}

// The trained network is a style like the pretrained ones.
TEST_F(CliTrainStyleTest, ResultStylisesLikeAPretrainedModel) {
  const std::string model = scratch_.file("mine.safetensors");
  ASSERT_EQ(run(train(model, "--steps 2 --batch-size 2 --artist 'A. Painter'")).code, 0);
  std::map<std::string, std::string> metadata;
  load_tensors(model, &metadata);
  // What galleries show (model_names.hpp): the style image's name, the artist, trained here.
  EXPECT_EQ(metadata["title"], "Style");
  EXPECT_EQ(metadata["artist"], "A. Painter");
  EXPECT_EQ(metadata["family"], "atelier");
  EXPECT_NE(metadata["training"].find("\"style_weight\""), std::string::npos) << metadata["training"];
  const CliResult stylised = run("stylize --model " + model + " " + photos_ + "/photo0.png -o " +
                                 scratch_.file("out.png") + " -q --threads 1");
  ASSERT_EQ(stylised.code, 0) << stylised.err;
  EXPECT_EQ(load_image(scratch_.file("out.png")).width(), 48);
}

TEST_F(CliTrainStyleTest, BadInputIsAOneLineErrorAndNoCheckpoint) {
  fs::create_directories(scratch_.file("empty"));
  const std::string out = scratch_.file("bad.safetensors");
  const std::string done = scratch_.file("done.safetensors");
  ASSERT_EQ(run(train(done, "--steps 2 --batch-size 2")).code, 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train-style --style " + style_ + " --data " + scratch_.file("empty") + " -o " + out + " --weights " + vgg_ +
           " --steps 1",
       "no images in"},
      {"train-style --style " + scratch_.file("nosuch.png") + " --data " + photos_ + " -o " + out + " --weights " + vgg_ +
           " --steps 1",
       "nosuch.png"},
      {"train-style --style " + style_ + " --data " + photos_ + " -o " + out + " --weights " + vgg_ +
           " --steps 1 --content-layer relu4_2",
       "relu4_2"},
      {train(out, "--steps 1 --batch-size 9"), "fewer than one batch"},
      {train(out, "--steps 2 --resume"), "no checkpoint"},
      {train(done, "--steps 1 --batch-size 2 --resume"), "beyond --steps 1"},
      {train(out, ""), "--steps or --epochs"},
      {train(scratch_.file("model.pt"), "--steps 1"), ".safetensors"},
  };
  for (const auto& [arguments, needle] : cases) {
    const CliResult result = run(arguments);
    EXPECT_EQ(result.code, 1) << arguments;
    const auto lines = testing::lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << arguments << "\n" << result.err;
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
  }
  EXPECT_FALSE(fs::exists(out + ".checkpoint.safetensors"));
}

// The shared ResNet-50 as the feature network, picked by its keys; a VGG
// layer name is refused with ResNet's own layer names.
TEST_F(CliTrainStyleTest, TrainsWithTheSharedResNet) {
  ATELIER_REQUIRE_SHARED(resnet, "models/resnet50-caffe.safetensors");
  const std::string model = scratch_.file("resnet.safetensors");
  const std::string common = "train-style --style " + style_ + " --data " + photos_ + " -o " + model + " --weights " +
                             resnet + " --image-size 32 --threads 1 --steps 1 --batch-size 2 ";
  const CliResult trained = run(common + "--json");
  ASSERT_EQ(trained.code, 0) << trained.err;
  EXPECT_NE(trained.out.find("feature network resnet50"), std::string::npos) << trained.out;
  std::map<std::string, std::string> metadata;
  load_tensors(model, &metadata);
  EXPECT_NE(metadata["training"].find("\"layer2\""), std::string::npos) << metadata["training"];
  const CliResult refused = run(common + "-q --style-layers relu1_1");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("valid: conv1, layer1, layer2, layer3, layer4"), std::string::npos) << refused.err;
}

// A full disk while checkpointing (simulated with a file size limit): a
// clear error, and the last good checkpoint stays whole.
TEST_F(CliTrainStyleTest, FullDiskWhileCheckpointingKeepsTheLastGoodOne) {
  const std::string model = scratch_.file("full.safetensors");
  ASSERT_EQ(run(train(model, "--steps 2 --batch-size 2")).code, 0);
  const std::string good = testing::read_all(model + ".checkpoint.safetensors");
  // 2 MB: previews and logs fit, a 20 MB checkpoint does not.
  const std::string command = "ulimit -f 4096; " + std::string(ATELIER_CLI_PATH) + " " +
                              train(model, "--steps 4 --batch-size 2 --resume") + " 2>" + scratch_.file("err.txt");
  const int code = testing::run_command("bash -c '" + command + "'");
  EXPECT_EQ(code, 1);
  const auto lines = testing::lines_of(testing::read_all(scratch_.file("err.txt")));
  ASSERT_EQ(lines.size(), 1u) << testing::read_all(scratch_.file("err.txt"));
  EXPECT_NE(lines[0].find("checkpoint.safetensors"), std::string::npos) << lines[0];
  EXPECT_EQ(testing::read_all(model + ".checkpoint.safetensors"), good);
  for (const auto& entry : fs::directory_iterator(scratch_.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace atelier
