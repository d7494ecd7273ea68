#include "pipeline/adain_import.hpp"

#include <filesystem>
#include <regex>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"
#include "models/adain.hpp"

namespace atelier {

bool is_adain_state(const std::map<std::string, torch::Tensor>& state) {
  static const std::regex sequential_key("[0-9]+\\.(weight|bias)");
  if (state.empty()) return false;
  for (const auto& [key, tensor] : state)
    if (!std::regex_match(key, sequential_key)) return false;
  return true;
}

std::string import_adain_state(const std::map<std::string, torch::Tensor>& state, const std::string& checkpoint,
                               const std::string& output, bool half) {
  std::string architecture, level;
  try {
    if (state.count("0.weight")) {
      const NormalisedVgg encoder(state);
      architecture = kNormalisedVggArchitecture;
      level = adain_level(encoder);
    } else {
      architecture = kAdainDecoderArchitecture;
      level = adain_decoder_from_state(state, "")->level;
    }
  } catch (const Error& error) {
    throw Error(checkpoint + ": " + error.what());
  }
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& [key, tensor] : state) {
    const auto values = tensor.to(torch::kFloat32).contiguous();
    tensors[key] = {half && tensor.dim() == 4 ? DType::F16 : DType::F32, values.sizes().vec(),
                    std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel())};
  }
  write_safetensors(output, tensors,
                    {{"architecture", architecture},
                     {"level", level},
                     {"source", std::filesystem::path(checkpoint).filename().string()},
                     {"conv_dtype", half ? "F16" : "F32"}});
  return architecture;
}

}  // namespace atelier
