// Bridges between OpenCV images (CV_32FC3 RGB [0,1]) and torch tensors
// ([1,3,H,W] float32 RGB [0,1]), and the runtime set-up that every torch
// command shares (device choice, thread count).
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>
#include <string>

namespace atelier {

torch::Tensor image_to_tensor(const cv::Mat& rgb, const torch::Device& device = torch::kCPU);
// Clamps to [0,1]; accepts [1,3,H,W] or [3,H,W] on any device.
cv::Mat tensor_to_image(const torch::Tensor& tensor);

// "cpu", "cuda" or "cuda:N". Throws atelier::Error when CUDA is asked for
// but this libtorch has no CUDA or sees no GPU.
torch::Device parse_device(const std::string& name);

// libtorch starts with a single intra-op thread on these machines; 0 means
// "all hardware threads".
void set_thread_count(int threads);

}  // namespace atelier
