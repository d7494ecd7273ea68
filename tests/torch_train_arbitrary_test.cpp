// The AdaIN decoder trainer against an independent PyTorch reference
// (tests/reference/train_arbitrary_reference.py, naoto0804's net.py losses
// and torch.optim.Adam, run with Debian's /usr/bin/python3): the losses of a
// batch before and after each of three steps.
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

TEST(TrainArbitraryReference, LossesAndAdamStepsMatchPytorch) {
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
  options.learning_rate = 1e-4;
  options.style_weight = 10;
  options.seed = 4;
  AdainTrainer trainer(*encoder, options, group);
  save_adain_decoder(trainer.decoder(), decoder_file);

  torch::manual_seed(1);
  const auto photos = pictures(2, 32, 4), paintings = pictures(2, 32, 12);
  write_floats(scratch.file("photos.f32"), photos);
  write_floats(scratch.file("paintings.f32"), paintings);
  // Three steps: Adam's first moves every weight by lr x the sign of its
  // gradient; later ones depend on the gradients' sizes too.
  constexpr int kSteps = 3;
  std::string output;
  const int code = testing::run_command(kPython + " " + reference_script() + " --encoder " + encoder_file +
                                            " --decoder " + decoder_file + " --photos " + scratch.file("photos.f32") +
                                            " --paintings " + scratch.file("paintings.f32") +
                                            " --shape 2,3,32,32 --lr 1e-4 --style-weight 10 --steps 3",
                                        &output);
  ASSERT_EQ(code, 0) << output;
  const auto lines = testing::lines_of(output);
  ASSERT_EQ(lines.size(), kSteps + 1u) << output;
  for (int row = 0; row <= kSteps; ++row) {
    double content = 0, style = 0, total = 0;
    std::istringstream(lines[row]) >> content >> style >> total;
    const AdainLosses losses = row < kSteps ? trainer.step(photos, paintings) : trainer.evaluate(photos, paintings);
    std::printf("[ measure  ] losses after %d steps (content, style): %.6g %.6g, reference %.6g %.6g\n", row,
                losses.content, losses.style, content, style);
    expect_near_relative(losses.content, content, "content");
    expect_near_relative(losses.style, style, "style");
    expect_near_relative(losses.total, total, "total");
  }
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
