// Bridges between OpenCV images (CV_32FC3 RGB [0,1]) and torch tensors
// ([1,3,H,W] float32 RGB [0,1]), the torch device, and autocast (the
// torch-free half of the runtime is atelier/runtime.hpp).
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>
#include <string>

#include "atelier/runtime.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {

torch::Tensor image_to_tensor(const cv::Mat& rgb, const torch::Device& device = torch::kCPU);
// Clamps to [0,1]; accepts [1,3,H,W] or [3,H,W] on any device.
cv::Mat tensor_to_image(const torch::Tensor& tensor);

// A float32 tensor from a tensor in a safetensors file (F16/BF16 widened),
// converted straight from the mapped bytes.
torch::Tensor tensor_from_view(const TensorView& view);

// The tensor `name` of `file` as float32, refused (atelier::Error naming the
// file and the tensor) when it holds a NaN or an infinity: damaged weights
// would otherwise paint black pictures without a word. Every loader of
// weights and checkpoints reads through this.
torch::Tensor load_tensor(const SafetensorsFile& file, const std::string& name);
// The same check for a tensor from elsewhere (a .pth checkpoint).
void check_finite(const torch::Tensor& tensor, const std::string& file, const std::string& name);

// "cpu", "cuda" or "cuda:N". Throws atelier::Error when CUDA is asked for
// but this libtorch has no CUDA or sees no GPU.
torch::Device parse_device(const std::string& name);

// While alive, eligible ops on `device` run in bf16 (when `precision` is BF16).
class AutocastScope {
 public:
  AutocastScope(Precision precision, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
};

}  // namespace atelier
