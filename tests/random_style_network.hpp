// Random-weight pytorch/examples style networks for the CLI tests: the real
// shapes, weights scaled so activations stay alive through the norms.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "atelier/fast_style.hpp"
#include "atelier/safetensors.hpp"

namespace atelier::testing {

inline std::map<std::string, torch::Tensor> random_style_state(std::uint64_t seed) {
  torch::manual_seed(seed);
  std::map<std::string, torch::Tensor> state;
  for (const auto& [key, shape] : FastStyleNetwork::expected_shapes(FastStyleArchitecture::PytorchExamples))
    state[key] = torch::randn(shape) * (shape.size() == 4 ? 0.05 : 0.5) + (shape.size() == 1 ? 0.5 : 0.0);
  return state;
}

inline void write_random_style_network(const std::string& path, std::uint64_t seed) {
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [key, tensor] : random_style_state(seed)) {
    auto values = tensor.contiguous();
    tensors[key] = {DType::F32, values.sizes().vec(),
                    std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel())};
  }
  write_safetensors(path, tensors);
}

}  // namespace atelier::testing
