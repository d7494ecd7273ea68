// Checkpoint files of a Gatys run, so an interrupted run (a Ctrl-C'd
// `atelier stylize`, a studio job stopped by SIGTERM) can go on later.
//
// A safetensors file holding the current image ("image", F32 [H,W,3] RGB)
// with metadata: the scale index, the iteration, and "job", a description of
// everything that shapes the result, so that a checkpoint is only ever
// resumed by the job that wrote it.
#pragma once
#include <string>

#include "atelier/gatys_options.hpp"

namespace atelier {

// Written atomically.
void write_gatys_checkpoint(const std::string& path, const std::string& job, const GatysCheckpoint& checkpoint);
// Throws atelier::Error when missing, corrupt, or written by another job.
GatysCheckpoint read_gatys_checkpoint(const std::string& path, const std::string& job);

}  // namespace atelier
