// Winograd convolutions through oneDNN: the same numbers as libtorch's direct
// convolutions (forward and the gradient with respect to the input), the
// blocked layout's conversions and pooling, and VGG features either way.
#include <gtest/gtest.h>

#include "models/adain.hpp"
#include "models/vgg.hpp"
#include "random_adain_network.hpp"
#include "torch/tensor_image.hpp"
#include "torch/winograd_conv.hpp"

namespace atelier {
namespace {

#define SKIP_WITHOUT_WINOGRAD()                                                                       \
  if (!winograd::available()) GTEST_SKIP() << "SKIPPED: oneDNN has no Winograd convolution on this CPU " \
                                              "(it needs AVX-512); the direct path is tested elsewhere"

// Largest difference relative to the largest magnitude of the reference.
double relative_error(const torch::Tensor& got, const torch::Tensor& expected) {
  return (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

TEST(WinogradConv, MatchesTheDirectConvolutionAndItsInputGradient) {
  SKIP_WITHOUT_WINOGRAD();
  torch::manual_seed(3);
  const auto weight = torch::randn({48, 32, 3, 3}) * 0.1;
  const auto bias = torch::randn({48});
  const auto input = torch::randn({2, 32, 13, 19});  // odd sizes: partial 4x4 tiles at the edges
  const auto upstream = torch::randn({2, 48, 13, 19});

  auto direct_input = input.clone().requires_grad_(true);
  const auto direct = torch::conv2d(direct_input, weight, bias, 1, 1);
  (direct * upstream).sum().backward();

  const winograd::Conv3x3 conv(weight, bias);
  auto blocked_input = input.clone().requires_grad_(true);
  const auto output = winograd::from_blocked(conv(winograd::to_blocked(blocked_input)));
  (output * upstream).sum().backward();

  EXPECT_LT(relative_error(output, direct), 1e-5);
  EXPECT_LT(relative_error(blocked_input.grad(), direct_input.grad()), 1e-5);
}

TEST(WinogradConv, ReluWithinTheConvolutionMatchesReluAfterIt) {
  SKIP_WITHOUT_WINOGRAD();
  torch::manual_seed(9);
  const auto weight = torch::randn({16, 16, 3, 3}) * 0.1;
  const auto bias = torch::randn({16}) * 0.1;
  const auto input = torch::randn({1, 16, 10, 12});
  const auto upstream = torch::randn({1, 16, 10, 12});

  auto direct_input = input.clone().requires_grad_(true);
  const auto direct = torch::relu(torch::conv2d(direct_input, weight, bias, 1, 1));
  (direct * upstream).sum().backward();

  auto blocked_input = input.clone().requires_grad_(true);
  const auto output = winograd::from_blocked(winograd::Conv3x3(weight, bias)(winograd::to_blocked(blocked_input), true));
  (output * upstream).sum().backward();

  EXPECT_GT((direct == 0).sum().item<int64_t>(), 100);  // the relu cut something
  EXPECT_LT(relative_error(output, direct), 1e-5);
  EXPECT_LT(relative_error(blocked_input.grad(), direct_input.grad()), 1e-5);
}

TEST(WinogradConv, BlockedLayoutRoundTripsAndPoolsAsTorch) {
  torch::manual_seed(4);
  const auto input = torch::randn({2, 32, 9, 11});
  const auto blocked = winograd::to_blocked(input);
  ASSERT_EQ(blocked.sizes(), (std::vector<int64_t>{2, 2, 9, 11, 16}));
  EXPECT_TRUE(torch::equal(blocked[1][1][4][5], input.index({1, torch::indexing::Slice(16, 32), 4, 5})));
  EXPECT_TRUE(torch::equal(winograd::from_blocked(blocked), input));
  // Odd sides: the last row and column are dropped, as torch's 2x2 pooling does.
  EXPECT_TRUE(torch::equal(winograd::from_blocked(winograd::pool2x2(blocked, true)), torch::max_pool2d(input, 2, 2)));
  EXPECT_TRUE(torch::allclose(winograd::from_blocked(winograd::pool2x2(blocked, false)), torch::avg_pool2d(input, 2, 2)));
}

TEST(WinogradConv, SmallPicturesMatchTheDirectConvolution) {
  SKIP_WITHOUT_WINOGRAD();
  torch::manual_seed(16);
  const auto weight = torch::randn({16, 16, 3, 3}), bias = torch::randn({16});
  const winograd::Conv3x3 same(weight, bias), valid(weight, bias, /*padding=*/0);
  for (const auto& [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {3, 3}, {5, 1}}) {
    const auto input = torch::randn({1, 16, h, w});
    for (int call = 0; call < 2; ++call)  // the second finds the shape's plan, or its refusal, remembered
      EXPECT_LT(relative_error(winograd::from_blocked(same(winograd::to_blocked(input))),
                               torch::conv2d(input, weight, bias, 1, 1)), 1e-5) << h << "x" << w;
    if (h >= 3 && w >= 3)
      EXPECT_LT(relative_error(winograd::from_blocked(valid(winograd::to_blocked(input))),
                               torch::conv2d(input, weight, bias)), 1e-5) << h << "x" << w;
  }
}

TEST(WinogradConv, RefusesWeightsItCannotTake) {
  EXPECT_FALSE(winograd::Conv3x3::suits(torch::zeros({16, 16, 5, 5})));
  EXPECT_FALSE(winograd::Conv3x3::suits(torch::zeros({16, 16, 3, 3}, torch::kFloat64)));
  EXPECT_TRUE(winograd::Conv3x3::suits(torch::zeros({32, 16, 3, 3})));
  EXPECT_TRUE(winograd::Conv3x3::suits(torch::zeros({3, 64, 3, 3})));  // padded to whole blocks of 16
}

TEST(WinogradConv, ChannelsThatAreNotWholeBlocksArePaddedAndDropped) {
  SKIP_WITHOUT_WINOGRAD();
  torch::manual_seed(15);
  const auto weight = torch::randn({5, 3, 3, 3}), bias = torch::randn({5});
  const auto input = torch::rand({1, 3, 11, 9});
  const auto blocked = winograd::to_blocked(input);
  ASSERT_EQ(blocked.size(1), 1);
  EXPECT_TRUE(torch::equal(winograd::from_blocked(blocked, 3), input));
  const auto output = winograd::from_blocked(winograd::Conv3x3(weight, bias)(blocked), 5);
  EXPECT_LT(relative_error(output, torch::conv2d(input, weight, bias, 1, 1)), 1e-5);
}

// A VGG19 to relu2_2 with 16 and 32 channels: every convolution but the first can be Winograd.
VggFeatures sixteen_channel_vgg(bool winograd) {
  torch::manual_seed(5);
  std::map<std::string, torch::Tensor> weights;
  const int channels[][2] = {{3, 16}, {16, 16}, {16, 32}, {32, 32}};
  const int indices[] = {0, 2, 5, 7};
  for (int i = 0; i < 4; ++i) {
    const std::string key = "features." + std::to_string(indices[i]);
    weights[key + ".weight"] = torch::randn({channels[i][1], channels[i][0], 3, 3}) * std::sqrt(2.0 / (9.0 * channels[i][0]));
    weights[key + ".bias"] = torch::randn({channels[i][1]}) * 0.01;
  }
  VggFeatures network("vgg19", weights, Preprocess::Torchvision, Pooling::Max);
  network.set_winograd(winograd);
  return network;
}

TEST(VggWinograd, FeaturesAndImageGradientMatchTheDirectPath) {
  SKIP_WITHOUT_WINOGRAD();
  const VggFeatures fast = sixteen_channel_vgg(true), direct = sixteen_channel_vgg(false);
  ASSERT_TRUE(fast.winograd());
  ASSERT_FALSE(direct.winograd());
  torch::manual_seed(6);
  const auto image = torch::rand({1, 3, 37, 45});
  // conv1_2 asked for: its relu runs on its own; the other relus run within their convolutions.
  const std::vector<std::string> layers{"relu1_1", "conv1_2", "relu1_2", "pool1", "relu2_1", "relu2_2"};
  const auto run = [&](const VggFeatures& network) {
    auto x = image.clone().requires_grad_(true);
    auto features = network.extract(x, layers);
    torch::Tensor loss = torch::zeros({});
    for (const auto& layer : layers) loss = loss + features.at(layer).square().mean();
    loss.backward();
    features["gradient"] = x.grad();
    return features;
  };
  auto got = run(fast), expected = run(direct);
  for (const auto& [name, tensor] : expected) {
    ASSERT_EQ(got.at(name).sizes(), tensor.sizes()) << name;
    EXPECT_LT(relative_error(got.at(name), tensor), 1e-5) << name;
  }
}

TEST(VggWinograd, AutocastTakesTheDirectPath) {
  const VggFeatures fast = sixteen_channel_vgg(true), direct = sixteen_channel_vgg(false);
  const auto image = torch::rand({1, 3, 24, 24});
  AutocastScope autocast(Precision::BF16, torch::kCPU);
  const auto got = fast.extract(image, {"relu2_2"}).at("relu2_2");
  EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(got, direct.extract(image, {"relu2_2"}).at("relu2_2")));
}

TEST(AdainWinograd, EncoderMatchesTheDirectPathInDoublePrecision) {
  SKIP_WITHOUT_WINOGRAD();
  const auto weights = testing::random_normalised_vgg_weights(11);
  std::map<std::string, torch::Tensor> doubles;
  for (const auto& [key, tensor] : weights) doubles[key] = tensor.to(torch::kFloat64);
  const NormalisedVgg fast(weights), direct(doubles);  // float64 weights take the direct path
  torch::manual_seed(12);
  const auto image = torch::rand({1, 3, 37, 45});  // odd sides: ceil-mode pooling keeps the last row
  const std::vector<std::string> layers{"relu1_1", "conv2_1", "relu2_1", "relu3_1", "relu4_1"};
  const auto got = fast.extract(image, layers), expected = direct.extract(image.to(torch::kFloat64), layers);
  for (const auto& layer : layers) {
    ASSERT_EQ(got.at(layer).sizes(), expected.at(layer).sizes()) << layer;
    EXPECT_LT(relative_error(got.at(layer).to(torch::kFloat64), expected.at(layer)), 1e-5) << layer;
  }
}

TEST(AdainWinograd, DecoderMatchesTheDirectPathAndFollowsWeightUpdates) {
  SKIP_WITHOUT_WINOGRAD();
  torch::manual_seed(13);
  AdainDecoder decoder("relu3_1");
  const auto features = torch::relu(torch::randn({1, 256, 9, 11}));
  const auto both = [&] {
    torch::Tensor fast, direct;
    {
      torch::NoGradGuard no_grad;  // no weight gradients wanted: Winograd
      fast = decoder->forward(features);
    }
    direct = decoder->forward(features).detach();  // weights that learn: the direct path
    return std::make_pair(fast, direct);
  };
  auto [fast, direct] = both();
  ASSERT_EQ(fast.sizes(), (std::vector<int64_t>{1, 3, 36, 44}));
  EXPECT_LT(relative_error(fast, direct), 1e-5);
  {
    torch::NoGradGuard no_grad;  // an optimiser's step: the weights change in place
    for (auto& parameter : decoder->parameters()) parameter.mul_(0.5).add_(0.01);
  }
  auto [fast_after, direct_after] = both();
  EXPECT_GT(relative_error(direct_after, direct), 0.1) << "the update changed the output";
  EXPECT_LT(relative_error(fast_after, direct_after), 1e-5) << "Winograd used the weights as they are now";
}

TEST(WinogradConv, ReflectionPaddingAndUpsamplingMatchTorch) {
  torch::manual_seed(14);
  const auto input = torch::randn({1, 32, 5, 7});
  const auto blocked = winograd::to_blocked(input);
  EXPECT_TRUE(torch::equal(winograd::from_blocked(winograd::reflection_pad1(blocked)),
                           torch::reflection_pad2d(input, {1, 1, 1, 1})));
  EXPECT_TRUE(torch::equal(winograd::from_blocked(winograd::upsample2x(blocked)),
                           torch::upsample_nearest2d(input, {10, 14})));
  EXPECT_TRUE(torch::equal(winograd::from_blocked(winograd::pool2x2(blocked, true, /*ceil=*/true)),
                           torch::max_pool2d(input, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true)));
}

}  // namespace
}  // namespace atelier
