// The flags that several commands share, each declared once here:
// --json/--quiet, --threads/--device/--precision, --models-dir. A command
// registers the groups it has and reads the values from the structs.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "progress.hpp"

namespace atelier::cli {

// --json and --quiet.
struct OutputFlags {
  bool json = false, quiet = false;
  OutputMode mode() const { return json ? OutputMode::Json : quiet ? OutputMode::Quiet : OutputMode::Bar; }
};
// `json_help` says what --json prints for this command.
void add_output_flags(CLI::App* command, OutputFlags* flags,
                      const std::string& json_help = "Machine-readable progress: one JSON object per line on stdout",
                      const std::string& quiet_help = "No progress output");

// --threads and --device (and --precision where the command computes in it).
struct RuntimeFlags {
  int threads = 0;
  std::string device = "cpu";
  std::string precision = "fp32";
};
void add_threads_and_device_flags(CLI::App* command, RuntimeFlags* flags,
                                  const std::string& threads_help = "CPU threads (0: all cores)");
void add_precision_flag(CLI::App* command, RuntimeFlags* flags, const std::string& help = "fp32 or bf16");

// --models-dir: the directory searched before the model search path.
void add_models_dir_flag(CLI::App* command, std::string* models_dir,
                         const std::string& help = "Directory searched first for weights");

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text);

}  // namespace atelier::cli
