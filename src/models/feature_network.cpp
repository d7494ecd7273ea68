#include "models/feature_network.hpp"

#include <algorithm>

#include "atelier/error.hpp"
#include "models/resnet.hpp"
#include "atelier/safetensors.hpp"
#include "models/vgg.hpp"

namespace atelier {

bool FeatureNetwork::has_layer(const std::string& name) const {
  const auto names = layers();
  return std::find(names.begin(), names.end(), name) != names.end();
}

void FeatureNetwork::check_layer(const std::string& name) const {
  if (has_layer(name)) return;
  std::string valid;
  for (const auto& layer : layers()) valid += (valid.empty() ? "" : ", ") + layer;
  throw Error("unknown layer \"" + name + "\" for " + architecture() + " (valid: " + valid + ")");
}

std::unique_ptr<FeatureNetwork> load_feature_network(const std::string& path,
                                                     std::optional<Preprocess> preprocess_override, Pooling pooling,
                                                     const torch::Device& device) {
  bool resnet = false;
  {
    const SafetensorsFile file = SafetensorsFile::open(path);
    const std::string architecture = file.metadata_value("architecture");
    resnet = architecture == "resnet50" || (architecture.empty() && file.contains("layer1.0.conv1.weight"));
  }
  if (!resnet) return std::make_unique<VggFeatures>(VggFeatures::load(path, preprocess_override, pooling, device));
  auto network = std::make_unique<ResNet50>(ResNet50::load(path, device));
  if (preprocess_override) network->set_preprocess(*preprocess_override);
  return network;
}

}  // namespace atelier
