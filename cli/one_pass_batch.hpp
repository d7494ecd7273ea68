// What every one-pass method of `atelier stylize` (--model, --method
// magenta, --method adain) does before and around painting: inputs and
// outputs checked before any work, the runtime set up, the memory budget;
// and each picture loaded as --size and --max-pixels say.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "atelier/image.hpp"
#include "atelier/runtime.hpp"
#include "batch_outputs.hpp"
#include "progress.hpp"
#include "stylize_args.hpp"

namespace atelier::cli {

struct OnePassBatch {
  // `flag` names the method in messages ("--model", "--method magenta").
  OnePassBatch(const StylizeArgs& args, const std::string& flag);

  // An input as the method paints it: at most --max-pixels, --size applied.
  Image load(const std::string& input) const;
  // Says so when `content` runs in tiles of `tile` px (0: whole).
  void say_tiles_if(const std::string& input, std::int64_t tile);

  const StylizeArgs& args;
  BatchOutputs outputs;
  std::vector<std::string> inputs;
  Progress progress;
  Precision precision;
  SaveOptions save_options;
  std::int64_t max_memory;  // --max-memory, else 90% of the memory free now
};

}  // namespace atelier::cli
