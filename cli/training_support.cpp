#include "training_support.hpp"

#include <cstdio>
#include <filesystem>

#include "atelier/error.hpp"

namespace atelier::cli {

std::function<void()> add_training_run_flags(CLI::App* command, TrainingRunFlags* flags) {
  command->add_option("--precision", flags->precision, "fp32 or bf16")->capture_default_str()->check(CLI::IsMember({"fp32", "bf16"}));
  command->add_option("--checkpoint-every", flags->checkpoint_every, "Checkpoint every N steps (and at the end, and on Ctrl-C)")->capture_default_str();
  command->add_option("--log-every", flags->log_every, "Progress line every N steps")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_flag("--json", flags->json, "Machine-readable progress: one JSON object per line on stdout");
  command->add_flag("--quiet,-q", flags->quiet, "No progress output");
  command->add_option("--threads", flags->threads, "CPU threads (0: all cores)")->capture_default_str();
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str();
  auto* world = command->add_option("--world-size", flags->distributed.world_size, "Processes in data-parallel training ($WORLD_SIZE)");
  auto* rank = command->add_option("--rank", flags->distributed.rank, "This process's rank, 0..world-size-1 ($RANK)");
  auto* address = command->add_option("--master-addr", flags->distributed.master_address, "Address of rank 0 ($MASTER_ADDR)");
  auto* port = command->add_option("--master-port", flags->distributed.master_port, "Port of rank 0's rendezvous ($MASTER_PORT)");
  command->add_flag("--save-all-ranks", flags->save_all_ranks)->group("");
  return [=] {
    flags->distributed = distributed_options_from_environment(flags->distributed, world->count() > 0, rank->count() > 0,
                                                              address->count() > 0, port->count() > 0);
  };
}

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

}  // namespace atelier::cli
