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
// Whether activations `x` can go through it: float32 on such a CPU, outside
// bf16 autocast (where the convolutions run in bf16 instead).
bool takes(const torch::Tensor& x);

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

// A pass through a stack of layers that enters the blocked layout at its
// first Winograd convolution and leaves it where a layer needs NCHW: the
// bookkeeping VggFeatures, the AdaIN encoder and its decoder share.
class BlockedPass {
 public:
  explicit BlockedPass(torch::Tensor x) : x_(std::move(x)) {}
  // By Winograd; `reflect`: reflection padding first (for a conv that pads by
  // 0); `then_relu`: the next relu() is done here, as the output is written.
  void conv(const Conv3x3& conv, bool then_relu, bool reflect = false);
  // x in NCHW, for a layer libtorch runs (assign the layer's output to it).
  torch::Tensor& nchw();
  void relu();
  void pool2x2(bool max, bool ceil);
  void upsample2x();
  // The current features in NCHW (channels-last when they were blocked).
  torch::Tensor features() const;

 private:
  torch::Tensor x_;
  bool blocked_ = false, relu_done_ = false;
  int64_t channels_ = 0;  // x's channels without the blocks' padding, when blocked
};

}  // namespace atelier::winograd
