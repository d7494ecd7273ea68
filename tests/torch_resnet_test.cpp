// ResNet-50 feature network (src/models/resnet.cpp) with the real Caffe
// weights from ../shared: it must classify the shared photos as the
// weights' README says it does.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/resnet.hpp"
#include "atelier/tensor_image.hpp"
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
