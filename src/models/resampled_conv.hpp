// Convolutions of the transformer networks (Magenta's, Johnson's) that
// oneDNN runs badly, with few channels or strides, rewritten as convolutions
// it runs well. All are exact: the same products, added in another order.
//  - UpsampledConv3x3: nearest upsampling by 2, reflection padding 1 and a
//    3x3 convolution. An upsampled picture repeats each pixel, so the taps
//    that land on one input pixel add up: each of the four output phases is
//    a 2x2 convolution of the input itself (4 products a tap instead of 9,
//    no upsampled copy, and 4x the output channels, which fills oneDNN's
//    blocks of 16 where K is 8).
//  - Stride2TransposedConv3x3: the same for TensorFlow's stride-2 transposed
//    convolutions (Engstrom's decoder): four 2x2 convolutions, one a phase.
//  - SpaceToDepthConv: a kxk convolution with reflection padding k/2,
//    computed as a smaller convolution of the padded picture's
//    space-to-depth by r (pixel_unshuffle), whose r*r*K outputs are put back
//    by pixel_shuffle. Magenta's last 9x9 conv has K = 3 outputs, which
//    oneDNN pads to 16 (5.3x the work); after space-to-depth by 4 it is a
//    3x3 conv of 8*16 -> 3*16 channels, whole blocks, at 1.8x the products.
//    Its first, 3 -> 8, becomes 5x5 of 12 -> 32 by 2 (1.2x the products).
//    By 4 in fp32 the depth map is oneDNN's blocked layout as it stands, so
//    the conv runs by Winograd.
//  - DepthStride2Conv3x3: a stride-2 3x3 conv that reads such a depth map
//    by 2, so the full-size picture between the two is never written.
#pragma once
#include <torch/torch.h>

#include <optional>

#include "torch/winograd_conv.hpp"

namespace atelier {

class UpsampledConv3x3 {
 public:
  UpsampledConv3x3() = default;
  // weight [K,C,3,3], bias [K] or undefined.
  explicit UpsampledConv3x3(const torch::Tensor& weight, const torch::Tensor& bias = {});
  // [N,C,h,w] -> [N,K,2h,2w], as conv2d(reflection_pad(upsample2x(x), 1), weight, bias),
  // channels-last when x is.
  torch::Tensor operator()(const torch::Tensor& x) const;

 private:
  torch::Tensor phases_, bias_;  // [4K,C,2,2]: phase (a,b) (output row parity a, column parity b) at rows (2a+b)K...
  int64_t outputs_ = 0;
};

// TensorFlow's SAME transposed convolution of stride 2 and a 3x3 kernel
// (conv_transpose2d with stride 2, the first 2H x 2W kept), as four 2x2
// convolutions of the input, one per output phase: no zeros multiplied, and
// 4K outputs where oneDNN's transposed convolution took 3-4x the time.
class Stride2TransposedConv3x3 {
 public:
  Stride2TransposedConv3x3() = default;
  explicit Stride2TransposedConv3x3(const torch::Tensor& weight);  // [C,K,3,3], as conv_transpose2d's; no bias
  // [N,C,h,w] -> [N,K,2h,2w], channels-last when x is.
  torch::Tensor operator()(const torch::Tensor& x) const;

 private:
  torch::Tensor phases_;  // [4K,C,2,2], phase (a,b) at rows (2a+b)K..
  int64_t outputs_ = 0;
};

class SpaceToDepthConv {
 public:
  SpaceToDepthConv() = default;
  // weight [K,C,k,k] with k odd, bias [K] or undefined; `factor` r divides
  // the padding k/2. The convolution after space-to-depth has a kernel of
  // (k-2)/r + 2 taps a side: 3 for 9x9 and r = 4, 5 for r = 2.
  SpaceToDepthConv(const torch::Tensor& weight, const torch::Tensor& bias, int64_t factor);
  // [N,C,H,W] with H and W multiples of r and more than k/2 -> [N,K,H,W],
  // as conv2d(reflection_pad(x, k/2), weight, bias).
  torch::Tensor operator()(const torch::Tensor& x) const { return in_depth(x, 1); }
  // The same as its space-to-depth by `depth` (a divisor of r; r itself is
  // the convolution's own output): [N, K*depth*depth, H/depth, W/depth],
  // channel k*depth*depth + (row phase)*depth + column phase.
  torch::Tensor in_depth(const torch::Tensor& x, int64_t depth) const;
  // Whether x goes through Winograd (by 4, fp32 on a CPU that has it).
  bool by_winograd(const torch::Tensor& x) const { return winograd_ && winograd::takes(x); }

 private:
  torch::Tensor weight_, bias_;  // [K*r*r, C*r*r, taps, taps], [K*r*r]
  int64_t factor_ = 0, padding_ = 0;
  std::optional<winograd::Conv3x3> winograd_;  // fp32 CPU by 4 (3x3), where oneDNN has Winograd
};

// A 3x3 convolution with stride 2 and reflection padding 1 of a picture
// given as its space-to-depth by 2 (SpaceToDepthConv::in_depth(x, 2)),
// so that the full-size picture between them is never written: a 2x2
// convolution of 4C -> K channels. Output pixel i reads picture rows 2i-1,
// 2i, 2i+1: rows i-1 (odd phase), i (both) of the depth map, row -1 being
// row 1 of the picture, that is, the odd phase of depth row 0.
class DepthStride2Conv3x3 {
 public:
  DepthStride2Conv3x3() = default;
  DepthStride2Conv3x3(const torch::Tensor& weight, const torch::Tensor& bias);  // [K,C,3,3], [K] or undefined
  // depth [N,4C,h,w] -> [N,K,h,w], as conv2d(reflection_pad(relu?(picture), 1), weight, bias, 2) where
  // picture = pixel_shuffle(depth, 2); `relu_first`: the relu of the picture, done as it is padded.
  torch::Tensor operator()(const torch::Tensor& depth, bool relu_first) const;

 private:
  torch::Tensor weight_, bias_;  // [K,4C,2,2], [K]
};

// Reflection padding by `padding` and space-to-depth by `factor` in one pass
// (pixel_unshuffle(reflection_pad(x, padding), factor), written in `dtype`).
// `blocked` (factor 4, CPU): in oneDNN's blocked layout [N, C, H', W', 16], lane = row phase * 4 + column phase.
torch::Tensor padded_space_to_depth(const torch::Tensor& x, int64_t padding, int64_t factor, torch::ScalarType dtype,
                                    bool blocked = false);

}  // namespace atelier
