// ResNet-50 feature network (src/models/resnet.cpp) with the real Caffe
// weights from ../shared: it must classify the shared photos as the
// weights' README says it does, and serve as style training's perceptual
// feature network.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "models/resnet.hpp"
#include "train/style_training.hpp"
#include "models/vgg.hpp"
#include "torch/tensor_image.hpp"
#include "test_support.hpp"

namespace atelier {
namespace {

torch::Tensor photo_224(const std::string& path) {
  cv::Mat rgb;
  cv::resize(load_image(path).rgb, rgb, {224, 224}, 0, 0, cv::INTER_AREA);
  return image_to_tensor(rgb);
}

TEST(ResNet50Shared, ClassifiesTheSharedPhotos) {
  ATELIER_REQUIRE_SHARED(weights, "models/resnet50-caffe.safetensors");
  ATELIER_REQUIRE_SHARED(chelsea, "images/content/chelsea.png");
  ATELIER_REQUIRE_SHARED(coffee, "images/content/coffee.png");
  configure_runtime(0);
  const ResNet50 network = ResNet50::load(weights);
  EXPECT_TRUE(network.stride_in_1x1());
  torch::NoGradGuard no_grad;
  const auto out = network.forward(torch::cat({photo_224(chelsea), photo_224(coffee)}), {"logits", "pool", "layer2"});
  const auto probabilities = out.at("logits").softmax(1);
  const auto [best, index] = probabilities.max(1);
  std::printf("[ measure  ] chelsea: class %lld p=%.3f; coffee: class %lld p=%.3f\n",
              static_cast<long long>(index[0].item<int64_t>()), best[0].item<double>(),
              static_cast<long long>(index[1].item<int64_t>()), best[1].item<double>());
  EXPECT_EQ(index[0].item<int64_t>(), 285);  // Egyptian cat
  EXPECT_EQ(index[1].item<int64_t>(), 967);  // espresso
  EXPECT_GT(best[0].item<double>(), 0.5);
  EXPECT_EQ(out.at("pool").sizes(), (std::vector<int64_t>{2, 2048}));
  EXPECT_EQ(out.at("layer2").sizes(), (std::vector<int64_t>{2, 512, 28, 28}));
  EXPECT_THROW(network.forward(photo_224(chelsea), {"layer9"}), Error);
}

TEST(ResNet50Shared, IsAFeatureNetworkForStyleTraining) {
  ATELIER_REQUIRE_SHARED(weights, "models/resnet50-caffe.safetensors");
  ATELIER_REQUIRE_SHARED(style_path, "images/style/starry_night.jpg");
  ATELIER_REQUIRE_SHARED(chelsea, "images/content/chelsea.png");
  configure_runtime(0);
  const auto features = load_feature_network(weights, std::nullopt, Pooling::Max);
  EXPECT_EQ(features->architecture(), "resnet50");
  EXPECT_EQ(features->default_content_layer(), "layer2");
  // Feature maps, strides 2, 4, 8, 16 and 32 of the input.
  {
    torch::NoGradGuard no_grad;
    const auto maps = features->extract(torch::rand({1, 3, 64, 64}), features->layers());
    EXPECT_EQ(maps.at("conv1").sizes(), (std::vector<int64_t>{1, 64, 32, 32}));
    EXPECT_EQ(maps.at("layer1").sizes(), (std::vector<int64_t>{1, 256, 16, 16}));
    EXPECT_EQ(maps.at("layer4").sizes(), (std::vector<int64_t>{1, 2048, 2, 2}));
  }
  try {
    features->check_layer("relu2_2");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("valid: conv1, layer1"), std::string::npos) << error.what();
  }

  // Training on one photo with ResNet's layers lowers the loss: gradients
  // flow back through the bottlenecks into the style network.
  cv::Mat style;
  cv::resize(load_image(style_path).rgb, style, {64, 64}, 0, 0, cv::INTER_AREA);
  StyleTrainingOptions options;
  options.learning_rate = 1e-2;
  ProcessGroup single(DistributedOptions{});
  StyleTrainer trainer(*features, style, options, single);
  EXPECT_EQ(trainer.loss().style_layers(), (std::vector<std::string>{"conv1", "layer1", "layer2", "layer3"}));
  const auto photos = photo_224(chelsea).narrow(2, 80, 64).narrow(3, 80, 64).contiguous();
  const StyleLosses before = trainer.evaluate(photos);
  for (int i = 0; i < 15; ++i) trainer.step(photos);
  const StyleLosses after = trainer.evaluate(photos);
  std::printf("[ measure  ] ResNet-50 perceptual loss: total %.3f -> %.3f, style %.3f -> %.3f\n", before.total,
              after.total, before.style, after.style);
  EXPECT_LT(after.total, before.total / 2);
  EXPECT_LT(after.style, before.style / 2);
}

TEST(ResNet50Errors, VggFileIsNotAResNet) {
  ATELIER_REQUIRE_SHARED(vgg, "models/vgg19-caffe-partial.safetensors");
  try {
    ResNet50::load(vgg);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("not a ResNet-50"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace atelier
