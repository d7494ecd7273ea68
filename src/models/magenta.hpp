// Magenta's arbitrary style transfer (Ghiasi et al. 2017), the TFLite "lite"
// release of arbitrary-image-stylization-v1-256 (../shared/models/
// magenta-arbitrary/README.md describes both networks op by op):
//  - MagentaPredictor: a MobileNetV2 that maps a style picture (RGB in
//    [0,1], 256x256 by convention) to a 100-number style vector. Every
//    convolution pads as TensorFlow's SAME does (the extra row and column of
//    a stride-2 conv go after, not before).
//  - MagentaTransfer: a small transformer (8/16/32 channels) whose
//    conditional instance norms take their scale and shift from the style
//    vector; reflect padding before every conv; RGB [0,1] in and out
//    (sigmoid). Keys "predictor.*" and "transfer.*" as in the shared files.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/resampled_conv.hpp"
#include "models/staged_network.hpp"
#include "torch/winograd_conv.hpp"

namespace atelier {

constexpr int64_t kMagentaStyleSize = 100;   // length of a style vector
constexpr int64_t kMagentaStyleInput = 256;  // side of the predictor's input, by convention
constexpr int64_t kMagentaMultiple = 4;      // the transfer network keeps sizes that are multiples of this

class MagentaPredictor {
 public:
  // Throws atelier::Error naming the first missing, misshapen or unknown key.
  explicit MagentaPredictor(const std::map<std::string, torch::Tensor>& weights,
                            const torch::Device& device = torch::kCPU);
  static std::map<std::string, std::vector<int64_t>> expected_shapes();

  // [N,3,H,W] RGB in [0,1] (any size of at least 2x2; 256x256 is what it
  // was trained on) -> [N,100].
  torch::Tensor forward(const torch::Tensor& rgb) const;
  const torch::Device& device() const { return device_; }

 private:
  torch::Device device_;
  std::map<std::string, torch::Tensor> weights_;
};

class MagentaTransfer {
 public:
  explicit MagentaTransfer(const std::map<std::string, torch::Tensor>& weights,
                           const torch::Device& device = torch::kCPU);
  static std::map<std::string, std::vector<int64_t>> expected_shapes();

  // [N,3,H,W] RGB in [0,1] with H and W multiples of 4 (at least 8) and a
  // style [N,100] or [1,100] (shared by the batch) -> [N,3,H,W] in [0,1].
  torch::Tensor forward(const torch::Tensor& rgb, const torch::Tensor& style) const;
  const torch::Device& device() const { return device_; }

  // forward() in three stages, for tiles (MagentaStages): the contracting
  // convolutions (no norms) down to the quarter-size map; the residual
  // blocks on it; the expanding convolutions, whose three norms see their
  // input at 2, 4 and 4 times the map's size. `style` is checked [N|1,100].
  torch::Tensor encode(const torch::Tensor& rgb) const;
  torch::Tensor trunk(const torch::Tensor& encoded, const torch::Tensor& style) const;
  torch::Tensor decode(const torch::Tensor& trunk_output, const torch::Tensor& style, const NormPlan& plan) const;
  static const std::vector<int64_t>& decoder_norm_scales();

 private:
  torch::Tensor checked_style(const torch::Tensor& style, int64_t batch) const;
  // Conditional instance norm of `x` in place of the plan's next norm, then
  // relu when asked, then + residual when given; false when the plan stops
  // there (x is left as it was).
  bool normalize(torch::Tensor& x, const std::string& name, const torch::Tensor& style, const NormPlan& plan,
                 size_t& index, bool relu = false, const torch::Tensor& residual = {}) const;
  torch::Tensor conv(const torch::Tensor& x, const std::string& name, int64_t kernel, int64_t stride, bool bias) const;

  torch::Device device_;
  std::map<std::string, torch::Tensor> weights_;
  // The first and the expanding convolutions, rewritten for their thin channel counts (resampled_conv.hpp).
  SpaceToDepthConv contract1_, contract1_by4_;  // by 4: by Winograd in fp32 where oneDNN has it
  DepthStride2Conv3x3 contract2_;
  UpsampledConv3x3 expand1_, expand2_;
  SpaceToDepthConv expand3_;
  // The residual blocks' convs by Winograd (fp32 on CPUs that have it; empty otherwise).
  std::vector<winograd::Conv3x3> residual_winograd_;
};

// MagentaTransfer with one style vector as stylize_tiled runs it. The
// picture's sides must be multiples of 4 (MagentaPainter pads them).
class MagentaStages final : public StagedNetwork {
 public:
  MagentaStages(const MagentaTransfer& transfer, const torch::Tensor& style) : transfer_(transfer), style_(style) {}
  const torch::Device& device() const override { return transfer_.device(); }
  torch::Tensor input(const cv::Mat& rgb) const override;
  torch::Tensor encode(const torch::Tensor& input, const NormPlan& plan, std::array<int64_t, 2> whole) const override;
  torch::Tensor trunk(const torch::Tensor& encoded) const override { return transfer_.trunk(encoded, style_); }
  torch::Tensor decode(const torch::Tensor& trunk_output, const NormPlan& plan) const override {
    return transfer_.decode(trunk_output, style_, plan);
  }
  std::vector<int64_t> encoder_norm_scales() const override { return {}; }
  std::vector<int64_t> decoder_norm_scales() const override { return MagentaTransfer::decoder_norm_scales(); }
  // The same shape as the fast style networks, reflect padding throughout:
  // contract 9x9, 3x3 s2, 3x3 s2 reaches 4 + 1 + 2 = 7 image pixels (under
  // 2 map pixels); expand (x2, 3x3), (x2, 3x3), 9x9 reaches 0.5 + 0.25 + 1
  // map pixels. A tile edge inside the picture, reflected, spoils no more
  // than that; 4 leaves a margin.
  int64_t encoder_reach() const override { return 4; }
  int64_t decoder_reach() const override { return 4; }

 private:
  const MagentaTransfer& transfer_;
  torch::Tensor style_;
};

// TensorFlow SAME zero padding of `x` for a conv of `kernel` and `stride`:
// ceil(n/stride) outputs, the odd pixel of the padding after.
torch::Tensor pad_tf_same(const torch::Tensor& x, int64_t kernel, int64_t stride);

// Load from a safetensors file; errors name the file.
MagentaPredictor load_magenta_predictor(const std::string& path, const torch::Device& device = torch::kCPU);
MagentaTransfer load_magenta_transfer(const std::string& path, const torch::Device& device = torch::kCPU);

}  // namespace atelier
