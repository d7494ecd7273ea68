// State dicts from safetensors files or PyTorch checkpoints.
#include <torch/csrc/jit/serialization/pickle.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
std::map<std::string, torch::Tensor> unpickle_state(const std::vector<unsigned char>& bytes, const std::string& path) {
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
    state[item.key().toStringRef()] = item.value().toTensor().to(torch::kFloat32).contiguous();
  }
  return state;
}

bool write_all(int fd, const void* data, size_t size) {
  const char* at = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, at, size);
    if (written <= 0) return false;
    at += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

// In the child: 'T', the tensor count, then per tensor its name, shape and
// float32 values; or 'E' and the error message.
void send_state(int fd, const std::vector<unsigned char>& bytes, const std::string& path) {
  try {
    const auto state = unpickle_state(bytes, path);
    std::string head = "T";
    const auto add = [&](std::uint64_t number) { head.append(reinterpret_cast<const char*>(&number), sizeof number); };
    add(state.size());
    if (!write_all(fd, head.data(), head.size())) return;
    for (const auto& [name, tensor] : state) {
      head.clear();
      add(name.size());
      head += name;
      add(static_cast<std::uint64_t>(tensor.dim()));
      for (const auto size : tensor.sizes()) add(static_cast<std::uint64_t>(size));
      if (!write_all(fd, head.data(), head.size()) ||
          !write_all(fd, tensor.data_ptr<float>(), static_cast<size_t>(tensor.numel()) * sizeof(float)))
        return;
    }
  } catch (const std::exception& error) {
    const std::string message = "E" + first_line(error.what());
    write_all(fd, message.data(), message.size());
  }
}

// libtorch's unpickler can crash on a damaged file (fuzz_model_files found a
// segfault in torch::jit::Unpickler), so a child process reads the file and
// sends the tensors back: a crash there is an error here.
std::map<std::string, torch::Tensor> load_checkpoint_state(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  int channel[2];
  if (::pipe(channel) != 0) throw Error(path + ": cannot read it (no pipe for the checkpoint reader)");
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(channel[0]);
    ::close(channel[1]);
    throw Error(path + ": cannot read it (cannot start the checkpoint reader)");
  }
  if (child == 0) {
    ::close(channel[0]);
    at::set_num_threads(1);  // no OpenMP team in a forked child: every op runs inline
    send_state(channel[1], bytes, path);
    ::_exit(0);
  }
  ::close(channel[1]);
  std::string reply;
  char buffer[1 << 16];
  for (ssize_t got; (got = ::read(channel[0], buffer, sizeof buffer)) != 0;) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    reply.append(buffer, static_cast<size_t>(got));
  }
  ::close(channel[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || reply.empty())
    throw Error(path + ": not a readable PyTorch checkpoint (the reader failed on it" +
                (WIFSIGNALED(status) ? std::string(", signal ") + std::to_string(WTERMSIG(status)) : std::string()) + ")");
  if (reply[0] == 'E') throw Error(reply.substr(1));
  size_t at = 1;
  const auto number = [&]() -> std::uint64_t {
    std::uint64_t value = 0;
    if (reply.size() - at < sizeof value) throw Error(path + ": the checkpoint reader's answer is cut short");
    std::memcpy(&value, reply.data() + at, sizeof value);
    at += sizeof value;
    return value;
  };
  std::map<std::string, torch::Tensor> state;
  for (std::uint64_t count = number(), i = 0; i < count; ++i) {
    const std::uint64_t name_size = number();
    if (reply.size() - at < name_size) throw Error(path + ": the checkpoint reader's answer is cut short");
    const std::string name = reply.substr(at, name_size);
    at += name_size;
    std::vector<int64_t> shape(number());
    std::uint64_t elements = 1;
    for (auto& size : shape) elements *= (size = static_cast<int64_t>(number()));
    if ((reply.size() - at) / sizeof(float) < elements) throw Error(path + ": the checkpoint reader's answer is cut short");
    state[name] = torch::from_blob(reply.data() + at, shape, torch::kFloat32).clone();
    at += elements * sizeof(float);
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
