#include "interrupt.hpp"

#include <atomic>
#include <csignal>

namespace atelier::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int signal_number) {
  if (g_interrupted.exchange(true) && signal_number == SIGINT) {
    std::signal(SIGINT, SIG_DFL);  // impatient second Ctrl-C: die now
    std::raise(SIGINT);
  }
}

}  // namespace

InterruptHandler::InterruptHandler() {
  g_interrupted = false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

InterruptHandler::~InterruptHandler() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

bool interrupt_requested() { return g_interrupted; }

}  // namespace atelier::cli
