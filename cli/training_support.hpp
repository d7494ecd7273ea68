// What the training commands (train-style, gan train) share: the flags of
// data-parallel training and the names of per-step output files.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "atelier/training.hpp"

namespace atelier::cli {

// Registers --world-size, --rank, --master-addr and --master-port, filling
// `flags`; the returned function gives the options with the environment's
// WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT for flags not given.
std::function<DistributedOptions()> add_distributed_flags(CLI::App* command, DistributedOptions* flags);

// FOLDER/step_NNNNNN.png
std::string step_file(const std::string& folder, int64_t step);

}  // namespace atelier::cli
