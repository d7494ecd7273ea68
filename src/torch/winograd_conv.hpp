// 3x3 convolutions by Winograd's F(4x4,3x3), through oneDNN: on AVX-512 CPUs
// about twice the speed of the direct convolutions libtorch asks oneDNN for
// (docs/GATYS.md has the measurements). Activations stay in oneDNN's blocked
// layout between layers, a float32 tensor [N, C/16, H, W, 16] ("nChw16c"),
// so nothing is converted between convolutions.
#pragma once
#include <torch/torch.h>

#include <memory>

namespace atelier::winograd {

// Whether this CPU has oneDNN's Winograd convolution (asked once).
bool available();

// NCHW (any memory format) to blocked and back (channels-last NCHW); both
// differentiable. The channel count must be a multiple of 16.
torch::Tensor to_blocked(const torch::Tensor& nchw);
torch::Tensor from_blocked(const torch::Tensor& blocked);
// 2x2 pooling with stride 2 of a blocked tensor (max or average), differentiable.
torch::Tensor pool2x2(const torch::Tensor& blocked, bool max);

// A fixed 3x3 convolution with stride 1 and zero padding 1, its weights
// transformed once per picture shape. Differentiable with respect to its
// input only: the weights are constants, as a feature network's are.
class Conv3x3 {
 public:
  // weight [K,C,3,3] and bias [K], float32 on the CPU; see suits().
  Conv3x3(const torch::Tensor& weight, const torch::Tensor& bias);
  // float32 CPU 3x3 weights whose channel counts are multiples of 16.
  static bool suits(const torch::Tensor& weight);
  // blocked [N, C/16, H, W, 16] -> blocked [N, K/16, H, W, 16]; `then_relu`
  // applies relu as the output is written (no pass of its own).
  torch::Tensor operator()(const torch::Tensor& blocked, bool then_relu = false) const;

  struct Plans;

 private:
  std::shared_ptr<Plans> plans_;
};

}  // namespace atelier::winograd
