#include "atelier/model_tools.hpp"

#include <filesystem>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "models/fast_style.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {

std::string import_fast_style_checkpoint(const std::string& checkpoint, const std::string& output, bool half) {
  if (std::filesystem::path(output).extension() != ".safetensors")
    throw Error("cannot write " + output + ": the output of an import must be a .safetensors file");
  refuse_overwriting_input(checkpoint, output);
  const auto state = load_state_dict(checkpoint);
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : state) keys.push_back(key);
  const FastStyleArchitecture architecture = FastStyleNetwork::detect(keys);
  try {
    FastStyleNetwork validated(architecture, state);
  } catch (const Error& error) {
    throw Error(checkpoint + ": " + error.what());
  }
  const auto expected = FastStyleNetwork::expected_shapes(architecture);
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [key, tensor] : state) {
    if (!expected.count(key)) continue;  // running statistics the network does not use
    auto values = tensor.contiguous();
    TensorToWrite entry;
    entry.dtype = half && tensor.dim() == 4 ? DType::F16 : DType::F32;
    entry.shape = values.sizes().vec();
    entry.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
    tensors[key] = std::move(entry);
  }
  write_safetensors(output, tensors,
                    {{"architecture", architecture_name(architecture)},
                     {"source", std::filesystem::path(checkpoint).filename().string()},
                     {"conv_dtype", half ? "F16" : "F32"}});
  return architecture_name(architecture);
}

}  // namespace atelier
