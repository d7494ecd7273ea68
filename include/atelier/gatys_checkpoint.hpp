// Checkpoint files of a Gatys run, so an interrupted run (a Ctrl-C'd
// `atelier stylize`, a studio job stopped by SIGTERM) can go on later.
//
// A safetensors file holding the current image ("image", F32 [H,W,3] RGB)
// with metadata: the scale index, the iteration, and "job", a description of
// everything that shapes the result, so that a checkpoint is only ever
// resumed by the job that wrote it.
#pragma once
#include <future>
#include <string>

#include "atelier/gatys_options.hpp"

namespace atelier {

// Written atomically.
void write_gatys_checkpoint(const std::string& path, const std::string& job, GatysCheckpoint checkpoint);

// Writes checkpoints on a thread of its own, one at a time, while the
// optimisation goes on: at 512 px L-BFGS's history makes a checkpoint about
// 480 MB, several seconds of copying and syncing. write() first waits for the
// checkpoint before it; finish() waits for the last. Both rethrow a failed
// write's error; the destructor waits and drops it.
class GatysCheckpointWriter {
 public:
  GatysCheckpointWriter(std::string path, std::string job);
  ~GatysCheckpointWriter();
  GatysCheckpointWriter(const GatysCheckpointWriter&) = delete;
  GatysCheckpointWriter& operator=(const GatysCheckpointWriter&) = delete;

  void write(GatysCheckpoint checkpoint);
  void finish();

 private:
  std::string path_, job_;
  std::future<void> pending_;
};
// Throws atelier::Error when missing, corrupt, or written by another job.
GatysCheckpoint read_gatys_checkpoint(const std::string& path, const std::string& job);

}  // namespace atelier
