// Random-weight style networks for tests: the real shapes, with weights of a
// sensible scale so activations stay alive through the norms.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>

#include "models/fast_style.hpp"
#include "atelier/safetensors.hpp"

namespace atelier::testing {

// Kernels ~ N(0, 1/fan_in), norm scales ~1, shifts and biases small. The last
// pytorch-examples conv has no norm after it, so it is scaled to spread the
// output over 0..255 (most of it unclamped).
inline std::map<std::string, torch::Tensor> random_style_weights(FastStyleArchitecture architecture,
                                                                 std::uint64_t seed) {
  auto has_suffix = [](const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  torch::manual_seed(seed);
  std::map<std::string, torch::Tensor> weights;
  const bool engstrom = architecture == FastStyleArchitecture::Engstrom;
  for (const auto& [key, shape] : FastStyleNetwork::expected_shapes(architecture)) {
    torch::Tensor value;
    if (shape.size() == 4) {
      const bool transposed = engstrom && key.rfind("deconv", 0) == 0;  // [in,out,kh,kw]
      const int64_t fan_in = (transposed ? shape[0] : shape[1]) * shape[2] * shape[3];
      value = torch::randn(shape) / std::sqrt(static_cast<double>(fan_in));
    } else if (has_suffix(key, ".bias") || has_suffix(key, ".shift")) {
      value = 0.1 * torch::randn(shape);
    } else {  // norm weight / scale
      value = 1.0 + 0.1 * torch::randn(shape);
    }
    weights[key] = value;
  }
  if (!engstrom) {
    weights["deconv3.conv2d.weight"] *= 60.0;
    weights["deconv3.conv2d.bias"] = 127.5 + 20.0 * torch::randn({3});
  }
  return weights;
}

// A random pytorch/examples network written as F32 safetensors.
inline void write_random_style_network(const std::string& path, std::uint64_t seed,
                                       const std::map<std::string, std::string>& metadata = {}) {
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [key, tensor] : random_style_weights(FastStyleArchitecture::PytorchExamples, seed)) {
    auto values = tensor.contiguous();
    tensors[key] = {DType::F32, values.sizes().vec(),
                    std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel())};
  }
  write_safetensors(path, tensors, metadata);
}

}  // namespace atelier::testing
