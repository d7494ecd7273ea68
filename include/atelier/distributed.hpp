// Where a data-parallel training run's processes meet, without torch: the
// settings the front ends fill in; ProcessGroup (training.hpp) joins them.
#pragma once
#include <string>

namespace atelier {

// Every process computes gradients on its own slice of the batch and they
// are averaged over all processes. Gloo over TCP; the process of rank 0 also
// hosts the rendezvous store at master_address:master_port.
struct DistributedOptions {
  int world_size = 1;
  int rank = 0;
  std::string master_address = "127.0.0.1";
  int master_port = 29500;
  int timeout_seconds = 300;
};
// From the flags, else the usual environment variables (WORLD_SIZE, RANK,
// MASTER_ADDR, MASTER_PORT) where a flag was left at its default.
DistributedOptions distributed_options_from_environment(DistributedOptions flags, bool world_size_given,
                                                        bool rank_given, bool address_given, bool port_given);

}  // namespace atelier
