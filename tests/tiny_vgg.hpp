// Tiny random-weight VGG networks for tests: the real layer layout with few
// channels, so a forward pass on a 32x32 image takes milliseconds.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "atelier/safetensors.hpp"
#include "models/vgg.hpp"

namespace atelier::testing {

// Weights "features.N.weight|bias" for the first `conv_count` convolutions of
// `architecture` (all of them when conv_count < 0). He-style init keeps
// activations alive through the relus.
inline std::map<std::string, torch::Tensor> tiny_vgg_weights(const std::string& architecture, int conv_count = -1,
                                                             torch::Dtype dtype = torch::kFloat32,
                                                             std::uint64_t seed = 7) {
  torch::manual_seed(seed);
  std::map<std::string, torch::Tensor> weights;
  int in_channels = 3, convs = 0;
  for (const auto& [name, index] : vgg_layer_names(architecture)) {
    if (name.rfind("conv", 0) != 0) continue;
    if (conv_count >= 0 && convs == conv_count) break;
    const int block = name[4] - '0';
    const int out_channels = 4 * block;  // 4, 8, 12, 16, 20
    const std::string key = "features." + std::to_string(index);
    weights[key + ".weight"] =
        torch::randn({out_channels, in_channels, 3, 3}, dtype) * std::sqrt(2.0 / (9.0 * in_channels));
    weights[key + ".bias"] = torch::randn({out_channels}, dtype) * 0.01;
    in_channels = out_channels;
    ++convs;
  }
  return weights;
}

// Writes tiny weights as safetensors (kernels F16, as the shared files do).
inline void write_tiny_vgg_file(const std::string& path, const std::string& architecture, int conv_count,
                                const std::map<std::string, std::string>& metadata) {
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [name, tensor] : tiny_vgg_weights(architecture, conv_count)) {
    auto contiguous = tensor.contiguous();
    TensorToWrite entry;
    entry.dtype = tensor.dim() == 4 ? DType::F16 : DType::F32;
    entry.shape = contiguous.sizes().vec();
    entry.values.assign(contiguous.data_ptr<float>(), contiguous.data_ptr<float>() + contiguous.numel());
    tensors[name] = entry;
  }
  write_safetensors(path, tensors, metadata);
}

}  // namespace atelier::testing
