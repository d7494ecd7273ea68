#include "progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace atelier::cli {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

Progress::Progress(OutputMode mode) : mode_(mode), terminal_(isatty(STDERR_FILENO) != 0) {}

void Progress::start(long long total, const std::string& unit, long long already_done) {
  say_held();
  total_ = total;
  already_done_ = already_done;
  unit_ = unit;
  last_decile_ = -1;
  last_done_ = -1;
  started_ = std::chrono::steady_clock::now();
}

void Progress::update(long long done, const std::string& detail, const nlohmann::json& fields) {
  if (mode_ == OutputMode::Quiet) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const double rate = elapsed > 0 ? (done - already_done_) / elapsed : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : -1;
  if (mode_ == OutputMode::Json) {
    nlohmann::json line = fields;
    line["event"] = "progress";
    line["done"] = done;
    line["total"] = total_;
    line["rate"] = rate;
    line["eta_s"] = eta;
    std::cout << line.dump() << std::endl;
    return;
  }
  const int decile = total_ > 0 ? static_cast<int>(10 * done / total_) : 0;
  // Off a terminal: a line per tenth, and the last one once.
  if (!terminal_ && decile == last_decile_ && (done != total_ || last_done_ == total_)) return;
  last_decile_ = decile;
  last_done_ = done;

  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : 0;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "%.2f", rate);
  const std::string counters = "[" + bar + "] " + std::to_string(done) + "/" + std::to_string(total_) + " " +
                               detail + "  " + rate_text + " " + unit_ + "/s  ETA " + format_duration(eta);
  if (terminal_) {
    std::cerr << "\r\033[K" << counters << std::flush;
    line_open_ = true;
  } else {
    std::cerr << counters << '\n';
  }
}

void Progress::finish() {
  if (line_open_) std::cerr << '\n';
  line_open_ = false;
}

void Progress::info(const std::string& message, const nlohmann::json& fields) {
  if (mode_ == OutputMode::Quiet) return;
  if (mode_ == OutputMode::Json) {
    nlohmann::json line = fields;
    line["event"] = "info";
    line["message"] = message;
    std::cout << line.dump() << std::endl;
    return;
  }
  finish();
  say_held();
  std::cerr << message << '\n';
}

void Progress::info_with_next(const std::string& message, const nlohmann::json& fields) {
  if (mode_ == OutputMode::Bar) {
    held_ = message;
  } else {
    info(message, fields);
  }
}

void Progress::say_held() {
  if (held_.empty()) return;
  std::cerr << held_ << '\n';
  held_.clear();
}

void Progress::event(const std::string& name, const nlohmann::json& fields) {
  if (mode_ != OutputMode::Json) return;
  nlohmann::json line = fields;
  line["event"] = name;
  std::cout << line.dump() << std::endl;
}

}  // namespace atelier::cli
