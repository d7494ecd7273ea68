// The VGG feature networks: layer naming, partial weight files, loading from
// safetensors, pooling, and the real Caffe VGG19 from ../shared.
#include <gtest/gtest.h>

#include "atelier/error.hpp"
#include "models/vgg.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"

namespace atelier {
namespace {

int features_index(const std::string& architecture, const std::string& layer) {
  for (const auto& [name, index] : vgg_layer_names(architecture))
    if (name == layer) return index;
  return -1;
}

TEST(VggLayers, TorchvisionIndicesForVgg16AndVgg19) {
  EXPECT_EQ(features_index("vgg19", "conv1_1"), 0);
  EXPECT_EQ(features_index("vgg19", "relu1_1"), 1);
  EXPECT_EQ(features_index("vgg19", "pool1"), 4);
  EXPECT_EQ(features_index("vgg19", "conv3_4"), 16);
  EXPECT_EQ(features_index("vgg19", "relu4_2"), 22);
  EXPECT_EQ(features_index("vgg19", "relu5_1"), 29);
  EXPECT_EQ(features_index("vgg19", "pool5"), 36);
  EXPECT_EQ(features_index("vgg16", "conv4_1"), 17);
  EXPECT_EQ(features_index("vgg16", "relu4_2"), 20);
  EXPECT_EQ(features_index("vgg16", "pool5"), 30);
  EXPECT_EQ(features_index("vgg16", "conv3_4"), -1);
}

TEST(VggFeatures, PartialWeightsEndTheNetworkAndNameWhatIsPresent) {
  VggFeatures network("vgg19", testing::tiny_vgg_weights("vgg19", 8), Preprocess::Caffe, Pooling::Max);
  EXPECT_TRUE(network.has_layer("relu3_4"));
  EXPECT_TRUE(network.has_layer("pool3"));
  EXPECT_FALSE(network.has_layer("conv4_1"));
  try {
    network.check_layer("relu4_2");
    FAIL() << "relu4_2 should be missing";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("relu4_2"), std::string::npos) << message;
    EXPECT_NE(message.find("layers present"), std::string::npos) << message;
    EXPECT_NE(message.find("relu3_4"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

TEST(VggFeatures, UnknownLayerListsValidNames) {
  VggFeatures network("vgg16", testing::tiny_vgg_weights("vgg16"), Preprocess::Caffe, Pooling::Max);
  EXPECT_TRUE(network.has_layer("relu5_3"));
  try {
    network.check_layer("relu3_4");  // exists only in VGG19
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("unknown layer \"relu3_4\" for vgg16"), std::string::npos);
  }
  EXPECT_THROW(network.extract(torch::rand({1, 3, 32, 32}), {"relu9_9"}), Error);
}

TEST(VggFeatures, ExtractGivesRequestedLayersWithExpectedShapes) {
  VggFeatures network("vgg19", testing::tiny_vgg_weights("vgg19"), Preprocess::Torchvision, Pooling::Max);
  auto features = network.extract(torch::rand({1, 3, 64, 48}), {"relu1_1", "relu3_1", "relu5_1", "pool5"});
  ASSERT_EQ(features.size(), 4u);
  EXPECT_EQ(features.at("relu1_1").sizes(), (std::vector<int64_t>{1, 4, 64, 48}));
  EXPECT_EQ(features.at("relu3_1").sizes(), (std::vector<int64_t>{1, 12, 16, 12}));
  EXPECT_EQ(features.at("relu5_1").sizes(), (std::vector<int64_t>{1, 20, 4, 3}));
  EXPECT_EQ(features.at("pool5").sizes(), (std::vector<int64_t>{1, 20, 2, 1}));
  EXPECT_GE(features.at("relu1_1").min().item<float>(), 0.0f);
}

TEST(VggFeatures, ConvMatchesDirectComputation) {
  auto weights = testing::tiny_vgg_weights("vgg19", 1);
  VggFeatures network("vgg19", weights, Preprocess::Torchvision, Pooling::Max);
  auto image = torch::rand({1, 3, 8, 8});
  auto expected = torch::relu(torch::conv2d(network.preprocess_image(image), weights.at("features.0.weight"),
                                            weights.at("features.0.bias"), 1, 1));
  network.set_winograd(false);  // the direct path: the same numbers
  EXPECT_TRUE(torch::allclose(network.extract(image, {"relu1_1"}).at("relu1_1"), expected));
  network.set_winograd(true);  // Winograd where this CPU has it: to float rounding of the largest values
  const auto tolerance = 1e-5 * expected.abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(network.extract(image, {"relu1_1"}).at("relu1_1"), expected, 1e-5, tolerance));
}

TEST(VggFeatures, AveragePoolingDiffersFromMax) {
  auto weights = testing::tiny_vgg_weights("vgg19", 3);
  VggFeatures max_net("vgg19", weights, Preprocess::Caffe, Pooling::Max);
  VggFeatures avg_net("vgg19", weights, Preprocess::Caffe, Pooling::Average);
  auto image = torch::rand({1, 3, 16, 16});
  auto pooled_max = max_net.extract(image, {"pool1"}).at("pool1");
  auto pooled_avg = avg_net.extract(image, {"pool1"}).at("pool1");
  auto relu = max_net.extract(image, {"relu1_2"}).at("relu1_2");
  EXPECT_TRUE(torch::allclose(pooled_max, torch::max_pool2d(relu, 2, 2)));
  EXPECT_TRUE(torch::allclose(pooled_avg, torch::avg_pool2d(relu, 2, 2)));
  EXPECT_FALSE(torch::allclose(pooled_max, pooled_avg));
}

TEST(VggFeatures, LoadReadsSafetensorsInfersArchitectureAndConvention) {
  testing::ScratchDir dir;
  const std::string path = dir.file("tiny16.safetensors");
  testing::write_tiny_vgg_file(path, "vgg16", -1, {{"preprocess", "caffe"}});
  VggFeatures network = VggFeatures::load(path, std::nullopt, Pooling::Max);
  EXPECT_EQ(network.architecture(), "vgg16");  // from the keys: features.17 is conv4_1 only in VGG16
  EXPECT_EQ(network.preprocess(), Preprocess::Caffe);
  EXPECT_TRUE(network.has_layer("relu5_3"));
  // The flag overrides the metadata.
  EXPECT_EQ(VggFeatures::load(path, Preprocess::Torchvision, Pooling::Max).preprocess(), Preprocess::Torchvision);
}

TEST(VggFeatures, LoadDefaultsToTorchvisionConventionWithoutMetadata) {
  testing::ScratchDir dir;
  const std::string path = dir.file("tiny19.safetensors");
  testing::write_tiny_vgg_file(path, "vgg19", -1, {});
  VggFeatures network = VggFeatures::load(path, std::nullopt, Pooling::Max);
  EXPECT_EQ(network.architecture(), "vgg19");
  EXPECT_EQ(network.preprocess(), Preprocess::Torchvision);
}

TEST(VggFeatures, LoadRejectsFilesWithoutVggWeights) {
  testing::ScratchDir dir;
  const std::string path = dir.file("other.safetensors");
  write_safetensors(path, {{"conv1.weight", TensorToWrite{DType::F32, {1}, {1.0f}}}});
  EXPECT_THROW(VggFeatures::load(path, std::nullopt, Pooling::Max), Error);
}

TEST(VggFeatures, RealCaffeVgg19PartialFile) {
  ATELIER_REQUIRE_SHARED(path, "models/vgg19-caffe-partial.safetensors");
  VggFeatures network = VggFeatures::load(path, std::nullopt, Pooling::Max);
  EXPECT_EQ(network.architecture(), "vgg19");
  EXPECT_EQ(network.preprocess(), Preprocess::Caffe);
  EXPECT_TRUE(network.has_layer("relu3_4"));
  EXPECT_FALSE(network.has_layer("relu4_1"));
  EXPECT_THROW(network.check_layer("relu4_2"), Error);
  // A mid-grey image is close to the Caffe mean: relu1_1 responds weakly but not at all-zero.
  auto features = network.extract(torch::full({1, 3, 32, 32}, 0.45f), {"relu1_1", "relu3_1"});
  EXPECT_GT(features.at("relu3_1").abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace atelier
