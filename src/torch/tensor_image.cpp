#include "atelier/tensor_image.hpp"

#include <thread>

#include "atelier/error.hpp"

namespace atelier {

torch::Tensor image_to_tensor(const cv::Mat& rgb, const torch::Device& device) {
  if (rgb.type() != CV_32FC3) throw Error("internal: image_to_tensor expects CV_32FC3");
  cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
  auto hwc = torch::from_blob(contiguous.data, {rgb.rows, rgb.cols, 3}, torch::kFloat32);
  return hwc.permute({2, 0, 1}).unsqueeze(0).contiguous().to(device);
}

cv::Mat tensor_to_image(const torch::Tensor& tensor) {
  auto chw = tensor.dim() == 4 ? tensor[0] : tensor;
  auto hwc = chw.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1).permute({1, 2, 0}).contiguous();
  cv::Mat view(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_32FC3, hwc.data_ptr<float>());
  return view.clone();
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw Error("--device " + name + ": this build of libtorch has no CUDA support or no GPU is visible");
    }
    return torch::Device(name);
  }
  throw Error("--device " + name + ": expected cpu, cuda or cuda:N");
}

void set_thread_count(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
}

}  // namespace atelier
