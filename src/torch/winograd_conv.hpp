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
// differentiable. Channels are padded with zeros to whole blocks of 16; give
// from_blocked the real count to drop them again.
torch::Tensor to_blocked(const torch::Tensor& nchw);
torch::Tensor from_blocked(const torch::Tensor& blocked, int64_t channels = -1);
// 2x2 pooling with stride 2 of a blocked tensor (max or average; `ceil`:
// odd sides keep their last row and column), differentiable.
torch::Tensor pool2x2(const torch::Tensor& blocked, bool max, bool ceil = false);
// One pixel of reflection padding on every side, as torch's reflection_pad2d; differentiable.
torch::Tensor reflection_pad1(const torch::Tensor& blocked);
// Nearest-neighbour upsampling by 2, as torch's interpolate; differentiable.
torch::Tensor upsample2x(const torch::Tensor& blocked);

// A fixed 3x3 convolution with stride 1 and zero padding 1 (or none), its weights
// transformed once per picture shape. Differentiable with respect to its
// input only: the weights are constants, as a feature network's are.
class Conv3x3 {
 public:
  // weight [K,C,3,3] and bias [K], float32 on the CPU; see suits(). Padding 0
  // is for an input padded already (reflection padding). Channel counts that
  // are not whole blocks of 16 are padded with zero weights; an update of the
  // weights in place (an optimiser's) is seen at the next pass.
  Conv3x3(const torch::Tensor& weight, const torch::Tensor& bias, int padding = 1);
  // float32 CPU 3x3 weights.
  static bool suits(const torch::Tensor& weight);
  int64_t outputs() const;  // K, without the padding
  // blocked [N, ceil(C/16), H, W, 16] -> blocked [N, ceil(K/16), H, W, 16]; `then_relu`
  // applies relu as the output is written (no pass of its own).
  torch::Tensor operator()(const torch::Tensor& blocked, bool then_relu = false) const;

  struct Plans;

 private:
  std::shared_ptr<Plans> plans_;
};

}  // namespace atelier::winograd
