#include "common_flags.hpp"

#include <sstream>

namespace atelier::cli {

void add_output_flags(CLI::App* command, OutputFlags* flags, const std::string& json_help,
                      const std::string& quiet_help) {
  command->add_flag("--json", flags->json, json_help);
  command->add_flag("--quiet,-q", flags->quiet, quiet_help);
}

void add_threads_and_device_flags(CLI::App* command, RuntimeFlags* flags, const std::string& threads_help) {
  command->add_option("--threads", flags->threads, threads_help)->capture_default_str();
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str();
}

void add_precision_flag(CLI::App* command, RuntimeFlags* flags, const std::string& help) {
  command->add_option("--precision", flags->precision, help)->capture_default_str()->check(CLI::IsMember({"fp32", "bf16"}));
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

}  // namespace atelier::cli
