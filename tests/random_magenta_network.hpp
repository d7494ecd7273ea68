// Random-weight Magenta networks for tests: the real shapes and key names,
// with weights of a sensible scale (kernels ~ N(0, 2/fan_in), conditional
// norm scales near 1 and small shifts), so activations stay alive.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "atelier/safetensors.hpp"
#include "models/magenta.hpp"

namespace atelier::testing {

inline std::map<std::string, torch::Tensor> random_magenta_weights(
    const std::map<std::string, std::vector<int64_t>>& shapes, std::uint64_t seed) {
  torch::manual_seed(seed);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& [key, shape] : shapes) {
    const bool projection = key.find(".norm.") != std::string::npos;
    const bool bias = key.size() > 5 && key.compare(key.size() - 5, 5, ".bias") == 0;
    if (projection && bias)
      weights[key] = (key.find("gamma") != std::string::npos ? 1.0 : 0.0) + 0.1 * torch::randn(shape);
    else if (projection)
      weights[key] = 0.03 * torch::randn(shape);
    else if (bias)
      weights[key] = 0.1 * torch::randn(shape);
    else
      weights[key] = torch::randn(shape) * std::sqrt(2.0 / static_cast<double>(shape[1] * shape[2] * shape[3]));
  }
  return weights;
}

inline void write_tensors_f32(const std::string& path, const std::map<std::string, torch::Tensor>& weights) {
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [key, tensor] : weights) {
    const auto t = tensor.to(torch::kFloat32).contiguous();
    tensors[key] = {DType::F32, t.sizes().vec(),
                    std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())};
  }
  write_safetensors(path, tensors);
}

// Both networks at DIR/magenta-arbitrary/style_{predict,transfer}.safetensors,
// where `atelier --models-dir DIR` looks for them.
inline void write_random_magenta_models(const std::string& dir, std::uint64_t seed) {
  const std::string folder = dir + "/magenta-arbitrary";
  std::filesystem::create_directories(folder);
  write_tensors_f32(folder + "/style_predict.safetensors", random_magenta_weights(MagentaPredictor::expected_shapes(), seed));
  write_tensors_f32(folder + "/style_transfer.safetensors",
                    random_magenta_weights(MagentaTransfer::expected_shapes(), seed + 1));
}

}  // namespace atelier::testing
