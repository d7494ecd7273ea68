// Progress output for long CLI jobs. Three modes:
//   bar   - a one-line bar on stderr (redrawn on a terminal, a line every
//           10% otherwise) with iteration, losses, it/s and ETA
//   json  - one JSON object per line on stdout, for scripts
//   quiet - nothing but errors
#pragma once
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace atelier::cli {

enum class OutputMode { Bar, Json, Quiet };

class Progress {
 public:
  explicit Progress(OutputMode mode);

  // Begins a run of `total` steps (iterations, bytes ...) named `unit`, of
  // which `already_done` were done before (a resumed run): rates count only
  // the steps done from now on.
  void start(long long total, const std::string& unit, long long already_done = 0);
  // `done` steps finished; `detail` is shown after the counters in bar mode
  // and merged into the JSON event.
  void update(long long done, const std::string& detail, const nlohmann::json& fields = {});
  void finish();

  // A line of information (stderr in bar mode, an event in JSON mode).
  void info(const std::string& message, const nlohmann::json& fields = {});
  // A line said along with the next info() or start(), so that an error
  // before any work is still the only line on stderr (JSON: now).
  void info_with_next(const std::string& message, const nlohmann::json& fields = {});
  // A JSON event (json mode only).
  void event(const std::string& name, const nlohmann::json& fields);
  OutputMode mode() const { return mode_; }

 private:
  void say_held();
  OutputMode mode_;
  bool terminal_;
  long long total_ = 0;
  long long already_done_ = 0;
  std::string unit_;
  std::string held_;  // info_with_next's line, not said yet
  int last_decile_ = -1;
  long long last_done_ = -1;
  bool line_open_ = false;
  std::chrono::steady_clock::time_point started_;
};

std::string format_duration(double seconds);

}  // namespace atelier::cli
