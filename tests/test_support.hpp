// Helpers shared by the unit tests: scratch directories and the location of
// the real data in ../shared (tests that need it skip, saying so, when absent).
#pragma once
#include <gtest/gtest.h>
#include <string>
#include <vector>

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

std::string read_all(const std::string& path);  // "" when missing
void write_all(const std::string& path, const std::string& bytes);
std::vector<std::string> lines_of(const std::string& text);

struct CliResult {
  int code = -1;
  std::string out, err;  // stdout and stderr
};

// Runs the built atelier binary with stdout and stderr captured apart. The
// user data directory is moved into `scratch` and ATELIER_MODELS is unset
// unless `environment` ("VAR=value ...") sets it, so only the test's own
// directories are searched.
CliResult run_atelier(const ScratchDir& scratch, const std::string& arguments, const std::string& environment = "");

}  // namespace atelier::testing

// Skips the current test, loudly, when a file from ../shared is missing.
#define ATELIER_REQUIRE_SHARED(var, relative)                                              \
  const std::string var = ::atelier::testing::shared_path(relative);                       \
  if (var.empty()) {                                                                       \
    GTEST_SKIP() << "SKIPPED: ../shared/" << (relative) << " is absent (real data needed)"; \
  }
