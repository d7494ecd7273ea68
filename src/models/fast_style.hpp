// Feed-forward style networks (Johnson, Alahi & Fei-Fei 2016, with instance
// norm): one pass turns a photo into a painting in one trained style.
//
// Two published architectures, with the exact key names of their originals:
//  - pytorch/examples fast_neural_style TransformerNet ("conv1.conv2d.weight",
//    "in1.weight", "res1.conv1.conv2d.weight", "deconv1.conv2d.weight", ...):
//    reflection padding, instance norm (eps 1e-5), nearest x2 upsampling then
//    conv; output clamped to 0..255.
//  - lengstrom/fast-style-transfer transform net ("conv1.weight",
//    "conv1.norm.scale", "res1.conv1.weight", "deconv1.weight", "conv_out"):
//    TensorFlow SAME zero padding, no conv bias, stride-2 transposed convs,
//    instance norm (eps 1e-3); output tanh(x)*150 + 127.5.
// Both take and give RGB in 0..255, [N,3,H,W].
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "atelier/tiling.hpp"
#include "models/resampled_conv.hpp"
#include "models/staged_network.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {

enum class FastStyleArchitecture { PytorchExamples, Engstrom };
const char* architecture_name(FastStyleArchitecture architecture);

class FastStyleNetwork {
 public:
  // Throws atelier::Error naming the first key that is missing or has the
  // wrong shape. Extra "inN.running_mean/var" entries (old pytorch/examples
  // checkpoints) are ignored; any other unknown key is an error.
  FastStyleNetwork(FastStyleArchitecture architecture, const std::map<std::string, torch::Tensor>& weights,
                   const torch::Device& device = torch::kCPU);

  // The architecture a set of key names belongs to; throws when neither fits.
  static FastStyleArchitecture detect(const std::vector<std::string>& keys);
  // Every parameter key with its shape.
  static std::map<std::string, std::vector<int64_t>> expected_shapes(FastStyleArchitecture architecture);

  // Keeps weights and activations channels-last (NHWC), as oneDNN computes
  // them: the default on the CPU. The results are the same up to rounding.
  void set_channels_last(bool channels_last);

  FastStyleArchitecture architecture() const { return architecture_; }
  // The weights by key, for training (set requires_grad on them) and saving.
  std::map<std::string, torch::Tensor>& weights() { return weights_; }
  const std::map<std::string, torch::Tensor>& weights() const { return weights_; }
  const torch::Device& device() const { return device_; }

  // RGB 0..255 in, RGB 0..255 out (clamped). The output can be a few pixels
  // larger than the input when H or W is not a multiple of 4 (two stride-2
  // stages), exactly as in the original implementations.
  // `clamp` false leaves the output unclamped, as training needs (a clamped
  // pixel passes no gradient).
  torch::Tensor forward(const torch::Tensor& rgb255, bool clamp = true) const;

  // `rgb255` checked and made what the network takes: float32 on its
  // device, in its memory format.
  torch::Tensor input_tensor(const torch::Tensor& rgb255) const;

  // forward() in three stages, so that a large image can run tile by tile
  // with the statistics of the whole image (see stylize_image_tiled):
  //  - encode: the full-size input down to the quarter-size map of conv3,
  //    before its norm. Its two norms see their input at scales 4 and 2
  //    relative to that map. `whole` is the (H, W) of the image a tile comes
  //    from (TF's SAME padding depends on it); a tile starts at a multiple
  //    of 4 pixels.
  //  - trunk: conv3's norm and the residual blocks, on the whole map.
  //  - decode: back up to full size; forward()'s output when it runs to the
  //    end. Its norms see their input at decoder_norm_scales().
  static constexpr int kEncoderNorms = 2;
  static const std::vector<int64_t>& encoder_norm_scales();
  std::vector<int64_t> decoder_norm_scales() const;
  torch::Tensor encode(const torch::Tensor& rgb255, const NormPlan& plan, std::array<int64_t, 2> whole) const;
  torch::Tensor trunk(const torch::Tensor& encoded) const;
  torch::Tensor decode(const torch::Tensor& trunk_output, const NormPlan& plan, bool clamp = true) const;

 private:
  // Normalises `x` in place of the plan's next norm; false when the plan
  // stops there (x is left as it was).
  bool normalize(torch::Tensor& x, const std::string& scale_key, const std::string& shift_key, const NormPlan& plan,
                 size_t& index) const;
  const torch::Tensor& weight(const std::string& key) const { return weights_.at(key); }

  // Convolutions rewritten for inference on the CPU, made from the weights
  // as they are when asked (null while gradients are wanted, as in training):
  // both decoders' (resampled_conv.hpp) and both architectures' residual
  // blocks by Winograd.
  struct Rewritten;
  struct RewriteCache;
  std::shared_ptr<const Rewritten> rewritten() const;

  FastStyleArchitecture architecture_;
  torch::Device device_;
  bool channels_last_ = false;
  std::map<std::string, torch::Tensor> weights_;
  std::shared_ptr<RewriteCache> rewrite_cache_;
};

// A FastStyleNetwork as stylize_tiled runs it: RGB [0,1] in and out
// (the network's own range is 0..255), clamped.
class FastStyleStages final : public StagedNetwork {
 public:
  explicit FastStyleStages(const FastStyleNetwork& network) : network_(network) {}
  const torch::Device& device() const override { return network_.device(); }
  torch::Tensor input(const cv::Mat& rgb) const override;
  torch::Tensor encode(const torch::Tensor& input, const NormPlan& plan, std::array<int64_t, 2> whole) const override {
    return network_.encode(input, plan, whole);
  }
  torch::Tensor trunk(const torch::Tensor& encoded) const override { return network_.trunk(encoded); }
  torch::Tensor decode(const torch::Tensor& trunk_output, const NormPlan& plan) const override;
  std::vector<int64_t> encoder_norm_scales() const override { return FastStyleNetwork::encoder_norm_scales(); }
  std::vector<int64_t> decoder_norm_scales() const override { return network_.decoder_norm_scales(); }
  // Both architectures: the encoder sees 7 image pixels each way (9x9, then
  // two 3x3 stride-2 convolutions), under 2 map pixels; the decoder (two
  // nearest x2 + 3x3, then 9x9) under 2 map pixels. 4 leaves a margin.
  int64_t encoder_reach() const override { return 4; }
  int64_t decoder_reach() const override { return 4; }

 private:
  const FastStyleNetwork& network_;
};

// Stylises one image (CV_32FC3 RGB [0,1]) and returns it at the same size
// (the network's few extra rows and columns are padding and are cropped).
cv::Mat stylize_image(const FastStyleNetwork& network, const cv::Mat& rgb, Precision precision = Precision::F32);

// The same in tiles of at most `tile` x `tile` pixels (a multiple of 4) that
// overlap and are blended with feathered weights. Every instance norm uses
// the statistics of the whole image, gathered over the tiles in extra
// passes, so the result matches stylize_image up to rounding. Memory: the
// tiles' working set plus about 130 bytes a pixel (the quarter-size trunk
// and the blended output) instead of about 1 KB a pixel.
cv::Mat stylize_image_tiled(const FastStyleNetwork& network, const cv::Mat& rgb, int64_t tile,
                            Precision precision = Precision::F32);

// stylize_image, or stylize_image_tiled when plan_tiling says so.
cv::Mat stylize_image_within(const FastStyleNetwork& network, const cv::Mat& rgb, int64_t max_memory,
                             Precision precision = Precision::F32);

// "[3,8,9,9]", as errors about weights show shapes.
std::string shape_text(const std::vector<int64_t>& shape);

// Reflection padding of `p` pixels on all four sides (PyTorch's 'reflect':
// the edge pixel is not repeated), written in `dtype`. Needs p < H and p < W.
// Pads oneDNN's blocked layout [N,C/16,H,W,16] too (winograd_conv.hpp).
torch::Tensor reflection_pad(const torch::Tensor& x, int64_t p, torch::ScalarType dtype);

// The dtype the next convolution computes in: bf16 under CPU autocast, so
// that padding can write it directly and the cast costs no extra pass.
torch::ScalarType convolution_dtype(const torch::Tensor& x);

// Loads weights from a safetensors file (F16 kernels are computed in F32)
// or a PyTorch checkpoint (.pth/.pt: torch.save of a state_dict).
std::map<std::string, torch::Tensor> load_state_dict(const std::string& path);
FastStyleNetwork load_fast_style_network(const std::string& path, const torch::Device& device = torch::kCPU);

}  // namespace atelier
