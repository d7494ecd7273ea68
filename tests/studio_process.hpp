// Runs `atelier serve` as a child process for end-to-end studio tests, and
// talks to it over HTTP.
#pragma once
#include <httplib.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "test_support.hpp"

extern char** environ;

namespace atelier::testing {

class StudioProcess {
 public:
  // Starts `atelier serve --port 0 --data-dir DATA --models-dir MODELS ARGS`
  // (ARGS may name another --port) and waits until it listens or exits. Output goes to LOG.out / LOG.err.
  StudioProcess(const std::string& data_dir, const std::string& models_dir, const std::string& log,
                const std::vector<std::string>& extra = {})
      : log_(log) {
    std::vector<std::string> args = {ATELIER_CLI_PATH, "serve", "--data-dir", data_dir,
                                     "--models-dir", models_dir, "--threads", "2"};
    if (std::find(extra.begin(), extra.end(), "--port") == extra.end()) args.insert(args.end(), {"--port", "0"});
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (log + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (log + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // Only the test's models: the environment's ATELIER_MODELS (which
    // scripts/test.sh points at ../shared) and user data dir are left out.
    std::vector<std::string> environment;
    for (char** entry = environ; *entry; ++entry) {
      const std::string variable = *entry;
      if (variable.rfind("ATELIER_MODELS=", 0) != 0 && variable.rfind("XDG_DATA_HOME=", 0) != 0)
        environment.push_back(variable);
    }
    environment.push_back("XDG_DATA_HOME=" + data_dir + "-user");
    std::vector<char*> envp;
    for (auto& variable : environment) envp.push_back(variable.data());
    envp.push_back(nullptr);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) pid_ = -1;
    for (int i = 0; i < 600 && pid_ > 0 && port_ == 0; ++i) {
      const std::string out = read_all(log + ".out");
      const auto at = out.find("listening on http://127.0.0.1:");
      if (at != std::string::npos) port_ = std::stoi(out.substr(at + 30));
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (port_ == 0 && waitpid(pid_, &status_, WNOHANG) == pid_) pid_ = -1;
    }
  }
  ~StudioProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
    }
  }
  StudioProcess(const StudioProcess&) = delete;
  StudioProcess& operator=(const StudioProcess&) = delete;

  int port() const { return port_; }
  int pid() const { return pid_; }
  std::string log() const { return read_all(log_ + ".out") + read_all(log_ + ".err"); }
  httplib::Client client(const std::string& token = "") const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(60);
    if (!token.empty()) client.set_bearer_token_auth(token.c_str());
    return client;
  }

  // Sends `signal` and waits up to `seconds` for the exit; returns the exit
  // code, or -1 when it did not exit (it is then killed).
  int stop(int signal, int seconds = 30) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    for (int i = 0; i < seconds * 20; ++i) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = 0;
};

// Polls a job until it is neither queued nor running (30 s at most) and
// returns its last state.
inline nlohmann::json wait_until_ended(httplib::Client& client, const std::string& id) {
  nlohmann::json job;
  for (int i = 0; i < 600; ++i) {
    job = nlohmann::json::parse(client.Get("/api/v1/jobs/" + id)->body);
    if (job["status"] != "queued" && job["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return job;
}

}  // namespace atelier::testing
