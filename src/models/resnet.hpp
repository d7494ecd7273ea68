// ResNet-50 (He et al. 2016) as a feature network, from safetensors with
// torchvision key names (conv1, bn1, layer{1..4}.{i}.conv{1,2,3}/bn{1,2,3},
// .downsample.{0,1}, fc). Batch norm in inference mode (eps 1e-5). The
// metadata "variant" says where a stage's stride sits: "stride_in_1x1"
// (Kaiming He's original Caffe model, ../shared/models/resnet50-caffe) or,
// otherwise, on the 3x3 convolution (torchvision's v1.5).
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/feature_network.hpp"
#include "models/vgg.hpp"

namespace atelier {

class ResNet50 : public FeatureNetwork {
 public:
  // Throws atelier::Error naming a missing key or a wrong shape.
  static ResNet50 load(const std::string& path, const torch::Device& device = torch::kCPU);

  // Outputs by name for an RGB [0,1] batch: "conv1" (the stem after its
  // ReLU, half resolution), "layer1".."layer4" (feature maps), "pool"
  // ([N,2048] global average) and "logits" ([N,1000]); runs only as far as
  // the deepest one asked for.
  std::map<std::string, torch::Tensor> forward(const torch::Tensor& rgb01, const std::vector<std::string>& outputs) const;
  static const std::vector<std::string>& output_names();

  // As a feature network: the feature maps conv1, layer1..layer4.
  const std::string& architecture() const override { return architecture_; }
  const torch::Device& device() const override { return device_; }
  std::vector<std::string> layers() const override;
  std::map<std::string, torch::Tensor> extract(const torch::Tensor& rgb01,
                                               const std::vector<std::string>& layer_names) const override;
  // layer2; conv1, layer1, layer2, layer3: strides 2 to 16, as VGG's
  // relu1_2..relu4_3 span 1 to 8 (the stem already halves the image).
  std::string default_content_layer() const override { return "layer2"; }
  std::vector<std::string> default_style_layers() const override { return {"conv1", "layer1", "layer2", "layer3"}; }

  Preprocess preprocess() const { return preprocess_; }
  void set_preprocess(Preprocess preprocess) { preprocess_ = preprocess; }
  bool stride_in_1x1() const { return stride_in_1x1_; }

 private:
  torch::Tensor batch_norm(const torch::Tensor& x, const std::string& name) const;
  torch::Tensor bottleneck(const torch::Tensor& x, const std::string& name, int64_t stride, bool downsample) const;
  std::map<std::string, torch::Tensor> weights_;
  Preprocess preprocess_ = Preprocess::Torchvision;
  bool stride_in_1x1_ = false;
  std::string architecture_ = "resnet50";
  torch::Device device_ = torch::kCPU;
};

}  // namespace atelier
