// The AdaIN decoder trainer against an independent PyTorch reference
// (tests/reference/train_arbitrary_reference.py, naoto0804's net.py losses
// and torch.optim.Adam, run with Debian's /usr/bin/python3): the losses of a
// batch, and of the decoder after one step.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adain_training_fixture.hpp"
#include "models/adain.hpp"
#include "test_support.hpp"
#include "train/adain_training.hpp"

namespace atelier {
namespace {

const std::string kPython = "/usr/bin/python3";

std::string reference_script() {
  return (std::filesystem::path(__FILE__).parent_path() / "reference" / "train_arbitrary_reference.py").string();
}

void write_floats(const std::string& path, const torch::Tensor& tensor) {
  const auto values = tensor.to(torch::kFloat32).contiguous();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(values.data_ptr<float>()), static_cast<std::streamsize>(values.numel() * 4));
}

// Random smooth pictures [N,3,size,size] in [0,1].
torch::Tensor pictures(int64_t count, int64_t size, double sharpness) {
  const auto coarse = torch::rand({count, 3, 5, 5});
  return torch::sigmoid(sharpness * (torch::upsample_bilinear2d(coarse, {size, size}, false) - 0.5));
}

void expect_near_relative(double actual, double expected, const char* what) {
  EXPECT_NEAR(actual, expected, 1e-4 * std::abs(expected)) << what;
}

TEST(TrainArbitraryReference, LossesAndOneAdamStepMatchPytorch) {
  if (testing::run_command(kPython + " -c 'import torch'") != 0)
    GTEST_SKIP() << "SKIPPED: /usr/bin/python3 has no torch (Debian python3-torch)";
  testing::ScratchDir scratch;
  const std::string encoder_file = scratch.file("encoder.safetensors");
  const std::string decoder_file = scratch.file("decoder.safetensors");
  testing::write_adain_test_encoder(encoder_file);
  const auto encoder = load_adain_encoder(encoder_file);
  ProcessGroup group(DistributedOptions{});
  AdainTrainingOptions options;
  options.level = "relu3_1";
  options.learning_rate = 1e-3;
  options.style_weight = 10;
  options.seed = 4;
  AdainTrainer trainer(*encoder, options, group);
  save_adain_decoder(trainer.decoder(), decoder_file);

  torch::manual_seed(1);
  const auto photos = pictures(2, 32, 4), paintings = pictures(2, 32, 12);
  write_floats(scratch.file("photos.f32"), photos);
  write_floats(scratch.file("paintings.f32"), paintings);
  std::string output;
  const int code = testing::run_command(kPython + " " + reference_script() + " --encoder " + encoder_file +
                                            " --decoder " + decoder_file + " --photos " + scratch.file("photos.f32") +
                                            " --paintings " + scratch.file("paintings.f32") +
                                            " --shape 2,3,32,32 --lr 1e-3 --style-weight 10",
                                        &output);
  ASSERT_EQ(code, 0) << output;
  const auto lines = testing::lines_of(output);
  ASSERT_EQ(lines.size(), 2u) << output;
  double expected[2][3];
  for (int row = 0; row < 2; ++row)
    std::istringstream(lines[row]) >> expected[row][0] >> expected[row][1] >> expected[row][2];

  const AdainLosses first = trainer.step(photos, paintings);
  const AdainLosses second = trainer.evaluate(photos, paintings);
  std::printf("[ measure  ] losses (content, style): step 1 %.6g %.6g (reference %.6g %.6g); after it %.6g %.6g "
              "(reference %.6g %.6g)\n",
              first.content, first.style, expected[0][0], expected[0][1], second.content, second.style, expected[1][0],
              expected[1][1]);
  expect_near_relative(first.content, expected[0][0], "content");
  expect_near_relative(first.style, expected[0][1], "style");
  expect_near_relative(first.total, expected[0][2], "total");
  expect_near_relative(second.content, expected[1][0], "content after a step");
  expect_near_relative(second.style, expected[1][1], "style after a step");
  expect_near_relative(second.total, expected[1][2], "total after a step");
}

// One painting for every photo is the same as that painting repeated.
TEST(TrainArbitraryReference, OnePaintingServesEveryPhoto) {
  testing::ScratchDir scratch;
  testing::write_adain_test_encoder(scratch.file("encoder.safetensors"));
  const auto encoder = load_adain_encoder(scratch.file("encoder.safetensors"));
  ProcessGroup group(DistributedOptions{});
  AdainTrainer trainer(*encoder, AdainTrainingOptions{}, group);
  torch::manual_seed(2);
  const auto photos = pictures(3, 32, 4), painting = pictures(1, 32, 12);
  const AdainLosses one = trainer.evaluate(photos, painting);
  const AdainLosses repeated = trainer.evaluate(photos, painting.expand({3, 3, 32, 32}));
  EXPECT_FLOAT_EQ(one.content, repeated.content);
  EXPECT_FLOAT_EQ(one.style, repeated.style);
  EXPECT_EQ(trainer.stylise(photos, painting).sizes(), photos.sizes());
}

}  // namespace
}  // namespace atelier
