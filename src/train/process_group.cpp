// Data-parallel gradient averaging with libtorch's c10d: a TCPStore for the
// rendezvous (hosted by rank 0) and ProcessGroupGloo for the collectives.
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "atelier/error.hpp"
#include "train/training.hpp"

namespace atelier {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

DistributedOptions distributed_options_from_environment(DistributedOptions flags, bool world_size_given,
                                                        bool rank_given, bool address_given, bool port_given) {
  auto integer = [](const char* name, const char* text) {
    try {
      size_t end = 0;
      const int value = std::stoi(text, &end);
      if (text[end] == '\0') return value;
    } catch (const std::exception&) {
    }
    throw Error(std::string("environment variable ") + name + "=" + text + " is not a number");
  };
  if (const char* value = std::getenv("WORLD_SIZE"); value && !world_size_given) flags.world_size = integer("WORLD_SIZE", value);
  if (const char* value = std::getenv("RANK"); value && !rank_given) flags.rank = integer("RANK", value);
  if (const char* value = std::getenv("MASTER_ADDR"); value && !address_given) flags.master_address = value;
  if (const char* value = std::getenv("MASTER_PORT"); value && !port_given) flags.master_port = integer("MASTER_PORT", value);
  if (flags.world_size < 1) throw Error("--world-size must be at least 1");
  if (flags.rank < 0 || flags.rank >= flags.world_size)
    throw Error("--rank " + std::to_string(flags.rank) + " must be in 0.." + std::to_string(flags.world_size - 1));
  if (flags.master_port < 1 || flags.master_port > 65535) throw Error("--master-port must be in 1..65535");
  return flags;
}

ProcessGroup::ProcessGroup(const DistributedOptions& options)
    : impl_(std::make_unique<Impl>()), rank_(options.rank), world_size_(options.world_size) {
  if (world_size_ == 1) return;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(options.world_size);
    store_options.timeout = std::chrono::seconds(options.timeout_seconds);
    auto store = c10::make_intrusive<c10d::TCPStore>(options.master_address, store_options);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(options.timeout_seconds));
    // The interface that reaches the master: loopback for local runs, the
    // machine's own address otherwise.
    const bool local = options.master_address == "127.0.0.1" || options.master_address == "localhost";
    gloo_options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                          : c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank, options.world_size, gloo_options);
  } catch (const std::exception& error) {
    throw Error("cannot join the process group at " + options.master_address + ":" +
                std::to_string(options.master_port) + " as rank " + std::to_string(options.rank) + " of " +
                std::to_string(options.world_size) + ": " + first_line(error.what()));
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::average(std::vector<torch::Tensor> tensors) {
  if (world_size_ == 1 || tensors.empty()) return;
  // One flat buffer: one collective instead of one per tensor.
  std::vector<torch::Tensor> flat{torch::cat([&] {
    std::vector<torch::Tensor> pieces;
    for (const auto& tensor : tensors) pieces.push_back(tensor.detach().to(torch::kCPU, torch::kFloat32).reshape(-1));
    return pieces;
  }())};
  impl_->group->allreduce(flat)->wait();
  flat[0].div_(world_size_);
  int64_t offset = 0;
  for (auto& tensor : tensors) {
    const int64_t count = tensor.numel();
    tensor.detach().copy_(flat[0].narrow(0, offset, count).view(tensor.sizes()));
    offset += count;
  }
}

void ProcessGroup::broadcast(std::vector<torch::Tensor> tensors) {
  if (world_size_ == 1) return;
  for (auto& tensor : tensors) {
    std::vector<torch::Tensor> buffer{tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous()};
    impl_->group->broadcast(buffer)->wait();
    tensor.detach().copy_(buffer[0].view(tensor.sizes()));
  }
}

}  // namespace atelier
