// The training machinery shared by every trainer (style networks now; GANs
// and arbitrary-style networks later): Adam with state that can be saved
// and restored exactly, checkpoints, loss logs, and data-parallel gradient
// averaging over processes.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "atelier/distributed.hpp"

namespace atelier {

using NamedTensors = std::map<std::string, torch::Tensor>;

// Adam (Kingma & Ba), exactly as torch.optim.Adam with default options
// computes it, over named parameters; its moments and step count are plain
// tensors so a checkpoint restores them bit for bit.
class Adam {
 public:
  Adam(NamedTensors parameters, double learning_rate, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  // One update from the parameters' .grad(); then clears the gradients.
  void step();
  int64_t steps() const { return steps_; }
  // "adam.m.<name>", "adam.v.<name>" and "adam.step" ([1] float32: exact to 16M steps).
  NamedTensors state() const;
  void load_state(const NamedTensors& state);  // throws atelier::Error on a mismatch

 private:
  NamedTensors parameters_, exp_avg_, exp_avg_sq_;
  double learning_rate_, beta1_, beta2_, eps_;
  int64_t steps_ = 0;
};

// Saves tensors as float32 safetensors,
// atomically, with string metadata; loads them back on the CPU.
void save_tensors(const std::string& path, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata = {});
NamedTensors load_tensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

// Loss values per step as CSV (step,name1,name2,...) and a PNG plot of them
// (log scale). Resuming keeps the rows up to the checkpoint's step.
class LossLog {
 public:
  LossLog(std::string csv_path, std::vector<std::string> names);
  // Reads existing rows with step <= `up_to_step` (a resumed run).
  void resume(int64_t up_to_step);
  void add(int64_t step, const std::vector<double>& values);
  // Writes the CSV and the plot (both atomically).
  void write(const std::string& png_path) const;
  const std::vector<std::pair<int64_t, std::vector<double>>>& rows() const { return rows_; }

 private:
  std::string csv_path_;
  std::vector<std::string> names_;
  std::vector<std::pair<int64_t, std::vector<double>>> rows_;
};

// Data-parallel training over processes (on one machine or many): every
// process computes gradients on its own slice of the batch; average()
// replaces them with the mean over all processes (distributed.hpp).
class ProcessGroup {
 public:
  // Joins the group (waits for every process). world_size 1: no-op group.
  explicit ProcessGroup(const DistributedOptions& options);
  ~ProcessGroup();
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  // Averages the tensors over all processes, in place.
  void average(std::vector<torch::Tensor> tensors);
  // Copies rank 0's tensors to every process, in place.
  void broadcast(std::vector<torch::Tensor> tensors);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_size_ = 1;
};

}  // namespace atelier
