#include "models/vgg.hpp"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <sstream>

#include "atelier/error.hpp"
#include "atelier/model_store.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace {

// Convolutions per block: VGG16 has 2,2,3,3,3 and VGG19 2,2,4,4,4.
std::vector<int> convs_per_block(const std::string& architecture) {
  if (architecture == "vgg16") return {2, 2, 3, 3, 3};
  if (architecture == "vgg19") return {2, 2, 4, 4, 4};
  throw Error("unsupported feature network \"" + architecture + "\" (expected vgg16 or vgg19)");
}

std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::ostringstream out;
  for (size_t i = 0; i < items.size(); ++i) out << (i ? separator : "") << items[i];
  return out.str();
}

}  // namespace

Preprocess parse_preprocess(const std::string& name) {
  if (name == "caffe") return Preprocess::Caffe;
  if (name == "torchvision") return Preprocess::Torchvision;
  throw Error("unknown preprocess convention \"" + name + "\" (expected caffe or torchvision)");
}

Pooling parse_pooling(const std::string& name) {
  if (name == "max") return Pooling::Max;
  if (name == "avg" || name == "average") return Pooling::Average;
  throw Error("unknown pooling \"" + name + "\" (expected max or avg)");
}

const char* preprocess_name(Preprocess preprocess) {
  return preprocess == Preprocess::Caffe ? "caffe" : "torchvision";
}

std::vector<std::pair<std::string, int>> vgg_layer_names(const std::string& architecture) {
  std::vector<std::pair<std::string, int>> names;
  int index = 0;
  const auto blocks = convs_per_block(architecture);
  for (size_t block = 0; block < blocks.size(); ++block) {
    for (int conv = 1; conv <= blocks[block]; ++conv) {
      const std::string suffix = std::to_string(block + 1) + "_" + std::to_string(conv);
      names.emplace_back("conv" + suffix, index++);
      names.emplace_back("relu" + suffix, index++);
    }
    names.emplace_back("pool" + std::to_string(block + 1), index++);
  }
  return names;
}

VggFeatures::VggFeatures(const std::string& architecture, const std::map<std::string, torch::Tensor>& weights,
                         Preprocess preprocess, Pooling pooling, const torch::Device& device)
    : architecture_(architecture), preprocess_(preprocess), pooling_(pooling), device_(device) {
  for (const auto& [name, index] : vgg_layer_names(architecture)) {
    Layer::Kind kind = name.rfind("conv", 0) == 0   ? Layer::Kind::Conv
                       : name.rfind("relu", 0) == 0 ? Layer::Kind::Relu
                                                    : Layer::Kind::Pool;
    all_layers_.push_back({name, kind, index});
  }
  // The usable prefix ends before the first convolution without weights.
  usable_layers_ = all_layers_.size();
  for (size_t i = 0; i < all_layers_.size(); ++i) {
    const Layer& layer = all_layers_[i];
    if (layer.kind != Layer::Kind::Conv) continue;
    const std::string key = "features." + std::to_string(layer.features_index);
    auto weight = weights.find(key + ".weight");
    auto bias = weights.find(key + ".bias");
    if (weight == weights.end() || bias == weights.end()) {
      usable_layers_ = i;
      break;
    }
    // Weights keep their floating dtype (float32 from files; tests use float64).
    convs_[layer.features_index] = {weight->second.to(device), bias->second.to(device)};
  }
  // Pools carry no weights, so a file ending with a whole block keeps its pool.
  if (usable_layers_ == 0) throw Error("weights hold no VGG convolution (features.0.weight missing)");
  set_channels_last(device.is_cpu());
  set_winograd(device.is_cpu());
}

void VggFeatures::set_winograd(bool winograd) {
  winograd_convs_.clear();
  if (!winograd || !winograd::available()) return;
  for (const auto& [index, conv] : convs_)
    if (winograd::Conv3x3::suits(conv.first)) winograd_convs_.emplace(index, winograd::Conv3x3(conv.first, conv.second));
}

void VggFeatures::set_channels_last(bool channels_last) {
  channels_last_ = channels_last;
  const auto format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& [index, conv] : convs_) conv.first = conv.first.contiguous(format);
}

VggFeatures VggFeatures::load(const std::string& path, std::optional<Preprocess> preprocess_override,
                              Pooling pooling, const torch::Device& device) {
  SafetensorsFile file = SafetensorsFile::open(path);
  std::string architecture = file.metadata_value("architecture");
  if (architecture != "vgg16" && architecture != "vgg19") architecture = infer_vgg_architecture(file);
  if (architecture != "vgg16" && architecture != "vgg19") {
    // Too few layers to tell: the first three blocks agree between VGG16 and
    // VGG19 up to conv3_3, so reading it as VGG19 is right either way there.
    if (!file.contains("features.0.weight")) throw Error(path + ": not a VGG feature network (no features.0.weight)");
    architecture = "vgg19";
  }
  Preprocess preprocess = preprocess_override.value_or(
      parse_preprocess(file.metadata_value("preprocess", "torchvision")));

  std::map<std::string, torch::Tensor> weights;
  for (const auto& name : file.names()) {
    if (name.rfind("features.", 0) == 0) weights[name] = load_tensor(file, name);
  }
  VggFeatures network(architecture, weights, preprocess, pooling, device);
  network.source_ = path;
  return network;
}

std::vector<std::string> VggFeatures::layers() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < usable_layers_; ++i) names.push_back(all_layers_[i].name);
  return names;
}

std::string VggFeatures::default_content_layer() const {
  return has_layer("relu2_2") ? "relu2_2" : layers().front();
}

std::vector<std::string> VggFeatures::default_style_layers() const {
  std::vector<std::string> chosen;
  for (const char* name : {"relu1_2", "relu2_2", "relu3_3", "relu4_3"})
    if (has_layer(name)) chosen.push_back(name);
  return chosen;
}

void VggFeatures::check_layer(const std::string& name) const {
  if (has_layer(name)) return;
  for (const auto& layer : all_layers_) {
    if (layer.name == name) {
      throw Error("layer " + name + " is not in " + source_ + ": its weights stop at " +
                  all_layers_[usable_layers_ - 1].name + " (layers present: " + join(layers()) + ")");
    }
  }
  std::vector<std::string> all;
  for (const auto& layer : all_layers_) all.push_back(layer.name);
  throw Error("unknown layer \"" + name + "\" for " + architecture_ + " (valid: " + join(all) + ")");
}

torch::Tensor VggFeatures::preprocess_image(const torch::Tensor& rgb01) const {
  auto options = torch::TensorOptions().dtype(rgb01.dtype()).device(rgb01.device());
  if (preprocess_ == Preprocess::Caffe) {
    auto bgr = rgb01.flip({1}) * 255.0;
    auto mean = torch::tensor({103.939, 116.779, 123.68}, options).view({1, 3, 1, 1});
    return bgr - mean;
  }
  auto mean = torch::tensor({0.485, 0.456, 0.406}, options).view({1, 3, 1, 1});
  auto std = torch::tensor({0.229, 0.224, 0.225}, options).view({1, 3, 1, 1});
  return (rgb01 - mean) / std;
}

std::map<std::string, torch::Tensor> VggFeatures::extract(const torch::Tensor& rgb01,
                                                          const std::vector<std::string>& layer_names) const {
  size_t deepest = 0;
  for (const auto& name : layer_names) {
    check_layer(name);
    for (size_t i = 0; i < usable_layers_; ++i)
      if (all_layers_[i].name == name) deepest = std::max(deepest, i);
  }
  std::map<std::string, torch::Tensor> wanted;
  auto x = preprocess_image(rgb01);
  if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  // Winograd takes float32 on the CPU; under autocast the convolutions run in bf16 instead.
  const bool winograd = !winograd_convs_.empty() && winograd::takes(x);
  winograd::BlockedPass pass(x);
  for (size_t i = 0; i <= deepest && !layer_names.empty(); ++i) {
    const Layer& layer = all_layers_[i];
    switch (layer.kind) {
      case Layer::Kind::Conv: {
        const auto fast = winograd ? winograd_convs_.find(layer.features_index) : winograd_convs_.end();
        if (fast != winograd_convs_.end()) {
          // The relu after it goes with it, unless the convolution's own output is asked for.
          pass.conv(fast->second, i + 1 <= deepest && all_layers_[i + 1].kind == Layer::Kind::Relu &&
                                      std::find(layer_names.begin(), layer_names.end(), layer.name) == layer_names.end());
          break;
        }
        auto& nchw = pass.nchw();
        const auto& [weight, bias] = convs_.at(layer.features_index);
        nchw = torch::conv2d(nchw, weight, bias, /*stride=*/1, /*padding=*/1);
        break;
      }
      case Layer::Kind::Relu:
        pass.relu();
        break;
      case Layer::Kind::Pool:
        pass.pool2x2(pooling_ == Pooling::Max, /*ceil=*/false);
        break;
    }
    for (const auto& name : layer_names)
      if (name == layer.name) wanted[name] = pass.features();
  }
  return wanted;
}

}  // namespace atelier
