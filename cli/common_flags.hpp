// The flags that several commands share, each declared once here:
// --json/--quiet, --threads/--device/--precision, --models-dir. A command
// registers the groups it has and reads the values from the structs.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "atelier/runtime.hpp"
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
  std::string precision = "auto";  // auto_precision: bf16 where it is faster; $ATELIER_PRECISION overrides
};
void add_threads_and_device_flags(CLI::App* command, RuntimeFlags* flags,
                                  const std::string& threads_help = "CPU threads (0: all cores)");
void add_precision_flag(CLI::App* command, RuntimeFlags* flags,
                        const std::string& help = "auto (bf16 on CPUs with AMX-BF16 and on GPUs, where it is about "
                                                  "twice as fast; else fp32), fp32 or bf16");
// --precision resolved for the device, and said (auto: which and why).
Precision chosen_precision(const RuntimeFlags& flags, Progress& progress);

// --models-dir: the directory searched before the model search path.
void add_models_dir_flag(CLI::App* command, std::string* models_dir,
                         const std::string& help = "Directory searched first for weights");

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text);

// The bounds of a numeric flag, checked on its text before CLI11 converts it,
// so that every numeric flag says what it takes: "abc" is "not a number",
// "1.5" for a count "not a whole number", NaN and infinities are refused, and
// a value outside says the range. The help shows the range as [LO..HI].
// Every numeric flag of every command has one (tests/cli_flags_test.cpp
// walks the help texts).
CLI::Validator number_in(double lo, double hi);                      // real numbers
// --region '#rrggbb=STYLE' (repeatable) and --feather: the colours of a --mask
// and their styles, for stylize and stylize-video alike.
void add_region_flags(CLI::App* cmd, std::vector<std::string>* regions, double* feather);
CLI::Validator whole_number_in(long double lo, long double hi);      // counts, sizes, seeds
// A whole number that must be one of `allowed` (8 or 16, 32/64/128).
CLI::Validator whole_number_of(const std::vector<long long>& allowed);
// Loss weights and learning rates: any finite non-negative number (a huge one
// is how a run is made to diverge on purpose, and tests do).
constexpr double kAnyFinite = 1e300;
constexpr long double kAnySeed = static_cast<long double>(std::numeric_limits<std::uint64_t>::max());

// The number `text` as the validators read it; throws atelier::Error
// "FLAG: <why>" when it is not one or lies outside [lo, hi].
long double parse_number(const std::string& text, const std::string& flag, long double lo, long double hi, bool whole);

// A comma list of numbers ("256,512"), each within [lo, hi]. Empty text (the
// flag not given) is an empty list; an empty entry (",," or "1,,2") is refused.
template <typename Number>
std::vector<Number> parse_number_list(const std::string& text, const std::string& flag, long double lo,
                                      long double hi) {
  std::vector<Number> numbers;
  if (text.empty()) return numbers;
  std::string::size_type start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    numbers.push_back(static_cast<Number>(parse_number(item, flag, lo, hi, std::is_integral_v<Number>)));
    if (comma == std::string::npos) return numbers;
    start = comma + 1;
  }
}

}  // namespace atelier::cli
