#include "atelier/safetensors.hpp"
#include "torch/tensor_image.hpp"
#include "train/training.hpp"

namespace atelier {

void save_tensors(const std::string& path, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::map<std::string, TensorToWrite> out;
  for (const auto& [name, tensor] : tensors) {
    // Logical (NCHW) order whatever the memory format, as safetensors stores it.
    const auto values = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    out[name] = {DType::F32, values.sizes().vec(),
                 std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel())};
  }
  write_safetensors(path, out, metadata);
}

NamedTensors load_tensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  NamedTensors tensors;
  for (const auto& name : file.names()) tensors[name] = load_tensor(file, name);
  if (metadata) *metadata = file.metadata();
  return tensors;
}

}  // namespace atelier
