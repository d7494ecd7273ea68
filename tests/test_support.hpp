// Helpers shared by the unit tests: scratch directories and the location of
// the real data in ../shared (tests that need it skip, saying so, when absent).
#pragma once
#include <gtest/gtest.h>
#include <string>

namespace atelier::testing {

// A fresh empty directory under the system temp dir, removed at destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// "<repo>/../shared/<relative>" when it exists, else "".
std::string shared_path(const std::string& relative);

// Runs a shell command, returns its exit status; stdout+stderr go to `output`.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace atelier::testing

// Skips the current test, loudly, when a file from ../shared is missing.
#define ATELIER_REQUIRE_SHARED(var, relative)                                              \
  const std::string var = ::atelier::testing::shared_path(relative);                       \
  if (var.empty()) {                                                                       \
    GTEST_SKIP() << "SKIPPED: ../shared/" << (relative) << " is absent (real data needed)"; \
  }
