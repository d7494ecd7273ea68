// What a perceptual loss needs of a pretrained network: named feature maps
// for an RGB [0,1] batch. Implemented by VggFeatures and ResNet50, so style
// training can use either.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atelier {

enum class Preprocess;
enum class Pooling;

class FeatureNetwork {
 public:
  virtual ~FeatureNetwork() = default;

  // "vgg16", "vgg19" or "resnet50".
  virtual const std::string& architecture() const = 0;
  virtual const torch::Device& device() const = 0;
  // Feature maps ([N,C,H,W]) this network can produce, shallow to deep.
  virtual std::vector<std::string> layers() const = 0;
  bool has_layer(const std::string& name) const;
  // Throws atelier::Error naming the valid layers.
  virtual void check_layer(const std::string& name) const;
  // Runs the network up to the deepest requested layer.
  virtual std::map<std::string, torch::Tensor> extract(const torch::Tensor& rgb01,
                                                       const std::vector<std::string>& layer_names) const = 0;

  // The layers style training uses when none are given (those present).
  virtual std::string default_content_layer() const = 0;
  virtual std::vector<std::string> default_style_layers() const = 0;
};

// Loads a VGG or a ResNet-50 from safetensors, told apart by metadata
// "architecture", else by the keys. Pooling applies to VGG only.
std::unique_ptr<FeatureNetwork> load_feature_network(const std::string& path,
                                                     std::optional<Preprocess> preprocess_override, Pooling pooling,
                                                     const torch::Device& device = torch::kCPU);

}  // namespace atelier
