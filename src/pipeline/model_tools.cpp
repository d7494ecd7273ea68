#include "atelier/model_tools.hpp"

#include <filesystem>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/model_names.hpp"
#include "pipeline/adain_import.hpp"
#include "models/fast_style.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {

namespace model_tools_detail {

void check_import_output(const std::string& input, const std::string& output) {
  if (std::filesystem::path(output).extension() != ".safetensors")
    throw Error("cannot write " + output + ": the output of an import must be a .safetensors file");
  refuse_overwriting_input(input, output);
}

std::string import_fast_style_state(const std::map<std::string, torch::Tensor>& state, const std::string& checkpoint,
                                    const std::string& output, bool half) {
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
                     {kFamilyKey, architecture_name(architecture)},  // whose network it is (model_names.hpp)
                     {kTitleKey, readable_name(std::filesystem::path(checkpoint).stem().string())},
                     {"source", std::filesystem::path(checkpoint).filename().string()},
                     {"conv_dtype", half ? "F16" : "F32"}});
  return architecture_name(architecture);
}

}  // namespace model_tools_detail

std::string import_fast_style_checkpoint(const std::string& checkpoint, const std::string& output, bool half) {
  model_tools_detail::check_import_output(checkpoint, output);
  return model_tools_detail::import_fast_style_state(load_state_dict(checkpoint), checkpoint, output, half);
}

std::string import_pytorch_checkpoint(const std::string& checkpoint, const std::string& output, bool half) {
  model_tools_detail::check_import_output(checkpoint, output);
  const auto state = load_state_dict(checkpoint);
  if (is_adain_state(state)) return import_adain_state(state, checkpoint, output, half);
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : state) keys.push_back(key);
  try {
    FastStyleNetwork::detect(keys);
  } catch (const Error& error) {
    throw Error(checkpoint + ": " + error.what() +
                "; nor AdaIN's vgg_normalised.pth or decoder.pth (keys 0.weight, 2.weight, ... or 1.weight, 5.weight, ...)");
  }
  return model_tools_detail::import_fast_style_state(state, checkpoint, output, half);
}

}  // namespace atelier
