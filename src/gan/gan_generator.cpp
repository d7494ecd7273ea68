#include "atelier/error.hpp"
#include "gan/gan.hpp"

namespace atelier {

GanGenerator::GanGenerator(NamedTensors weights, GanArchitecture architecture,
                           std::map<std::string, std::string> metadata)
    : weights_(std::move(weights)), architecture_(architecture), metadata_(std::move(metadata)) {
  // Every tensor a fresh generator has, with its shape, plus stored statistics.
  const NamedTensors expected = generator_shapes(architecture_);
  for (const auto& [name, tensor] : expected) {
    auto found = weights_.find(name);
    if (found == weights_.end()) throw Error("not a generator for this architecture: lacks \"" + name + "\"");
    if (found->second.sizes() != tensor.sizes()) throw Error("generator tensor \"" + name + "\" has the wrong shape");
    if (name.rfind("bn", 0) == 0 && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) {
      const std::string norm = name.substr(0, name.size() - 7);
      if (!weights_.count(norm + ".running_mean") || !weights_.count(norm + ".running_var"))
        throw Error("generator lacks the stored statistics of \"" + norm + "\"");
    }
  }
}

GanGenerator GanGenerator::load(const std::string& path, const torch::Device& device) {
  std::map<std::string, std::string> metadata;
  NamedTensors weights = load_tensors(path, &metadata);
  for (auto& [name, tensor] : weights) tensor = tensor.to(device);
  try {
    const GanArchitecture architecture = gan_architecture_from_metadata(metadata);
    return GanGenerator(std::move(weights), architecture, std::move(metadata));
  } catch (const Error& error) {
    throw Error(path + ": " + error.what());
  }
}

torch::Tensor GanGenerator::generate(const torch::Tensor& latents, int64_t batch_size) const {
  torch::NoGradGuard no_grad;
  const auto device = weights_.at("fc.weight").device();
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < latents.size(0); first += batch_size) {
    const auto z = latents.narrow(0, first, std::min(batch_size, latents.size(0) - first)).to(device);
    parts.push_back(((atelier::generate(weights_, architecture_, z, NormStatistics::Stored) + 1) / 2).clamp(0, 1).cpu());
  }
  return torch::cat(parts);
}

}  // namespace atelier
