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

 private:
  torch::Device device_;
  std::map<std::string, torch::Tensor> weights_;
};

// TensorFlow SAME zero padding of `x` for a conv of `kernel` and `stride`:
// ceil(n/stride) outputs, the odd pixel of the padding after.
torch::Tensor pad_tf_same(const torch::Tensor& x, int64_t kernel, int64_t stride);

// Load from a safetensors file; errors name the file.
MagentaPredictor load_magenta_predictor(const std::string& path, const torch::Device& device = torch::kCPU);
MagentaTransfer load_magenta_transfer(const std::string& path, const torch::Device& device = torch::kCPU);

}  // namespace atelier
