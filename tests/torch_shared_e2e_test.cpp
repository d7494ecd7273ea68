// End to end with the real Caffe VGG19 and real images from ../shared
// (skipped, saying so, when absent): tubingen in the style of the Starry
// Night at 256 px.
#include <gtest/gtest.h>

#include "stylize/gatys.hpp"
#include "atelier/image.hpp"
#include "losses/losses.hpp"
#include "torch/tensor_image.hpp"
#include "test_support.hpp"

namespace atelier {
namespace {

double gram_distance(const VggFeatures& network, const cv::Mat& a, const cv::Mat& b, const std::string& layer) {
  torch::NoGradGuard no_grad;
  auto gram_a = gram_matrix(network.extract(image_to_tensor(a), {layer}).at(layer));
  auto gram_b = gram_matrix(network.extract(image_to_tensor(b), {layer}).at(layer));
  return (gram_a - gram_b).pow(2).sum().sqrt().item<double>();
}

TEST(SharedEndToEnd, TubingenStarryNight160) {
  ATELIER_REQUIRE_SHARED(weights, "models/vgg19-caffe-partial.safetensors");
  ATELIER_REQUIRE_SHARED(content_path, "images/content/tubingen.jpg");
  ATELIER_REQUIRE_SHARED(style_path, "images/style/starry_night.jpg");
  configure_runtime(0);
  const VggFeatures network = VggFeatures::load(weights, std::nullopt, Pooling::Max);
  const cv::Mat content = resize_longest_side(load_image(content_path), 160).rgb;
  const cv::Mat style = resize_longest_side(load_image(style_path), 160).rgb;

  GatysOptions options;
  options.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
  options.content_layers = {"relu3_2"};
  options.iterations = 60;
  GatysResult result = stylize_gatys(network, content, {style}, options);

  ASSERT_TRUE(result.finite) << result.message;
  EXPECT_GE(result.first_loss / result.final_loss, 10.0)
      << "loss " << result.first_loss << " -> " << result.final_loss;
  const double to_style = gram_distance(network, result.rgb, style, "relu2_1");
  const double to_content = gram_distance(network, result.rgb, content, "relu2_1");
  EXPECT_LT(to_style, to_content) << "relu2_1 Gram distance to style " << to_style << ", to content " << to_content;
}

}  // namespace
}  // namespace atelier
