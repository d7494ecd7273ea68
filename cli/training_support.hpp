// What the training commands (train-style, gan train) share: the flags that
// run a training job (precision, device, checkpoints, output, resume,
// data-parallel processes), and running the job with the CLI's progress
// output and Ctrl-C handling.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

#include "atelier/training_run.hpp"
#include "common_flags.hpp"

namespace atelier::cli {

// Steps, and step intervals, of a training run.
constexpr long double kMaxSteps = 1e9;

// The flags that shape the CLI's side of a run; the rest go into the job's TrainingRunOptions.
struct TrainingRunFlags {
  OutputFlags output;
  RuntimeFlags runtime;
  int log_every = 10;
};

// Registers the flags, filling `flags` and `run`. Call the returned function
// after parsing: it fills in WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT
// from the environment for the distributed flags not given, and the device
// and precision.
std::function<void()> add_training_run_flags(CLI::App* command, TrainingRunFlags* flags, TrainingRunOptions* run);

// Runs `train` with a progress display and Ctrl-C taking a checkpoint (from
// the first step on); returns the exit code. Errors propagate as exceptions.
int run_training(const TrainingRunFlags& flags, const std::function<TrainingOutcome(const TrainingEvents&)>& train);

}  // namespace atelier::cli
