// The losses against hand-computed values, the input conventions, and the
// gradient of the whole Gatys objective against finite differences.
#include <gtest/gtest.h>

#include "atelier/error.hpp"
#include "stylize/gatys.hpp"
#include "losses/losses.hpp"
#include "models/vgg.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"

namespace atelier {
namespace {

torch::Tensor doubles(std::vector<double> values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kFloat64).reshape(shape);
}

TEST(Losses, GramMatrixIsFFtOverSize) {
  // F = [[1,2],[3,4]] as C=2 channels of H=1, W=2: F F^T = [[5,11],[11,25]], C*H*W = 4.
  auto gram = gram_matrix(doubles({1, 2, 3, 4}, {1, 2, 1, 2}));
  auto expected = doubles({1.25, 2.75, 2.75, 6.25}, {1, 2, 2});
  EXPECT_TRUE(torch::allclose(gram, expected)) << gram;
}

TEST(Losses, GramMatrixIsPerBatchItem) {
  auto features = torch::stack({doubles({1, 2, 3, 4}, {2, 1, 2}), doubles({0, 1, 1, 0}, {2, 1, 2})});
  auto gram = gram_matrix(features);
  EXPECT_TRUE(torch::allclose(gram[1], doubles({0.25, 0, 0, 0.25}, {2, 2})));
}

TEST(Losses, GramMatrixGradientIsAutogradsOfTheProduct) {
  // gram_matrix's own backward, F (dG + dG^T) / size, against autograd through bmm, in both layouts.
  torch::manual_seed(8);
  const auto upstream = torch::randn({2, 5, 5}, torch::kFloat64);
  for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
    auto features = torch::randn({2, 5, 3, 4}, torch::kFloat64).contiguous(format).requires_grad_(true);
    (gram_matrix(features) * upstream).sum().backward();
    auto plain = features.detach().clone().requires_grad_(true);
    const auto flat = plain.reshape({2, 5, 12});
    (torch::bmm(flat, flat.transpose(1, 2)) / 60.0 * upstream).sum().backward();
    EXPECT_TRUE(torch::allclose(features.grad(), plain.grad(), 1e-12, 1e-12));
  }
}

TEST(Losses, ContentLossIsRelativeSquaredError) {
  auto features = doubles({1, 2, 3, 4}, {1, 1, 2, 2});
  // Differences to all-ones: 0,1,2,3 -> mean square 3.5; mean(T^2) = 1.
  EXPECT_DOUBLE_EQ(content_loss(features, torch::ones_like(features)).item<double>(), 3.5);
  // Differences to all-twos: 1,0,1,2 -> 1.5; mean(T^2) = 4.
  EXPECT_DOUBLE_EQ(content_loss(features, torch::full_like(features, 2.0)).item<double>(), 0.375);
}

TEST(Losses, StyleLossComparesGramMatrices) {
  auto gram = doubles({1.25, 2.75, 2.75, 6.25}, {1, 2, 2});
  auto target = doubles({1, 2, 2, 6}, {1, 2, 2});
  // Differences .25,.75,.75,.25 -> mean square 0.3125; mean(T^2) = (1+4+4+36)/4 = 11.25.
  EXPECT_NEAR(style_loss(gram, target).item<double>(), 0.3125 / 11.25, 1e-12);
  EXPECT_DOUBLE_EQ(style_loss(target, target).item<double>(), 0.0);
}

TEST(Losses, TotalVariationIsMeanSquaredNeighbourDifference) {
  // [[0,1],[2,4]]: vertical diffs 2,3 -> 6.5; horizontal diffs 1,2 -> 2.5.
  EXPECT_DOUBLE_EQ(total_variation_loss(doubles({0, 1, 2, 4}, {1, 1, 2, 2})).item<double>(), 9.0);
  EXPECT_DOUBLE_EQ(total_variation_loss(torch::full({1, 3, 5, 5}, 0.3, torch::kFloat64)).item<double>(), 0.0);
}

TEST(Preprocess, CaffeIsBgr255MinusMean) {
  VggFeatures network("vgg19", testing::tiny_vgg_weights("vgg19", 1, torch::kFloat64), Preprocess::Caffe, Pooling::Max);
  auto pixel = doubles({1.0, 0.5, 0.0}, {1, 3, 1, 1});
  auto out = network.preprocess_image(pixel).flatten();
  EXPECT_NEAR(out[0].item<double>(), 0.0 - 103.939, 1e-9);    // B
  EXPECT_NEAR(out[1].item<double>(), 127.5 - 116.779, 1e-9);  // G
  EXPECT_NEAR(out[2].item<double>(), 255.0 - 123.68, 1e-9);   // R
}

TEST(Preprocess, TorchvisionIsRgbNormalised) {
  VggFeatures network("vgg19", testing::tiny_vgg_weights("vgg19", 1, torch::kFloat64), Preprocess::Torchvision,
                      Pooling::Max);
  auto out = network.preprocess_image(doubles({1.0, 0.5, 0.0}, {1, 3, 1, 1})).flatten();
  EXPECT_NEAR(out[0].item<double>(), (1.0 - 0.485) / 0.229, 1e-9);
  EXPECT_NEAR(out[1].item<double>(), (0.5 - 0.456) / 0.224, 1e-9);
  EXPECT_NEAR(out[2].item<double>(), (0.0 - 0.406) / 0.225, 1e-9);
}

TEST(Preprocess, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(parse_preprocess("caffe"), Preprocess::Caffe);
  EXPECT_EQ(parse_preprocess("torchvision"), Preprocess::Torchvision);
  EXPECT_THROW(parse_preprocess("keras"), Error);
}

// d(total)/d(image) by autograd against central differences, in float64, on
// a tiny random VGG19 through relu3_1 with every loss term active.
TEST(GatysObjective, GradientMatchesFiniteDifferences) {
  VggFeatures network("vgg19", testing::tiny_vgg_weights("vgg19", 5, torch::kFloat64), Preprocess::Caffe,
                      Pooling::Max);
  torch::manual_seed(3);
  auto content = torch::rand({1, 3, 12, 12}, torch::kFloat64);
  std::vector<torch::Tensor> styles = {torch::rand({1, 3, 16, 16}, torch::kFloat64),
                                       torch::rand({1, 3, 8, 8}, torch::kFloat64)};
  GatysOptions options;
  options.content_layers = {"relu2_2"};
  options.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
  options.content_weight = 1.0;
  options.style_weight = 5.0;
  options.tv_weight = 2.0;
  GatysObjective objective(network, content, styles, {0.3, 0.7}, options);

  auto image = torch::rand({1, 3, 12, 12}, torch::kFloat64).requires_grad_(true);
  auto loss = objective(image);
  ASSERT_GT(loss.content.item<double>(), 0);
  ASSERT_GT(loss.style.item<double>(), 0);
  ASSERT_GT(loss.tv.item<double>(), 0);
  loss.total.backward();
  auto analytic = image.grad().flatten();

  torch::NoGradGuard no_grad;
  const double step = 1e-6;
  auto flat = image.detach().clone().flatten();
  for (int64_t i = 0; i < flat.numel(); i += 37) {
    auto plus = flat.clone(), minus = flat.clone();
    plus[i] += step;
    minus[i] -= step;
    const double numeric = (objective(plus.view_as(image)).total.item<double>() -
                            objective(minus.view_as(image)).total.item<double>()) / (2 * step);
    EXPECT_NEAR(analytic[i].item<double>(), numeric, 1e-6 + 1e-4 * std::abs(numeric)) << "pixel " << i;
  }
}

}  // namespace
}  // namespace atelier
