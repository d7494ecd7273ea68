// Styles where a mask says (issue 15): guided Gram matrices for Gatys, and
// the acceptance on real data for Gatys and the feed-forward networks: the
// Gram matrices at relu2_1 of each region of the output are nearer its own
// style's than the other's.
#include <gtest/gtest.h>

#include <cstdio>

#include "atelier/image.hpp"
#include "atelier/painters.hpp"
#include "atelier/regions.hpp"
#include "losses/losses.hpp"
#include "stylize/gatys.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace {

cv::Mat noise(int width, int height, int seed) {
  cv::Mat rgb(height, width, CV_32FC3);
  cv::RNG(seed).fill(rgb, cv::RNG::UNIFORM, 0.0, 1.0);
  return rgb;
}

// A mask of ones on the left `fraction` of a width x height picture.
cv::Mat left_part(int width, int height, double fraction) {
  cv::Mat mask = cv::Mat::zeros(height, width, CV_32FC1);
  mask(cv::Rect(0, 0, static_cast<int>(width * fraction), height)).setTo(1.0f);
  return mask;
}

// The guided Gram matrix of a binary region is the Gram matrix of that
// region's features alone (normalised by its own area), so the masked loss
// is the style loss of the region, by hand from the features; a mask of
// ones everywhere is the unmasked loss.
TEST(GuidedGram, BinaryRegionIsItsOwnGramMatrix) {
  const VggFeatures network("vgg19", testing::tiny_vgg_weights("vgg19", 5), Preprocess::Caffe, Pooling::Max);
  GatysOptions options;
  options.content_layers = {"relu2_2"};
  options.style_layers = {"relu1_1", "relu2_1"};
  const auto content = image_to_tensor(noise(32, 16, 1)), style = image_to_tensor(noise(24, 24, 2));
  const auto image = image_to_tensor(noise(32, 16, 3));
  torch::NoGradGuard no_grad;

  const double unmasked = GatysObjective(network, content, {style}, {1.0}, options)(image).style.item<double>();
  options.style_masks = {cv::Mat::ones(16, 32, CV_32FC1)};
  const double everywhere = GatysObjective(network, content, {style}, {1.0}, options)(image).style.item<double>();
  EXPECT_NEAR(everywhere, unmasked, 1e-6 * unmasked);

  options.style_masks = {left_part(32, 16, 0.5)};  // 16 columns: whole feature columns at every layer
  const double masked = GatysObjective(network, content, {style}, {1.0}, options)(image).style.item<double>();
  const auto features = network.extract(image, options.style_layers);
  const auto targets = network.extract(style, options.style_layers);
  double by_hand = 0;
  for (const auto& layer : options.style_layers) {
    const auto& f = features.at(layer);
    const auto left = f.index({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(),
                               torch::indexing::Slice(0, f.size(3) / 2)});
    by_hand += style_loss(gram_matrix(left), gram_matrix(targets.at(layer))).item<double>();
  }
  by_hand *= options.style_weight / options.style_layers.size();
  EXPECT_NEAR(masked, by_hand, 1e-5 * by_hand);
  EXPECT_GT(std::abs(masked - unmasked), 1e-3 * unmasked);  // the right half no longer counts
}

// Acceptance (issue 15, item 1) on real data: styles left and right.
class RegionsShared : public ::testing::Test {
 protected:
  void SetUp() override {
    vgg_ = testing::shared_path("models/vgg19-caffe-partial.safetensors");
    photo_path_ = testing::shared_path("images/content/golden_gate.jpg");
    wave_path_ = testing::shared_path("images/style/hokusai_great_wave.jpg");
    scream_path_ = testing::shared_path("images/style/the_scream.jpg");
    if (vgg_.empty() || photo_path_.empty() || wave_path_.empty() || scream_path_.empty())
      GTEST_SKIP() << "SKIPPED: ../shared (partial VGG19, golden_gate, hokusai, the scream) is absent";
    configure_runtime(0);
  }

  // relu2_1 Gram distance of the output's region (a mask) to a picture's.
  double distance(const VggFeatures& network, const cv::Mat& output, const cv::Mat& region, const cv::Mat& style) {
    torch::NoGradGuard no_grad;
    const auto f = network.extract(image_to_tensor(output), {"relu2_1"}).at("relu2_1");
    auto mask = torch::from_blob(region.data, {1, 1, region.rows, region.cols}, torch::kFloat32).clone();
    mask = torch::nn::functional::interpolate(
        mask, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{f.size(2), f.size(3)}).mode(torch::kArea));
    const auto gram = gram_matrix(f * mask) / mask.square().mean();
    const auto target = gram_matrix(network.extract(image_to_tensor(style), {"relu2_1"}).at("relu2_1"));
    return style_loss(gram, target).item<double>();
  }

  std::string vgg_, photo_path_, wave_path_, scream_path_;
};

TEST_F(RegionsShared, GatysPutsEachStyleInItsRegion) {
  const VggFeatures network = VggFeatures::load(vgg_, std::nullopt, Pooling::Max);
  const cv::Mat photo = resize_longest_side(load_image(photo_path_), 128).rgb;
  const cv::Mat wave = resize_longest_side(load_image(wave_path_), 128).rgb;
  const cv::Mat scream = resize_longest_side(load_image(scream_path_), 128).rgb;
  const cv::Mat left = left_part(photo.cols, photo.rows, 0.5), right = 1.0 - left;
  GatysOptions options;
  options.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
  options.content_layers = {"relu3_2"};
  options.iterations = 40;
  options.style_masks = {left, right};
  const GatysResult result = stylize_gatys(network, photo, {wave, scream}, options);
  ASSERT_TRUE(result.finite) << result.message;
  // Inner parts of each half (away from the seam).
  cv::Mat inner_left = cv::Mat::zeros(left.size(), CV_32FC1), inner_right = inner_left.clone();
  inner_left(cv::Rect(0, 0, photo.cols / 2 - 12, photo.rows)).setTo(1.0f);
  inner_right(cv::Rect(photo.cols / 2 + 12, 0, photo.cols - photo.cols / 2 - 12, photo.rows)).setTo(1.0f);
  const double left_wave = distance(network, result.rgb, inner_left, wave), left_scream = distance(network, result.rgb, inner_left, scream);
  const double right_wave = distance(network, result.rgb, inner_right, wave), right_scream = distance(network, result.rgb, inner_right, scream);
  std::printf("[ measure  ] Gatys, relu2_1 Gram distance: left to wave %.3g, to scream %.3g; right to scream %.3g, to wave %.3g\n",
              left_wave, left_scream, right_scream, right_wave);
  EXPECT_LT(left_wave, left_scream);
  EXPECT_LT(right_scream, right_wave);
}

TEST_F(RegionsShared, FeedForwardRegionsKeepTheirStyleAndBlackKeepsThePhoto) {
  const std::string candy = testing::shared_path("models/fast-style/pytorch-examples/candy.safetensors");
  const std::string udnie = testing::shared_path("models/fast-style/pytorch-examples/udnie.safetensors");
  if (candy.empty() || udnie.empty()) GTEST_SKIP() << "SKIPPED: ../shared fast styles candy and udnie are absent";
  const VggFeatures network = VggFeatures::load(vgg_, std::nullopt, Pooling::Max);
  const cv::Mat photo = resize_longest_side(load_image(photo_path_), 256).rgb;
  const cv::Mat by_candy = FastStylePainter(candy).paint(photo), by_udnie = FastStylePainter(udnie).paint(photo);
  // Red left third: candy; green middle: udnie; blue right third: bound to nothing.
  cv::Mat mask(photo.size(), CV_32FC3, cv::Scalar(1, 0, 0));
  const int third = photo.cols / 3;
  mask(cv::Rect(third, 0, third, photo.rows)).setTo(cv::Scalar(0, 1, 0));
  mask(cv::Rect(2 * third, 0, photo.cols - 2 * third, photo.rows)).setTo(cv::Scalar(0, 0, 1));
  const RegionWeights weights = colour_mask_weights(mask, photo.size(), {{255, 0, 0}, {0, 255, 0}}, 24, 4.0);
  const cv::Mat out = composite(photo, {by_candy, by_udnie}, weights.weights);
  cv::Mat first = cv::Mat::zeros(photo.size(), CV_32FC1), second = first.clone();
  first(cv::Rect(0, 0, third - 16, photo.rows)).setTo(1.0f);
  second(cv::Rect(third + 16, 0, third - 32, photo.rows)).setTo(1.0f);
  const double a_own = distance(network, out, first, by_candy), a_other = distance(network, out, first, by_udnie);
  const double b_own = distance(network, out, second, by_udnie), b_other = distance(network, out, second, by_candy);
  std::printf("[ measure  ] feed-forward, relu2_1 Gram distance: candy region %.3g own / %.3g other; udnie region %.3g own / %.3g other\n",
              a_own, a_other, b_own, b_other);
  EXPECT_LT(a_own, a_other);
  EXPECT_LT(b_own, b_other);
  const cv::Rect blue(2 * third + 16, 0, photo.cols - 2 * third - 16, photo.rows);
  EXPECT_LE(cv::norm(out(blue), photo(blue), cv::NORM_INF), 2.0 / 255);
}

}  // namespace
}  // namespace atelier
