// Bridges between OpenCV images (CV_32FC3 RGB [0,1]) and torch tensors
// ([1,3,H,W] float32 RGB [0,1]), and the runtime set-up that every torch
// command shares (device choice, thread count).
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>
#include <string>

#include "atelier/safetensors.hpp"

namespace atelier {

torch::Tensor image_to_tensor(const cv::Mat& rgb, const torch::Device& device = torch::kCPU);
// Clamps to [0,1]; accepts [1,3,H,W] or [3,H,W] on any device.
cv::Mat tensor_to_image(const torch::Tensor& tensor);

// A float32 tensor from a tensor in a safetensors file (F16/BF16 widened),
// converted straight from the mapped bytes.
torch::Tensor tensor_from_view(const TensorView& view);

// "cpu", "cuda" or "cuda:N". Throws atelier::Error when CUDA is asked for
// but this libtorch has no CUDA or sees no GPU.
torch::Device parse_device(const std::string& name);

// Numeric precision of the heavy work (convolutions, matrix products).
// BF16 runs them under autocast: on CPUs with AMX-BF16 or AVX512-BF16
// oneDNN computes in bf16 with fp32 accumulation, about twice as fast.
enum class Precision { F32, BF16 };
Precision parse_precision(const std::string& name);  // "fp32" | "bf16"

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

// Process-wide set-up for torch work, done once by each command:
//  - threads: libtorch starts with a single intra-op thread on these
//    machines; 0 means all hardware threads.
//  - memory: glibc's malloc hands buffers above 32 MiB back to the kernel on
//    every free, so each forward pass faults its activations in again (a
//    quarter of fp32 and a third of bf16 feed-forward time); freed memory is
//    kept for reuse instead. The cost: peak memory grows a little, and the
//    process keeps what it once needed until it exits.
void configure_runtime(int threads);

}  // namespace atelier
