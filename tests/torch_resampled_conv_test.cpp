// The rewritten convolutions (src/models/resampled_conv.hpp) against the
// plain computation they replace, written with libtorch's own ops: upsample,
// pad, conv2d. They are the same products added in another order, so they
// agree to float rounding.
#include <gtest/gtest.h>

#include "models/fast_style.hpp"
#include "models/resampled_conv.hpp"
#include "torch/tensor_image.hpp"
#include "torch/winograd_conv.hpp"

namespace atelier {
namespace {

namespace F = torch::nn::functional;

torch::Tensor reflect(const torch::Tensor& x, int64_t p) {
  return F::pad(x, F::PadFuncOptions({p, p, p, p}).mode(torch::kReflect));
}

float largest_difference(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<float>();
}

TEST(UpsampledConv3x3, IsTheConvolutionOfTheUpsampledPicture) {
  torch::manual_seed(1);
  const auto x = torch::randn({2, 5, 7, 9}), weight = torch::randn({6, 5, 3, 3});
  const auto upsampled = F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  const auto expected = torch::conv2d(reflect(upsampled, 1), weight);
  const auto got = UpsampledConv3x3(weight)(x);
  EXPECT_LT(largest_difference(got, expected), 1e-4);  // values about 10
  EXPECT_GT(expected.abs().max().item<float>(), 5.0f);
}

// TensorFlow's SAME stride-2 transposed conv: PyTorch's, its first 2h x 2w kept.
TEST(Stride2TransposedConv3x3, IsTheTransposedConvolutionCropped) {
  torch::manual_seed(9);
  const auto x = torch::randn({2, 6, 5, 7}), weight = torch::randn({6, 4, 3, 3});
  const auto expected = torch::conv_transpose2d(x, weight, {}, 2).slice(2, 0, 10).slice(3, 0, 14);
  EXPECT_LT(largest_difference(Stride2TransposedConv3x3(weight)(x), expected), 1e-4);
  const auto channels_last = Stride2TransposedConv3x3(weight)(x.contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(channels_last.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_LT(largest_difference(channels_last, expected), 1e-4);
  EXPECT_GT(expected.abs().max().item<float>(), 5.0f);
}

TEST(SpaceToDepthConv, IsTheNineByNineConvolutionForBothFactors) {
  torch::manual_seed(2);
  const auto x = torch::rand({2, 3, 12, 16}), weight = torch::randn({8, 3, 9, 9}) * 0.1, bias = torch::randn({8});
  const auto expected = torch::conv2d(reflect(x, 4), weight, bias);
  for (int64_t factor : {2, 4}) {
    const SpaceToDepthConv conv(weight, bias, factor);
    EXPECT_LT(largest_difference(conv(x), expected), 2e-5) << "factor " << factor;
    // Before pixel_shuffle: output channel k*r*r + row phase*r + column phase at (i, j) is pixel (r*i + phase, ...).
    const auto depth = conv.in_depth(x, factor);
    EXPECT_EQ(depth.sizes(), (std::vector<int64_t>{2, 8 * factor * factor, 12 / factor, 16 / factor}));
    EXPECT_LT(largest_difference(depth.select(1, 5 * factor * factor + 1), expected.select(1, 5).slice(1, 0, 12, factor).slice(2, 1, 16, factor)), 2e-5);
  }
  const auto without_bias = torch::conv2d(reflect(x, 4), weight);
  EXPECT_LT(largest_difference(SpaceToDepthConv(weight, torch::Tensor(), 4)(x), without_bias), 2e-5);
}

// By 4 in fp32, where oneDNN has Winograd, the depth map is written in its
// blocked layout and convolved there: the same result to Winograd's rounding.
TEST(SpaceToDepthConv, ByWinogradAsByDirectConvolution) {
  if (!winograd::available()) GTEST_SKIP() << "SKIPPED: oneDNN has no Winograd convolution on this CPU";
  torch::manual_seed(7);
  const auto x = torch::rand({2, 8, 20, 24}), weight = torch::randn({3, 8, 9, 9}) * 0.05;
  const auto expected = torch::conv2d(reflect(x, 4), weight);
  const SpaceToDepthConv conv(weight, torch::Tensor(), 4);
  EXPECT_LT(largest_difference(conv(x), expected), 1e-4);  // values about 2
  EXPECT_LT(largest_difference(conv.in_depth(x, 2), torch::pixel_unshuffle(expected, 2)), 1e-4);
}

TEST(SpaceToDepthConv, RefusesSidesThatAreNotMultiplesAndKernelsItCannotSplit) {
  const auto weight = torch::randn({3, 8, 9, 9});
  EXPECT_THROW(SpaceToDepthConv(weight, torch::Tensor(), 4)(torch::rand({1, 8, 12, 14})), Error);
  EXPECT_THROW(SpaceToDepthConv(weight, torch::Tensor(), 3), Error);  // padding 4 is no whole number of 3s
  EXPECT_THROW(SpaceToDepthConv(torch::randn({3, 8, 4, 4}), torch::Tensor(), 2), Error);
}

TEST(PaddedSpaceToDepth, IsPixelUnshuffleOfTheReflectedPictureExactly) {
  torch::manual_seed(3);
  const auto x = torch::rand({2, 3, 8, 12});
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const auto expected = torch::pixel_unshuffle(reflect(x, 4), 4).to(dtype);
    EXPECT_TRUE(torch::equal(padded_space_to_depth(x, 4, 4, dtype), expected));
  }
  EXPECT_TRUE(torch::equal(padded_space_to_depth(x, 2, 2, torch::kFloat32), torch::pixel_unshuffle(reflect(x, 2), 2)));
  // Blocked (oneDNN's layout, by 4): channel c's 16 phases are the 16 lanes of block c.
  const auto depth = torch::pixel_unshuffle(reflect(x, 4), 4);
  const auto blocked = padded_space_to_depth(x, 4, 4, torch::kFloat32, /*blocked=*/true);
  EXPECT_EQ(blocked.sizes(), (std::vector<int64_t>{2, 3, 4, 5, 16}));
  EXPECT_TRUE(torch::equal(winograd::from_blocked(blocked), depth));
  EXPECT_THROW(padded_space_to_depth(x, 8, 4, torch::kFloat32), Error);  // reflection wider than the picture
}

TEST(DepthStride2Conv3x3, IsTheStridedConvolutionOfThePicture) {
  torch::manual_seed(4);
  const auto picture = torch::randn({2, 5, 12, 16}), weight = torch::randn({7, 5, 3, 3}), bias = torch::randn({7});
  const auto depth = torch::pixel_unshuffle(picture, 2);
  const DepthStride2Conv3x3 conv(weight, bias);
  EXPECT_LT(largest_difference(conv(depth, false), torch::conv2d(reflect(picture, 1), weight, bias, 2)), 1e-4);
  EXPECT_LT(largest_difference(conv(depth, true), torch::conv2d(reflect(picture.relu(), 1), weight, bias, 2)), 1e-4);
}

TEST(DepthStride2Conv3x3, FollowsTheSpaceToDepthConvolutionInBf16) {
  torch::manual_seed(5);
  const auto x = torch::rand({1, 3, 16, 20});
  const auto first = torch::randn({8, 3, 9, 9}) * 0.1, second = torch::randn({16, 8, 3, 3}) * 0.3;
  const auto expected = torch::conv2d(reflect(torch::conv2d(reflect(x, 4), first).relu(), 1), second, {}, 2);
  torch::InferenceMode inference;
  AutocastScope autocast(Precision::BF16, torch::kCPU);
  const auto got = DepthStride2Conv3x3(second, torch::Tensor())(SpaceToDepthConv(first, torch::Tensor(), 2).in_depth(x, 2), true);
  EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
  EXPECT_LT(largest_difference(got, expected), 0.05 * expected.abs().max().item<float>());  // bf16 has 8 bits
}

// The Winograd trunk pads in oneDNN's blocked layout: the same pixels as in NCHW.
TEST(ReflectionPad, PadsTheBlockedLayoutAsNchw) {
  torch::manual_seed(6);
  const auto x = torch::randn({2, 20, 5, 7});
  const auto blocked = winograd::to_blocked(x);
  EXPECT_TRUE(torch::equal(winograd::from_blocked(reflection_pad(blocked, 1, torch::kFloat32), 20), reflect(x, 1)));
}

}  // namespace
}  // namespace atelier
