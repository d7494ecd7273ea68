// VGG16/VGG19 feature networks (Simonyan & Zisserman), loaded from
// safetensors with torchvision key names "features.N.weight|bias".
//
// Layers are named as in the Gatys paper and neural-style: conv1_1, relu1_1,
// conv1_2, relu1_2, pool1, conv2_1, ... A weights file may hold only the
// first convolutions; the network then ends there, and asking for a deeper
// layer is an error naming the layers present.
#pragma once
#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/feature_network.hpp"
#include "torch/winograd_conv.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {

// How images are turned into network input.
//  caffe:       BGR, 0..255, minus the ImageNet mean, no std (original Caffe VGG)
//  torchvision: RGB, 0..1, minus mean (0.485,0.456,0.406), over std (0.229,0.224,0.225)
enum class Preprocess { Caffe, Torchvision };
enum class Pooling { Max, Average };

Preprocess parse_preprocess(const std::string& name);  // throws atelier::Error
Pooling parse_pooling(const std::string& name);        // throws atelier::Error
const char* preprocess_name(Preprocess preprocess);

class VggFeatures : public FeatureNetwork {
 public:
  // `architecture` is "vgg16" or "vgg19"; `weights` maps "features.N.weight"
  // and "features.N.bias" to tensors (any channel counts, so tests can build
  // tiny networks). The network ends at the last convolution present.
  VggFeatures(const std::string& architecture, const std::map<std::string, torch::Tensor>& weights,
              Preprocess preprocess, Pooling pooling, const torch::Device& device = torch::kCPU);

  // Reads a safetensors file. The architecture comes from metadata
  // "architecture", else from the keys; the input convention from
  // `preprocess_override`, else metadata "preprocess", else torchvision.
  static VggFeatures load(const std::string& path, std::optional<Preprocess> preprocess_override,
                          Pooling pooling, const torch::Device& device = torch::kCPU);

  const std::string& architecture() const override { return architecture_; }
  Preprocess preprocess() const { return preprocess_; }
  Pooling pooling() const { return pooling_; }
  const torch::Device& device() const override { return device_; }
  const std::string& source() const { return source_; }

  // Names of the layers this network can produce, in order.
  std::vector<std::string> layers() const override;
  // Throws atelier::Error: unknown name (lists the valid ones) or a layer the
  // weights stop short of (names the layers present).
  void check_layer(const std::string& name) const override;

  // Image in network convention; input is [N,3,H,W] RGB in [0,1].
  torch::Tensor preprocess_image(const torch::Tensor& rgb01) const;
  // Runs the network on an RGB [0,1] batch up to the deepest requested layer.
  std::map<std::string, torch::Tensor> extract(const torch::Tensor& rgb01,
                                               const std::vector<std::string>& layer_names) const override;

  // Channels-last (on by default on the CPU): convolutions run in the layout
  // oneDNN computes in, with nothing converted back between layers; the
  // features come out channels-last (gram_matrix reads them as they are).
  void set_channels_last(bool channels_last);
  bool channels_last() const { return channels_last_; }

  // Winograd convolutions (on by default where oneDNN has them for this CPU):
  // float32 passes on the CPU run every 3x3 convolution by Winograd's
  // F(4x4,3x3), about twice as fast, in oneDNN's blocked layout;
  // features agree with the direct convolutions' to about 1e-5 relative.
  // Other precisions, devices and autocast take the direct path.
  void set_winograd(bool winograd);
  bool winograd() const { return !winograd_convs_.empty(); }

  // relu2_2; relu1_2, relu2_2, relu3_3, relu4_3 (Johnson et al.)
  std::string default_content_layer() const override;
  std::vector<std::string> default_style_layers() const override;

 private:
  struct Layer {
    std::string name;
    enum class Kind { Conv, Relu, Pool } kind;
    int features_index;
  };
  std::string architecture_;
  Preprocess preprocess_;
  Pooling pooling_;
  torch::Device device_;
  std::string source_ = "(in memory)";
  std::vector<Layer> all_layers_;  // full architecture
  size_t usable_layers_ = 0;      // prefix of all_layers_ the weights cover
  std::map<int, std::pair<torch::Tensor, torch::Tensor>> convs_;  // features index -> (weight, bias)
  bool channels_last_ = false;
  std::map<int, winograd::Conv3x3> winograd_convs_;  // features index -> the same convolution by Winograd
};

// Layer sequence of a full VGG: names and torchvision "features" indices.
std::vector<std::pair<std::string, int>> vgg_layer_names(const std::string& architecture);

}  // namespace atelier
