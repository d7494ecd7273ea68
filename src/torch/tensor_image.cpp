#include "torch/tensor_image.hpp"

#include <fstream>
#include <sstream>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>

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

torch::Tensor tensor_from_view(const TensorView& view) {
  const torch::Dtype stored = view.dtype == DType::F32   ? torch::kFloat32
                              : view.dtype == DType::F16 ? torch::kFloat16
                                                         : torch::kBFloat16;
  // from_blob only borrows the mapping; to() and clone() make the copy we keep.
  auto borrowed = torch::from_blob(const_cast<unsigned char*>(view.data), view.shape, stored);
  return stored == torch::kFloat32 ? borrowed.clone() : borrowed.to(torch::kFloat32);
}

void check_finite(const torch::Tensor& tensor, const std::string& file, const std::string& name) {
  if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>())
    throw Error(file + ": tensor " + name + " holds NaN or infinite values (damaged weights)");
}

torch::Tensor load_tensor(const SafetensorsFile& file, const std::string& name) {
  torch::Tensor tensor = tensor_from_view(file.tensor(name));
  check_finite(tensor, file.path(), name);
  return tensor;
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

void check_device(const std::string& name) { parse_device(name); }

std::string error_message(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error))
    return std::string("torch: ") + torch_error->what_without_backtrace();
  return error.what();
}

std::string precision_name(Precision precision) { return precision == Precision::BF16 ? "bf16" : "fp32"; }

bool cpu_prefers_bf16(const std::string& cpu_flags) {
  std::istringstream words(cpu_flags);
  for (std::string word; words >> word;)
    if (word == "amx_bf16") return true;
  return false;
}

PrecisionChoice auto_precision(const std::string& device) {
  if (parse_device(device).is_cuda()) return {Precision::BF16, "a CUDA GPU computes bf16"};
  if (cpu_prefers_bf16(cpu_flags())) return {Precision::BF16, "this CPU has AMX-BF16"};
  return {Precision::F32, "this CPU has no AMX-BF16, where bf16 is slower"};
}

Precision parse_precision(const std::string& name, const std::string& device) {
  if (name == "fp32") return Precision::F32;
  if (name == "bf16") return Precision::BF16;
  if (name == "auto") return auto_precision(device).precision;
  throw Error("--precision " + name + ": expected auto, fp32 or bf16");
}

AutocastScope::AutocastScope(Precision precision, const torch::Device& device)
    : active_(precision == Precision::BF16), cuda_(device.is_cuda()) {
  if (!active_) return;
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Autocast caches bf16 copies of weights; drop them when the outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_)
    at::autocast::set_enabled(was_enabled_);
  else
    at::autocast::set_cpu_enabled(was_enabled_);
}

void configure_runtime(int threads) {
  // glibc's own environment variable, when set, wins.
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) {
    constexpr int kOneGiB = 1 << 30;
    mallopt(M_MMAP_THRESHOLD, kOneGiB);
    mallopt(M_TRIM_THRESHOLD, kOneGiB);
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
}

void use_one_thread_here() {
  at::get_num_threads();  // ATen's lazy per-thread set-up first: it would undo the line below
  // at::set_num_threads would change the default of threads yet to start
  // (a job's); libgomp comes with torch, so it is looked up, not linked.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) set(1);
}

}  // namespace atelier
