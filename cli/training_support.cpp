#include "training_support.hpp"

#include <cstdint>
#include <iostream>
#include <optional>

#include "atelier/runtime.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "progress.hpp"

namespace atelier::cli {

std::function<void()> add_training_run_flags(CLI::App* command, TrainingRunFlags* flags, TrainingRunOptions* run) {
  add_precision_flag(command, &flags->runtime);
  command->add_option("--checkpoint-every", run->checkpoint_every, "Checkpoint every N steps (and at the end, and on Ctrl-C)")->capture_default_str()->check(whole_number_in(0, kMaxSteps));
  command->add_option("--log-every", flags->log_every, "Progress line every N steps")->capture_default_str()->check(whole_number_in(1, kMaxSteps));
  add_output_flags(command, &flags->output);
  add_threads_and_device_flags(command, &flags->runtime);
  auto* world = command->add_option("--world-size", run->distributed.world_size, "Processes in data-parallel training ($WORLD_SIZE)")->check(whole_number_in(1, 4096));
  auto* rank = command->add_option("--rank", run->distributed.rank, "This process's rank, 0..world-size-1 ($RANK)")->check(whole_number_in(0, 4095));
  auto* address = command->add_option("--master-addr", run->distributed.master_address, "Address of rank 0 ($MASTER_ADDR)");
  auto* port = command->add_option("--master-port", run->distributed.master_port, "Port of rank 0's rendezvous ($MASTER_PORT)")->check(whole_number_in(1, 65535));
  command->add_flag("--save-all-ranks", run->save_all_ranks)->group("");
  return [=] {
    run->distributed = distributed_options_from_environment(run->distributed, world->count() > 0, rank->count() > 0,
                                                            address->count() > 0, port->count() > 0);
    run->device = flags->runtime.device;
    run->precision = parse_precision(flags->runtime.precision, flags->runtime.device);
  };
}

int run_training(const TrainingRunFlags& flags, const std::function<TrainingOutcome(const TrainingEvents&)>& train) {
  Progress progress(flags.output.mode());
  configure_runtime(flags.runtime.threads);
  chosen_precision(flags.runtime, progress);  // said once; the run's options hold it
  std::optional<InterruptHandler> interrupt_handler;  // Ctrl-C kills the set-up, stops the steps
  TrainingEvents events;
  events.info = [&](const std::string& message, const nlohmann::json& fields) { progress.info(message, fields); };
  events.event = [&](const std::string& name, const nlohmann::json& fields) { progress.event(name, fields); };
  events.started = [&](int64_t total_steps, int64_t steps_done) {
    interrupt_handler.emplace();
    progress.start(total_steps, "steps", steps_done);
  };
  events.step = [&](const TrainingProgress& step) {
    if (step.step % flags.log_every != 0 && step.step != step.total_steps) return;
    nlohmann::json fields = {{"step", step.step}};
    for (const auto& [name, value] : step.losses) fields[name] = value;
    progress.update(step.step, step.summary, fields);
  };
  events.finished = [&] { progress.finish(); };
  events.stop_requested = [] { return interrupt_requested(); };

  const TrainingOutcome outcome = train(events);
  if (outcome.end == TrainingEnd::Finished) return kExitOk;
  std::cerr << "atelier: " << outcome.message << std::endl;
  return outcome.end == TrainingEnd::Interrupted ? kExitInterrupted : kExitDiverged;
}

}  // namespace atelier::cli
