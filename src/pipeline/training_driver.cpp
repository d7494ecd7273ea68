#include "pipeline/training_driver.hpp"

#include <cstdio>
#include <filesystem>

#include "atelier/error.hpp"
#include "atelier/image.hpp"

namespace atelier {

std::string checkpoint_path(const std::string& output) { return output + ".checkpoint.safetensors"; }

NamedTensors read_training_checkpoint(const std::string& path, const std::string& job) {
  if (!std::filesystem::exists(path)) throw Error("--resume: no checkpoint " + path + " to resume from");
  std::map<std::string, std::string> metadata;
  NamedTensors state = load_tensors(path, &metadata);
  if (metadata["job"] != job)
    throw Error("--resume: " + path + " was written by a different command (other inputs or settings); "
                "delete it, or run without --resume to start over");
  return state;
}

void check_resume_within(const std::string& path, int64_t checkpoint_step, int64_t total_steps) {
  if (checkpoint_step > total_steps)
    throw Error("--resume: " + path + " is at step " + std::to_string(checkpoint_step) + ", beyond --steps " +
                std::to_string(total_steps));
}

std::string step_file(const std::string& folder, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step_%06lld.png", static_cast<long long>(step));
  return (std::filesystem::path(folder) / name).string();
}

void report_info(const TrainingEvents& events, const std::string& message, const nlohmann::json& fields) {
  if (events.info) events.info(message, fields);
}

void report_event(const TrainingEvents& events, const std::string& name, const nlohmann::json& fields) {
  if (events.event) events.event(name, fields);
}

void check_output_name(const TrainingRunOptions& run) {
  if (std::filesystem::path(run.output).extension() != ".safetensors")
    throw Error("-o " + run.output + ": must end in .safetensors");
}

bool writes_files(const TrainingRunOptions& run) { return run.distributed.rank == 0; }

bool check_writes(const TrainingRunOptions& run) {
  const bool writes = writes_files(run);
  if (writes) check_can_save(run.output + ".probe.png", {});
  return writes;
}

TrainingLoop training_loop(const TrainingRunOptions& run, const std::string& job, int64_t total_steps) {
  TrainingLoop loop;
  loop.output = run.output;
  loop.job = job;
  loop.total_steps = total_steps;
  loop.checkpoint_every = run.checkpoint_every;
  loop.resume = run.resume;
  loop.writes = writes_files(run);
  return loop;
}

TrainingOutcome run_training_loop(TrainingMethod& method, const TrainingLoop& loop, const TrainingEvents& events) {
  const std::string checkpoint = checkpoint_path(loop.output);
  LossLog losses(loop.output + ".losses.csv", loop.loss_columns);
  if (loop.resume) {
    const NamedTensors state = read_training_checkpoint(checkpoint, loop.job);
    method.load(state);
    check_resume_within(checkpoint, method.steps(), loop.total_steps);
    losses.resume(method.steps());
    method.resume_logs(method.steps());
  }
  method.prepare();

  int64_t last_checkpoint = loop.resume ? method.steps() : -1;
  bool finished = false;
  auto finish = [&] {
    if (!finished && events.finished) events.finished();
    finished = true;
  };
  auto stop = [&](TrainingEnd end, const std::string& message) {
    finish();
    return TrainingOutcome{end, method.steps(), message};
  };
  // Stops the run without writing anything more: the last checkpoint is good.
  auto diverged = [&](const std::string& what) {
    return stop(TrainingEnd::Diverged,
                "training diverged at step " + std::to_string(method.steps()) + " (" + what + "); " +
                    (last_checkpoint >= 0 ? "kept the last good checkpoint " + checkpoint + " (step " +
                                                std::to_string(last_checkpoint) + ")"
                                          : std::string("no checkpoint was written")) +
                    ": " + loop.divergence_advice);
  };
  const std::string weight_not_finite = "a weight is NaN or infinite";
  // False, writing nothing, when a weight is no longer finite.
  auto save = [&] {
    if (!loop.writes) return true;
    if (!method.weights_finite()) return false;
    save_tensors(checkpoint, method.state(), {{"job", loop.job}, {"step", std::to_string(method.steps())}});
    last_checkpoint = method.steps();
    losses.write(loop.output + ".losses.png");
    method.write_logs();
    return true;
  };
  if (method.steps() == 0) method.write_first_samples();

  if (events.started) events.started(loop.total_steps, method.steps());
  while (method.steps() < loop.total_steps) {
    if (events.stop_requested && events.stop_requested()) {
      if (!save()) return diverged(weight_not_finite);
      return stop(TrainingEnd::Interrupted, "interrupted at step " + std::to_string(method.steps()) +
                                                "; run the same command with --resume to continue");
    }
    const TrainingMethod::Step taken = method.step();
    const int64_t step = method.steps();
    if (!taken.divergence.empty()) return diverged(taken.divergence);
    losses.add(step, taken.losses);
    if (events.step) {
      TrainingProgress progress{step, loop.total_steps, {}, method.summary(taken.losses)};
      for (size_t i = 0; i < taken.losses.size(); ++i)
        progress.losses.emplace_back(loop.loss_names[i], taken.losses[i]);
      events.step(progress);
    }
    method.before_checkpoint(step, loop.total_steps);
    if (loop.checkpoint_every > 0 && step % loop.checkpoint_every == 0 && !save()) return diverged(weight_not_finite);
    method.after_checkpoint(step);
  }
  finish();
  method.before_last_checkpoint();
  if (!save()) return diverged(weight_not_finite);
  method.write_weights();
  return TrainingOutcome{TrainingEnd::Finished, method.steps(), ""};
}

std::pair<double, double> ValidatedTraining::style_loss_first_last() const {
  const auto& rows = validation_.rows();
  return {rows.front().second[1], rows.back().second[1]};
}

std::string process_note(const ProcessGroup& group) {
  if (group.world_size() <= 1) return "";
  return "; process " + std::to_string(group.rank()) + " of " + std::to_string(group.world_size());
}

}  // namespace atelier
