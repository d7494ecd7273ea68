// The pyramid the Gatys optimiser moves (src/stylize/gatys_pyramid.hpp):
// checked against values worked out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "shared_gatys_scene.hpp"
#include "stylize/gatys_pyramid.hpp"

namespace atelier {
namespace {

TEST(GatysPyramid, StartsAsThePictureAndAddsEachLevelAtHalfTheWeightBefore) {
  torch::manual_seed(3);
  const auto start = torch::rand({1, 3, 20, 28});
  auto parameter = pyramid_parameter(start, 3);
  // Level 1 is 10 x 14, level 2 is 5 x 7.
  ASSERT_EQ(parameter.numel(), 3 * (20 * 28 + 10 * 14 + 5 * 7));
  EXPECT_TRUE(torch::equal(pyramid_picture(parameter, 20, 28, 3), start));

  // A level of constants upsamples to the same constant: 0.5 * 1 + 0.25 * 2.
  parameter.narrow(0, 3 * 20 * 28, 3 * 10 * 14).fill_(1.0);
  parameter.narrow(0, 3 * (20 * 28 + 10 * 14), 3 * 5 * 7).fill_(2.0);
  EXPECT_LT((pyramid_picture(parameter, 20, 28, 3) - (start + 1.0)).abs().max().item<float>(), 1e-6);
}

// Upsampling by two spreads each coarse value over four pixels' worth of
// weight, so the gradient of the picture's sum is 1 on level 0, 0.5 * 4 on
// level 1 and 0.25 * 16 on level 2: a coarse value moves a broad area.
TEST(GatysPyramid, ACoarseValueMovesFourTimesTheAreaAtHalfTheWeight) {
  auto parameter = pyramid_parameter(torch::zeros({1, 3, 16, 24}), 3).requires_grad_(true);
  pyramid_picture(parameter, 16, 24, 3).sum().backward();
  const auto gradient = parameter.grad();
  const int64_t fine = 3 * 16 * 24, middle = 3 * 8 * 12, coarse = 3 * 4 * 6;
  EXPECT_LT((gradient.narrow(0, 0, fine) - 1.0).abs().max().item<float>(), 1e-5);
  EXPECT_LT((gradient.narrow(0, fine, middle) - 2.0).abs().max().item<float>(), 1e-5);
  EXPECT_LT((gradient.narrow(0, fine + middle, coarse) - 4.0).abs().max().item<float>(), 1e-5);
}

TEST(GatysPyramid, LevelsFollowThePictureAndTheOptimiser) {
  GatysOptions options;  // L-BFGS, the default pyramid
  // 384 -> 192, 96, 48, 24, 12: the coarsest at least kGatysPyramidCoarsest (16) px.
  EXPECT_EQ(gatys_pyramid_levels(options, 384, 512), 5);
  EXPECT_EQ(gatys_pyramid_levels(options, 1536, 2048), 7);
  EXPECT_EQ(gatys_pyramid_levels(options, 24, 32), 1);
  options.optimizer = GatysOptions::Optimizer::Adam;  // Adam scales each value's step itself
  EXPECT_EQ(gatys_pyramid_levels(options, 384, 512), 1);
  options.pyramid = 3;  // asked for: with either optimiser
  EXPECT_EQ(gatys_pyramid_levels(options, 384, 512), 3);
  options.pyramid = 16;  // at most down to 8 px: 64 -> 32, 16, 8
  EXPECT_EQ(gatys_pyramid_levels(options, 64, 64), 4);
  options.pyramid = 1;
  EXPECT_EQ(gatys_pyramid_levels(options, 384, 512), 1);
}

// What the pyramid is for, on the real VGG: the loss plain pixels reach after
// 200 L-BFGS iterations comes at least a tenth sooner on the default pyramid
// (165 iterations at this small size, 128 px; at 512 px about half as many,
// bench/gatys_time_to_quality.py), and its first steps stay bounded: without
// the step limit this run stuck at a loss 10^4 times the start's.
TEST(GatysPyramidShared, ReachesThePixelsLossInFewerIterations) {
  ATELIER_REQUIRE_SHARED_GATYS_SCENE(scene, 128);
  const auto& [network, content, style, shared_options] = scene;
  GatysOptions options = shared_options;
  options.iterations = 200;
  const auto losses_with = [&](int pyramid) {
    options.pyramid = pyramid;
    std::vector<double> losses;
    GatysCallbacks record;
    record.on_progress = [&](const GatysProgress& step) { losses.push_back(step.total); };
    EXPECT_TRUE(stylize_gatys(network, content, {style}, options, record).finite);
    return losses;
  };
  const std::vector<double> pixels = losses_with(1), pyramid = losses_with(0);
  ASSERT_EQ(pixels.size(), 200u);
  ASSERT_EQ(pyramid.size(), 200u);
  EXPECT_EQ(gatys_pyramid_levels(options, content.rows, content.cols), 3);
  EXPECT_NEAR(pyramid.front(), pixels.front(), 1e-6 * pixels.front()) << "both start from the photo";
  size_t reached = 0;
  while (reached < pyramid.size() && pyramid[reached] > pixels.back()) ++reached;
  std::printf("pixels: %.4f after 200 iterations; the pyramid reached it after %zu, %.4f after 200\n", pixels.back(),
              reached + 1, pyramid.back());
  EXPECT_LE(reached + 1, 180u);
  EXPECT_LT(*std::max_element(pyramid.begin(), pyramid.end()), 10 * pyramid.front());
}

}  // namespace
}  // namespace atelier
