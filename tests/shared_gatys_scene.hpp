// The Gatys benchmark's scene from ../shared, for tests on the real VGG:
// tubingen x Starry Night at a size, the partial VGG19 and the layers it holds.
#pragma once
#include <optional>
#include <string>

#include "atelier/image.hpp"
#include "stylize/gatys.hpp"
#include "test_support.hpp"

namespace atelier::testing {

struct SharedGatysScene {
  VggFeatures network;
  cv::Mat content, style;  // CV_32FC3 RGB, longest side `size`
  GatysOptions options;    // content relu3_2; style relu1_1, relu2_1, relu3_1
};

// Empty when one of its files is absent from ../shared (the caller skips).
inline std::optional<SharedGatysScene> shared_gatys_scene(int size) {
  const std::string weights = shared_path("models/vgg19-caffe-partial.safetensors");
  const std::string content = shared_path("images/content/tubingen.jpg");
  const std::string style = shared_path("images/style/starry_night.jpg");
  if (weights.empty() || content.empty() || style.empty()) return std::nullopt;
  GatysOptions options;
  options.content_layers = {"relu3_2"};
  options.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
  return SharedGatysScene{VggFeatures::load(weights, std::nullopt, Pooling::Max),
                          resize_longest_side(load_image(content), size).rgb,
                          resize_longest_side(load_image(style), size).rgb, options};
}

}  // namespace atelier::testing

// Skips the current test, loudly, when the scene's files are not in ../shared.
#define ATELIER_REQUIRE_SHARED_GATYS_SCENE(var, size)                                                   \
  auto var##_found = ::atelier::testing::shared_gatys_scene(size);                                     \
  if (!var##_found) {                                                                                   \
    GTEST_SKIP() << "SKIPPED: ../shared lacks the partial VGG19, tubingen.jpg or starry_night.jpg"; \
  }                                                                                                     \
  auto& var = *var##_found
