// Ctrl-C and SIGTERM handling for long commands: a flag that the work polls,
// so it can take a checkpoint before stopping.
#pragma once

namespace atelier::cli {

// While alive, SIGINT and SIGTERM set a flag instead of killing the process
// (a second SIGINT still kills it).
class InterruptHandler {
 public:
  InterruptHandler();
  ~InterruptHandler();
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;
};
bool interrupt_requested();

}  // namespace atelier::cli
