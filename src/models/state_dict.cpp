// State dicts from safetensors files or PyTorch checkpoints.
#include <torch/csrc/jit/serialization/pickle.h>

#include <filesystem>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "models/fast_style.hpp"
#include "torch/tensor_image.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {
namespace {

bool has_extension(const std::string& path, const std::string& extension) {
  return std::filesystem::path(path).extension() == extension;
}

std::map<std::string, torch::Tensor> load_safetensors_state(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  std::map<std::string, torch::Tensor> state;
  for (const auto& name : file.names()) {
    state[name] = load_tensor(file, name);
  }
  return state;
}

// torch.save(state_dict) writes a zip archive holding a pickled dict of
// tensors; libtorch's pickle loader reads it without Python.
std::map<std::string, torch::Tensor> load_checkpoint_state(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  torch::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& error) {
    const std::string what = error.what_without_backtrace();
    throw Error(path + ": not a readable PyTorch checkpoint (" + first_line(what) + ")");
  }
  if (!value.isGenericDict()) throw Error(path + ": a PyTorch checkpoint holding a state_dict was expected");
  std::map<std::string, torch::Tensor> state;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor())
      throw Error(path + ": the checkpoint's dict must map names to tensors");
    const std::string& name = item.key().toStringRef();
    state[name] = item.value().toTensor().to(torch::kFloat32).contiguous();
    check_finite(state[name], path, name);
  }
  return state;
}

}  // namespace

std::map<std::string, torch::Tensor> load_state_dict(const std::string& path) {
  if (has_extension(path, ".pth") || has_extension(path, ".pt")) return load_checkpoint_state(path);
  return load_safetensors_state(path);
}

FastStyleNetwork load_fast_style_network(const std::string& path, const torch::Device& device) {
  const auto state = load_state_dict(path);
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : state) keys.push_back(key);
  try {
    return FastStyleNetwork(FastStyleNetwork::detect(keys), state, device);
  } catch (const Error& error) {
    throw Error(path + ": " + error.what());
  }
}

}  // namespace atelier
