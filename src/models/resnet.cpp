#include "models/resnet.hpp"

#include <algorithm>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace {

// Bottleneck blocks per stage and their widths (the 1x1 reduction).
constexpr int kBlocks[4] = {3, 4, 6, 3};
constexpr int64_t kWidths[4] = {64, 128, 256, 512};

}  // namespace

const std::vector<std::string>& ResNet50::output_names() {
  static const std::vector<std::string> names = {"conv1", "layer1", "layer2", "layer3", "layer4", "pool", "logits"};
  return names;
}

ResNet50 ResNet50::load(const std::string& path, const torch::Device& device) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  ResNet50 network;
  network.device_ = device;
  for (const auto& name : file.names()) network.weights_[name] = load_tensor(file, name).to(device);
  network.stride_in_1x1_ = file.metadata_value("variant").rfind("stride_in_1x1", 0) == 0;
  network.preprocess_ = parse_preprocess(file.metadata_value("preprocess", "torchvision"));
  // Every key the forward pass reads, with the shapes that matter.
  auto require = [&](const std::string& key, std::vector<int64_t> shape) {
    auto found = network.weights_.find(key);
    if (found == network.weights_.end()) throw Error(path + ": not a ResNet-50: lacks \"" + key + "\"");
    if (found->second.sizes().vec() != shape) throw Error(path + ": \"" + key + "\" has the wrong shape for a ResNet-50");
  };
  require("conv1.weight", {64, 3, 7, 7});
  int64_t in = 64;
  for (int stage = 0; stage < 4; ++stage)
    for (int block = 0; block < kBlocks[stage]; ++block) {
      const std::string name = "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
      const int64_t width = kWidths[stage];
      require(name + ".conv1.weight", {width, in, 1, 1});
      require(name + ".conv2.weight", {width, width, 3, 3});
      require(name + ".conv3.weight", {4 * width, width, 1, 1});
      if (block == 0) require(name + ".downsample.0.weight", {4 * width, in, 1, 1});
      in = 4 * width;
    }
  require("fc.weight", {1000, 2048});
  return network;
}

torch::Tensor ResNet50::batch_norm(const torch::Tensor& x, const std::string& name) const {
  return torch::batch_norm(x, weights_.at(name + ".weight"), weights_.at(name + ".bias"),
                           weights_.at(name + ".running_mean"), weights_.at(name + ".running_var"),
                           /*training=*/false, 0.0, 1e-5, /*cudnn_enabled=*/false);
}

torch::Tensor ResNet50::bottleneck(const torch::Tensor& x, const std::string& name, int64_t stride,
                                   bool downsample) const {
  const int64_t stride_1x1 = stride_in_1x1_ ? stride : 1, stride_3x3 = stride_in_1x1_ ? 1 : stride;
  auto y = batch_norm(torch::conv2d(x, weights_.at(name + ".conv1.weight"), {}, stride_1x1), name + ".bn1").relu_();
  y = batch_norm(torch::conv2d(y, weights_.at(name + ".conv2.weight"), {}, stride_3x3, 1), name + ".bn2").relu_();
  y = batch_norm(torch::conv2d(y, weights_.at(name + ".conv3.weight")), name + ".bn3");
  const auto shortcut =
      downsample ? batch_norm(torch::conv2d(x, weights_.at(name + ".downsample.0.weight"), {}, stride), name + ".downsample.1")
                 : x;
  return y.add_(shortcut).relu_();
}

std::map<std::string, torch::Tensor> ResNet50::forward(const torch::Tensor& rgb01,
                                                       const std::vector<std::string>& outputs) const {
  size_t deepest = 0;
  for (const auto& output : outputs) {
    const auto& names = output_names();
    auto at = std::find(names.begin(), names.end(), output);
    if (at == names.end()) throw Error("ResNet-50 has no output \"" + output + "\" (conv1, layer1..layer4, pool, logits)");
    deepest = std::max(deepest, static_cast<size_t>(at - names.begin()));
  }
  torch::Tensor x;
  if (preprocess_ == Preprocess::Caffe) {
    const auto mean = torch::tensor({103.939f, 116.779f, 123.68f}, rgb01.options()).view({1, 3, 1, 1});
    x = rgb01.flip(1) * 255.0 - mean;
  } else {
    const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}, rgb01.options()).view({1, 3, 1, 1});
    const auto std = torch::tensor({0.229f, 0.224f, 0.225f}, rgb01.options()).view({1, 3, 1, 1});
    x = (rgb01 - mean) / std;
  }
  std::map<std::string, torch::Tensor> result;
  auto keep = [&](const std::string& name, const torch::Tensor& value) {
    if (std::find(outputs.begin(), outputs.end(), name) != outputs.end()) result[name] = value;
  };
  x = batch_norm(torch::conv2d(x, weights_.at("conv1.weight"), {}, 2, 3), "bn1").relu();
  keep("conv1", x);
  if (deepest == 0) return result;
  x = torch::max_pool2d(x, 3, 2, 1);
  for (int stage = 0; stage < 4; ++stage) {
    for (int block = 0; block < kBlocks[stage]; ++block)
      x = bottleneck(x, "layer" + std::to_string(stage + 1) + "." + std::to_string(block),
                     block == 0 && stage > 0 ? 2 : 1, block == 0);
    keep("layer" + std::to_string(stage + 1), x);
    if (deepest == static_cast<size_t>(stage + 1)) return result;
  }
  const auto pooled = x.mean({2, 3});
  keep("pool", pooled);
  if (deepest == 5) return result;
  keep("logits", torch::linear(pooled, weights_.at("fc.weight"), weights_.at("fc.bias")));
  return result;
}

std::vector<std::string> ResNet50::layers() const { return {"conv1", "layer1", "layer2", "layer3", "layer4"}; }

std::map<std::string, torch::Tensor> ResNet50::extract(const torch::Tensor& rgb01,
                                                       const std::vector<std::string>& layer_names) const {
  for (const auto& name : layer_names) check_layer(name);
  return forward(rgb01, layer_names);
}

}  // namespace atelier
