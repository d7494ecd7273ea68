// The loop every training method shares (train_style, train_gan): resuming
// from the checkpoint, the steps and their loss log, the checkpoint cadence,
// stopping when asked, divergence, the final checkpoint. A method supplies
// its trainer and its own outputs (previews, sample grids, final weights).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "train/training.hpp"
#include "atelier/training_run.hpp"

namespace atelier {

// One method's part of a run. Its hooks write only where the run writes (rank 0).
class TrainingMethod {
 public:
  virtual ~TrainingMethod() = default;

  virtual int64_t steps() const = 0;
  // Everything a checkpoint holds; load() restores it exactly.
  virtual NamedTensors state() const = 0;
  virtual void load(const NamedTensors& state) = 0;
  // False when a weight is NaN or infinite: the checkpoint is not written then.
  virtual bool weights_finite() const { return true; }

  struct Step {
    std::vector<double> losses;  // in the order of TrainingLoop::loss_columns
    std::string divergence;      // not empty: a loss is NaN or infinite, and which
  };
  virtual Step step() = 0;
  // The losses as the progress line shows them.
  virtual std::string summary(const std::vector<double>& losses) const = 0;

  // After the checkpoint (if any) is loaded: its own logs, fixed inputs, the opening message.
  virtual void resume_logs(int64_t /*step*/) {}
  virtual void prepare() = 0;
  // Previews or sample grids of the untrained network (a run from step 0).
  virtual void write_first_samples() = 0;
  // After `step`, around its checkpoint.
  virtual void before_checkpoint(int64_t /*step*/, int64_t /*total_steps*/) {}
  virtual void after_checkpoint(int64_t /*step*/) {}
  // With each checkpoint: its own logs' plots.
  virtual void write_logs() const {}
  // After the last step, before the last checkpoint.
  virtual void before_last_checkpoint() {}
  // The trained weights with their metadata, and the closing message.
  virtual void write_weights() = 0;
};

// A method measured on fixed held-out inputs (train-style, train-arbitrary):
// evaluate() at step 0, every `preview_every` steps and at the end, into a
// validation log (OUTPUT.validation.csv) that resumes with the run and is
// plotted with each checkpoint.
class ValidatedTraining : public TrainingMethod {
 public:
  ValidatedTraining(const std::string& output, int preview_every)
      : output_(output), preview_every_(preview_every), validation_(output + ".validation.csv", {"content", "style"}) {}
  void resume_logs(int64_t step) override { validation_.resume(step); }
  void write_first_samples() override { evaluate(0); }
  void before_checkpoint(int64_t step, int64_t total_steps) override {
    if (preview_every_ > 0 && step % preview_every_ == 0 && step != total_steps) evaluate(step);
  }
  void write_logs() const override { validation_.write(output_ + ".validation.png"); }
  void before_last_checkpoint() override { evaluate(steps()); }

 protected:
  // Adds the held-out losses at `step` to validation_ (and writes previews).
  virtual void evaluate(int64_t step) = 0;
  // The held-out style loss at the first and the last evaluation.
  std::pair<double, double> style_loss_first_last() const;

  std::string output_;
  int preview_every_;
  LossLog validation_;
};

// "; process R of N" in a data-parallel run, "" alone.
std::string process_note(const ProcessGroup& group);

// What the loop needs to know of the run.
struct TrainingLoop {
  std::string output;  // checkpoint and loss log go beside it
  std::string job;     // the job description a checkpoint must match to be resumed
  int64_t total_steps = 0;
  int checkpoint_every = 0;
  bool resume = false;
  bool writes = true;                      // this process writes the files (rank 0)
  std::vector<std::string> loss_columns;   // OUTPUT.losses.csv's columns
  std::vector<std::string> loss_names;     // the same losses in progress events
  std::string divergence_advice;           // ends the divergence message
};

// Throws atelier::Error when the output is not a .safetensors file.
void check_output_name(const TrainingRunOptions& run);
// Whether this process writes the run's files: rank 0.
bool writes_files(const TrainingRunOptions& run);
// writes_files, having checked first that it can write beside the output.
bool check_writes(const TrainingRunOptions& run);
// The loop's settings that come from the run's options.
TrainingLoop training_loop(const TrainingRunOptions& run, const std::string& job, int64_t total_steps);

TrainingOutcome run_training_loop(TrainingMethod& method, const TrainingLoop& loop, const TrainingEvents& events);

// OUTPUT.checkpoint.safetensors
std::string checkpoint_path(const std::string& output);
// The checkpoint to resume from. Throws atelier::Error when there is none
// or when it was written for another job description.
NamedTensors read_training_checkpoint(const std::string& path, const std::string& job);
// Throws atelier::Error when a resumed run is already past `total_steps`.
void check_resume_within(const std::string& path, int64_t checkpoint_step, int64_t total_steps);
// FOLDER/step_NNNNNN.png
std::string step_file(const std::string& folder, int64_t step);

// The event callbacks that were given, silent where one was left empty.
void report_info(const TrainingEvents& events, const std::string& message, const nlohmann::json& fields);
void report_event(const TrainingEvents& events, const std::string& name, const nlohmann::json& fields);

}  // namespace atelier
