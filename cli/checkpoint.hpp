// Checkpoints of a Gatys run, so an interrupted `atelier stylize` can go on
// with --resume, and the Ctrl-C handling that takes one before stopping.
//
// A checkpoint is a safetensors file holding the current image ("image",
// F32 [H,W,3] RGB) with metadata: the scale index, the iteration, and "job",
// a description of everything that shapes the result, so that a checkpoint
// is only ever resumed by the command that wrote it.
#pragma once
#include <string>

#include "atelier/gatys.hpp"

namespace atelier::cli {

void write_checkpoint(const std::string& path, const std::string& job, const GatysCheckpoint& checkpoint);
// Throws atelier::Error when missing, corrupt, or written by another job.
GatysCheckpoint read_checkpoint(const std::string& path, const std::string& job);

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
