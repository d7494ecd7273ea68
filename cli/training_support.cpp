#include "training_support.hpp"

#include <cstdio>
#include <filesystem>

namespace atelier::cli {

std::function<DistributedOptions()> add_distributed_flags(CLI::App* command, DistributedOptions* flags) {
  auto* world = command->add_option("--world-size", flags->world_size, "Processes in data-parallel training ($WORLD_SIZE)");
  auto* rank = command->add_option("--rank", flags->rank, "This process's rank, 0..world-size-1 ($RANK)");
  auto* address = command->add_option("--master-addr", flags->master_address, "Address of rank 0 ($MASTER_ADDR)");
  auto* port = command->add_option("--master-port", flags->master_port, "Port of rank 0's rendezvous ($MASTER_PORT)");
  return [=] {
    return distributed_options_from_environment(*flags, world->count() > 0, rank->count() > 0, address->count() > 0,
                                                port->count() > 0);
  };
}

std::string step_file(const std::string& folder, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step_%06lld.png", static_cast<long long>(step));
  return (std::filesystem::path(folder) / name).string();
}

}  // namespace atelier::cli
