#include "bench_support.hpp"

#include <cstdio>

#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "atelier/error.hpp"

namespace atelier::bench {

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:  1234 kB"
  }
  throw Error("no VmHWM in /proc/self/status");
}

nlohmann::json run_self(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {"/proc/self/exe"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  int fds[2];
  if (pipe(fds) != 0) throw Error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw Error("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> raw;
    for (auto& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);
    execv(raw[0], raw.data());
    _exit(127);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) output.append(buffer, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("a benchmark child process failed");
  return nlohmann::json::parse(output);
}

bool report_missing(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    if (!std::filesystem::exists(path)) {
      std::printf("SKIPPED: %s absent (the benchmark needs the real data in ../shared)\n", path.c_str());
      return true;
    }
  }
  return false;
}

int guarded(const std::string& name, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), error.what());
    return 1;
  }
  return 0;
}

}  // namespace atelier::bench
