#include "common_flags.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <sstream>

#include "atelier/error.hpp"
#include "atelier/regions.hpp"
#include "progress.hpp"

namespace atelier::cli {

void add_output_flags(CLI::App* command, OutputFlags* flags, const std::string& json_help,
                      const std::string& quiet_help) {
  command->add_flag("--json", flags->json, json_help);
  command->add_flag("--quiet,-q", flags->quiet, quiet_help);
}

void add_threads_and_device_flags(CLI::App* command, RuntimeFlags* flags, const std::string& threads_help) {
  // Threads beyond a few hundred only cost memory (each has its stack).
  command->add_option("--threads", flags->threads, threads_help)->capture_default_str()->check(whole_number_in(0, 256));
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str();
}

void add_precision_flag(CLI::App* command, RuntimeFlags* flags, const std::string& help) {
  command->add_option("--precision", flags->precision, help)
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
      ->envname("ATELIER_PRECISION");  // a default for every command (the test suite sets fp32)
}

Precision chosen_precision(const RuntimeFlags& flags, Progress& progress) {
  if (flags.precision != "auto") {
    const Precision precision = parse_precision(flags.precision, flags.device);
    progress.event("precision", {{"precision", precision_name(precision)}, {"auto", false}});
    return precision;
  }
  const PrecisionChoice choice = auto_precision(flags.device);
  progress.info_with_next("precision " + precision_name(choice.precision) + " (auto: " + choice.reason + ")",
                {{"precision", precision_name(choice.precision)}, {"auto", true}, {"reason", choice.reason}});
  return choice.precision;
}

void add_models_dir_flag(CLI::App* command, std::string* models_dir, const std::string& help) {
  command->add_option("--models-dir", *models_dir, help);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

namespace {

std::string bound_text(long double value, bool whole) {
  char text[64];
  if (whole && value >= 0) {
    std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(value));
  } else if (whole) {
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(value));
  } else {
    std::snprintf(text, sizeof text, "%g", static_cast<double>(value));
  }
  return text;
}

std::string range_text(long double lo, long double hi, bool whole) {
  return "[" + bound_text(lo, whole) + ".." + bound_text(hi, whole) + "]";
}

// The value of `text`, or a message saying why it is not a number.
std::string read_number(const std::string& text, bool whole, long double* value) {
  const std::string quoted = "\"" + text + "\"";
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (whole) {
    std::from_chars_result result{};
    if (!text.empty() && text[0] == '-') {
      long long number = 0;
      result = std::from_chars(begin, end, number);
      *value = number;
    } else {
      unsigned long long number = 0;
      result = std::from_chars(begin + (!text.empty() && text[0] == '+'), end, number);
      *value = static_cast<long double>(number);
    }
    if (result.ec == std::errc() && result.ptr == end) return "";
    if (result.ec == std::errc::result_out_of_range) return quoted + " is too large";
    long double real = 0;
    if (read_number(text, false, &real).empty()) return quoted + " is not a whole number";
    return quoted + " is not a number";
  }
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return quoted + " is not a number";
  errno = 0;
  char* stop = nullptr;
  const double number = std::strtod(text.c_str(), &stop);
  if (stop != text.c_str() + text.size()) return quoted + " is not a number";
  if (!std::isfinite(number) || errno == ERANGE) return quoted + " is not a finite number";
  *value = number;
  return "";
}

std::string check_number(const std::string& text, long double lo, long double hi, bool whole, long double* value) {
  std::string problem = read_number(text, whole, value);
  if (problem.empty() && (*value < lo || *value > hi)) problem = text + " is out of range " + range_text(lo, hi, whole);
  return problem;
}

CLI::Validator bounded(long double lo, long double hi, bool whole) {
  return CLI::Validator(
      [lo, hi, whole](std::string& text) {
        long double value = 0;
        return check_number(text, lo, hi, whole, &value);
      },
      range_text(lo, hi, whole));
}

}  // namespace

CLI::Validator number_in(double lo, double hi) { return bounded(lo, hi, false); }

CLI::Validator whole_number_in(long double lo, long double hi) { return bounded(lo, hi, true); }

CLI::Validator whole_number_of(const std::vector<long long>& allowed) {
  std::string names;
  for (long long number : allowed) names += (names.empty() ? "" : ",") + std::to_string(number);
  return CLI::Validator(
      [allowed, names](std::string& text) {
        long double value = 0;
        std::string problem = read_number(text, true, &value);
        if (problem.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end())
          problem = text + " is not one of " + names;
        return problem;
      },
      "{" + names + "}");
}

long double parse_number(const std::string& text, const std::string& flag, long double lo, long double hi, bool whole) {
  long double value = 0;
  const std::string problem = check_number(text, lo, hi, whole, &value);
  if (!problem.empty()) throw Error(flag + ": " + problem);
  return value;
}

void add_region_flags(CLI::App* cmd, std::vector<std::string>* regions, double* feather) {
  cmd->add_option("--region", *regions,
                  "With a colour --mask: '#rrggbb=STYLE', a colour and its style: a picture or .json vector "
                  "(--method magenta, adain or gatys) or a trained network (a name or .safetensors file); repeat per "
                  "region; colours bound to nothing keep the photo");
  cmd->add_option("--feather", *feather, "With --region: softness of the regions' edges in pixels (0: hard)")
      ->capture_default_str()
      ->check(number_in(0, 256));
}

}  // namespace atelier::cli
