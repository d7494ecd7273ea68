#include "test_support.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <random>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace atelier::testing {

ScratchDir::ScratchDir() {
  std::random_device device;
  const auto base = fs::temp_directory_path();
  for (;;) {
    fs::path candidate = base / ("atelier-test-" + std::to_string(device()));
    if (fs::create_directory(candidate)) {
      path_ = candidate.string();
      return;
    }
  }
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string shared_path(const std::string& relative) {
  fs::path path = fs::path(ATELIER_SHARED_DIR) / relative;
  return fs::exists(path) ? path.string() : std::string();
}

int run_command(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buffer;
  std::string text;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) text.append(buffer.data(), n);
  int status = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

CliResult run_atelier(const ScratchDir& scratch, const std::string& arguments, const std::string& environment) {
  const std::string command = "{ env -u ATELIER_MODELS XDG_DATA_HOME=" + scratch.file("data") + " " + environment +
                              " " + ATELIER_CLI_PATH + " " + arguments + " >" + scratch.file("stdout") + " 2>" +
                              scratch.file("stderr") + "; }";
  CliResult run;
  run.code = run_command(command);
  run.out = read_all(scratch.file("stdout"));
  run.err = read_all(scratch.file("stderr"));
  return run;
}

}  // namespace atelier::testing
