// Tiled feed-forward stylisation (src/stylize/tiled_stylize.cpp): tiles
// with the whole image's instance-norm statistics reproduce one untiled
// pass; tiles with their own statistics (the naive way) do not, which is
// what shows as seams and colour shifts between tiles.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

#include "atelier/error.hpp"
#include "models/fast_style.hpp"
#include "atelier/image.hpp"
#include "random_style_network.hpp"
#include "shared_mosaic.hpp"
#include "test_support.hpp"
#include "tile_pictures.hpp"

namespace atelier {
namespace {

using testing::max_difference;
using testing::random_picture;

// PSNR in dB between two RGB [0,1] images.
double psnr(const cv::Mat& a, const cv::Mat& b) {
  const double mse = cv::norm(a, b, cv::NORM_L2SQR) / static_cast<double>(a.total() * a.channels());
  return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(1.0 / mse);
}

// The naive way: each tile (with the same halo) stylised on its own, so
// each has its own instance-norm statistics; inner parts pasted together.
cv::Mat stylize_with_per_tile_statistics(const FastStyleNetwork& network, const cv::Mat& rgb, int tile) {
  constexpr int kHalo = 32;
  cv::Mat out(rgb.size(), rgb.type());
  for (int y = 0; y < rgb.rows; y += tile)
    for (int x = 0; x < rgb.cols; x += tile) {
      const cv::Rect inner(x, y, std::min(tile, rgb.cols - x), std::min(tile, rgb.rows - y));
      const cv::Rect outer = cv::Rect(x - kHalo, y - kHalo, inner.width + 2 * kHalo, inner.height + 2 * kHalo) &
                             cv::Rect(0, 0, rgb.cols, rgb.rows);
      cv::Mat stylised = stylize_image(network, rgb(outer).clone());
      stylised(inner - outer.tl()).copyTo(out(inner));
    }
  return out;
}

class TiledStylize : public ::testing::TestWithParam<FastStyleArchitecture> {};

// Odd sizes (not multiples of 4) and small tiles: many tiles, every kind of
// edge, and for Engstrom's SAME padding a stride-2 grid that depends on the
// whole image's parity.
TEST_P(TiledStylize, MatchesOneUntiledPass) {
  const FastStyleNetwork network(GetParam(), testing::random_style_weights(GetParam(), 11));
  for (const cv::Size size : {cv::Size(203, 157), cv::Size(190, 262)}) {
    const cv::Mat picture = random_picture(size.width, size.height, 12);
    const cv::Mat untiled = stylize_image(network, picture);
    const cv::Mat tiled = stylize_image_tiled(network, picture, 64);
    ASSERT_EQ(tiled.size(), picture.size());
    double max_difference = 0;
    cv::minMaxLoc(cv::Mat(cv::abs(tiled - untiled)).reshape(1), nullptr, &max_difference);
    std::printf("[ measure  ] %s %dx%d in 64 px tiles: max |tiled - untiled| = %.3g (0..1 scale)\n",
                architecture_name(GetParam()), size.width, size.height, max_difference);
    EXPECT_LT(max_difference, 1e-4);
  }
}

// The same comparison with per-tile statistics fails, so the test above can.
TEST_P(TiledStylize, PerTileStatisticsWouldNotMatch) {
  const FastStyleNetwork network(GetParam(), testing::random_style_weights(GetParam(), 11));
  const cv::Mat picture = random_picture(203, 157, 12);
  const double per_tile = psnr(stylize_with_per_tile_statistics(network, picture, 64), stylize_image(network, picture));
  std::printf("[ measure  ] %s, per-tile statistics: PSNR %.1f dB against untiled\n", architecture_name(GetParam()),
              per_tile);
  EXPECT_LT(per_tile, 30.0);
}

INSTANTIATE_TEST_SUITE_P(BothArchitectures, TiledStylize,
                         ::testing::Values(FastStyleArchitecture::PytorchExamples, FastStyleArchitecture::Engstrom),
                         [](const auto& info) { return std::string(info.param == FastStyleArchitecture::Engstrom
                                                                       ? "Engstrom"
                                                                       : "PytorchExamples"); });

TEST(TilingPlan, WholeWhenItFitsTilesWhenNotErrorWhenNothingFits) {
  EXPECT_EQ(plan_tiling(3000, 4000, 0).tile, 0);                // no limit
  EXPECT_EQ(plan_tiling(3000, 4000, int64_t{64} << 30).tile, 0);  // 64 GiB: whole
  const TilingPlan tiled = plan_tiling(3000, 4000, int64_t{4} << 30);
  EXPECT_GE(tiled.tile, 256);
  EXPECT_EQ(tiled.tile % 64, 0);
  EXPECT_LE(tiled.estimated_bytes, int64_t{4} << 30);
  EXPECT_GT(plan_tiling(3000, 4000, int64_t{8} << 30).tile, tiled.tile);  // more memory, larger tiles
  EXPECT_THROW(plan_tiling(3000, 4000, int64_t{1} << 30), Error);       // not even the smallest tiles
}

TEST(TiledStylizeErrors, RejectsBadTileSizes) {
  const auto architecture = FastStyleArchitecture::PytorchExamples;
  const FastStyleNetwork network(architecture, testing::random_style_weights(architecture, 1));
  const cv::Mat picture = random_picture(100, 100, 1);
  EXPECT_THROW(stylize_image_tiled(network, picture, 32), Error);
  EXPECT_THROW(stylize_image_tiled(network, picture, 66), Error);
}

// Acceptance: a picture of four shared photos (so the tiles differ a lot)
// with the real udnie network: tiled vs untiled PSNR >= 40 dB, while
// per-tile statistics stay well below. 2000x1500 in 768 px tiles in every
// run; the full 4000x3000 in 1024 px tiles (three minutes on 2 cores) with
// ATELIER_SLOW_TESTS=1.
TEST(TiledStylizeShared, UdnieMosaic) {
  ATELIER_REQUIRE_SHARED(model, "models/fast-style/pytorch-examples/udnie.safetensors");
  const bool full = testing::slow_tests_enabled();
  const cv::Size size = full ? cv::Size(4000, 3000) : cv::Size(2000, 1500);
  const int tile = full ? 1024 : 768;
  ATELIER_REQUIRE_SHARED_MOSAIC(picture, size);
  configure_runtime(0);
  const FastStyleNetwork network = load_fast_style_network(model);
  const cv::Mat untiled = stylize_image(network, picture);
  const double tiled = psnr(stylize_image_tiled(network, picture, tile), untiled);
  const double per_tile = psnr(stylize_with_per_tile_statistics(network, picture, tile), untiled);
  std::printf("[ measure  ] udnie %dx%d in %d px tiles: PSNR %.1f dB (per-tile statistics: %.1f dB)\n", size.width,
              size.height, tile, tiled, per_tile);
  EXPECT_GE(tiled, 40.0);
  EXPECT_LT(per_tile, 40.0);
}

}  // namespace
}  // namespace atelier
