// What the training commands (train-style, gan train) share: the flags that
// run a training job (precision, device, checkpoints, output, resume,
// data-parallel processes), resuming from a checkpoint, and the names of
// per-step output files.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "atelier/training.hpp"

namespace atelier::cli {

struct TrainingRunFlags {
  std::string precision = "fp32", device = "cpu";
  int threads = 0;
  int checkpoint_every = 500, log_every = 10;
  bool resume = false, json = false, quiet = false;
  DistributedOptions distributed;
  bool save_all_ranks = false;  // hidden: tests compare every rank's weights
};

// Registers the flags, filling `flags`. Call the returned function after
// parsing: it fills in WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT from the
// environment for the distributed flags not given.
std::function<void()> add_training_run_flags(CLI::App* command, TrainingRunFlags* flags);

// The checkpoint to --resume from. Throws atelier::Error when there is none
// or when it was written for another job description.
NamedTensors read_training_checkpoint(const std::string& path, const std::string& job);
// Throws atelier::Error when a resumed run is already past `total_steps`.
void check_resume_within(const std::string& path, int64_t checkpoint_step, int64_t total_steps);

// FOLDER/step_NNNNNN.png
std::string step_file(const std::string& folder, int64_t step);

}  // namespace atelier::cli
