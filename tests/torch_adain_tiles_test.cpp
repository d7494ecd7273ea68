// AdaIN on large pictures in tiles (issue 14): AdaIN runs on the whole map
// of the content's features, so tiles give the whole pass's picture; random
// weights in the real layouts, small pictures and small tiles (many tiles,
// every kind of edge).
#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <cstdio>

#include "atelier/adain_style.hpp"
#include "atelier/error.hpp"
#include "models/adain.hpp"
#include "models/vgg.hpp"
#include "random_adain_network.hpp"
#include "test_support.hpp"
#include "tile_pictures.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace adain_tiles_test {

using testing::max_difference;
using testing::random_picture;

std::shared_ptr<const FeatureNetwork> random_encoder(const std::string& level, uint64_t seed) {
  if (level == "relu4_1") return std::make_shared<NormalisedVgg>(testing::random_normalised_vgg_weights(seed));
  return std::make_shared<VggFeatures>("vgg19", testing::random_vgg_to_relu3_1_weights(seed), Preprocess::Caffe,
                                       Pooling::Max);
}

class AdainTiles : public ::testing::TestWithParam<std::string> {};

// stylize_tiled over AdainStages against one pass, with a blend of two
// styles and with a mask (whose regions take their own statistics).
TEST_P(AdainTiles, MatchOneWholePass) {
  const std::string level = GetParam();
  const auto encoder = random_encoder(level, 3);
  AdainDecoder decoder = testing::random_adain_decoder(*encoder, level, 4);
  torch::InferenceMode inference;
  torch::manual_seed(5);
  const std::vector<AdainStatistics> styles = {
      channel_mean_std(encoder->extract(torch::rand({1, 3, 48, 48}), {level}).at(level)),
      channel_mean_std(encoder->extract(torch::rand({1, 3, 40, 56}).pow(3), {level}).at(level))};
  const cv::Mat picture = random_picture(152, 112, 6);  // multiples of 8
  const auto mask = (torch::arange(152).view({1, -1}) + torch::arange(112).view({-1, 1}) < 130).to(torch::kFloat32);
  const std::vector<std::pair<std::string, AdainStages::Target>> targets = {
      {"blend", [&](const torch::Tensor& c) { return adain_target(c, styles, {0.7, 0.3}, 0.9); }},
      {"mask", [&](const torch::Tensor& c) {
         return adain_masked_target(c, styles[0], styles[1], mask_at_size(mask, c.size(2), c.size(3)), 1.0);
       }}};
  for (const auto& [name, target] : targets) {
    const auto content = encoder->extract(image_to_tensor(picture), {level}).at(level);
    const cv::Mat whole = tensor_to_image(decoder->forward(target(content)));
    const cv::Mat tiled = stylize_tiled(AdainStages(*encoder, *decoder, target), picture, 64);
    ASSERT_EQ(tiled.size(), picture.size());
    const double difference = max_difference(tiled, whole);
    std::printf("[ measure  ] AdaIN %s %s, 152x112 in 64 px tiles: max |tiled - whole| = %.3g\n", level.c_str(),
                name.c_str(), difference);
    EXPECT_LT(difference, 1e-4) << name;
  }
}

// The same with AdaIN per tile (each tile's own content statistics) does
// not match, so the test above can fail.
TEST_P(AdainTiles, PerTileStatisticsWouldNotMatch) {
  const std::string level = GetParam();
  const auto encoder = random_encoder(level, 3);
  AdainDecoder decoder = testing::random_adain_decoder(*encoder, level, 4);
  torch::InferenceMode inference;
  torch::manual_seed(5);
  const AdainStatistics style = channel_mean_std(encoder->extract(torch::rand({1, 3, 48, 48}), {level}).at(level));
  const cv::Mat picture = random_picture(216, 160, 6);
  auto paint = [&](const cv::Mat& rgb) {
    const auto content = encoder->extract(image_to_tensor(rgb), {level}).at(level);
    return tensor_to_image(decoder->forward(adain_target(content, {style}, {1.0}, 1.0)));
  };
  const cv::Mat whole = paint(picture);
  cv::Mat per_tile = whole.clone();
  paint(picture(cv::Rect(0, 0, 112, 160))).copyTo(per_tile(cv::Rect(0, 0, 112, 160)));
  EXPECT_GT(max_difference(per_tile, whole), 1e-2);
}

INSTANTIATE_TEST_SUITE_P(BothLevels, AdainTiles, ::testing::Values("relu3_1", "relu4_1"));

// The painter tiles a picture that its budget cannot hold whole, and the
// result is the whole pass's; a budget no tile fits is a one-line error.
TEST(AdainPainterTiles, WithinMaxMemory) {
  testing::ScratchDir scratch;
  const auto files = testing::write_random_adain_models(scratch.path(), "relu3_1", 7);
  const AdainPainter painter(files.encoder, files.decoder);
  const cv::Mat picture = random_picture(603, 451, 8);  // padded to 604x452
  const std::int64_t budget = int64_t{720} << 20;
  ASSERT_GT(plan_adain_tiling(451, 603, "relu3_1", 0).estimated_bytes, budget);
  const TilingPlan plan = plan_adain_tiling(451, 603, "relu3_1", budget);
  ASSERT_GT(plan.tile, 0);
  EXPECT_LE(plan.estimated_bytes, budget);
  const AdainStyle style = painter.style(random_picture(64, 64, 9));
  AdainOptions options;
  options.alpha = 0.8;
  const cv::Mat whole = painter.paint(picture, {style}, options);
  options.max_memory = budget;
  const cv::Mat tiled = painter.paint(picture, {style}, options);
  ASSERT_EQ(tiled.size(), picture.size());
  EXPECT_LT(max_difference(tiled, whole), 1e-4);
  options.max_memory = int64_t{64} << 20;
  EXPECT_THROW(painter.paint(picture, {style}, options), Error);
}

}  // namespace adain_tiles_test
}  // namespace atelier
