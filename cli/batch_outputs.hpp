// Batches of pictures for the one-pass methods (`stylize --model`, `stylize
// --method magenta`): where each output goes, decided before any work, and
// the run over them (skip what exists, one bad file reported and skipped,
// a count at the end). Generic: a method names its style ({model}) and
// paints one picture.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "atelier/image.hpp"
#include "atelier/shard.hpp"
#include "progress.hpp"

namespace atelier::cli {

struct BatchOutputs {
  std::string output;        // -o: exactly one input
  std::string out_dir;       // --out-dir: one output per input
  std::string name_pattern;  // --name, from {name}, {ext}, {parent}, {model}
  bool overwrite = false;    // --overwrite: redo outputs that exist
  Shard shard;               // --shard I/N: only this share of the outputs
};

// The inputs: `content` (-c, when given) first, then `inputs`. Throws
// atelier::Error when there are none, when neither or both of -o and
// --out-dir are given, for -o with several inputs or --shard, and for a
// --name pattern without {name} or with a '/'. `flag` names the method in messages
// ("--model", "--method magenta").
std::vector<std::string> batch_inputs(const std::string& content, const std::vector<std::string>& inputs,
                                      const BatchOutputs& outputs, const std::string& flag);

// The --name pattern with {name} (the input's file name without extension),
// {ext} (its extension without the dot), {parent} (its folder's name) and
// {model} (the style's name) filled in.
std::string output_name(std::string pattern, const std::string& input, const std::string& model);

// Fails before any work when outputs could not be written (format, folder).
void check_can_save_outputs(const BatchOutputs& outputs, const SaveOptions& options);

// Where each input goes: an input given twice (the same file) is painted
// once, two inputs that would share an output are refused naming both, and
// so is an output that is one of the inputs or of `protected_files` (the
// style pictures).
using OutputPlan = std::vector<std::pair<std::string, std::string>>;  // (input, output)
OutputPlan plan_outputs(const std::vector<std::string>& inputs, const BatchOutputs& outputs, const std::string& model,
                        const std::vector<std::string>& protected_files = {});

// Paints every planned input with `paint(input, output)`; with --shard I/N
// only the share I of the plan sorted by output path (the same in every
// shard, whatever the order of the inputs). With --out-dir,
// existing outputs are skipped (unless --overwrite) and a picture that
// fails is reported (one line) and skipped; with -o an error ends the run.
// Says how many were written, skipped and failed; returns the exit code
// (kExitError when any failed).
int run_batch(const OutputPlan& plan, const BatchOutputs& outputs, Progress& progress,
              const std::function<void(const std::string& input, const std::string& output)>& paint);

// A warning about one input that does not stop it (stderr; a JSON event).
void say_warning(Progress& progress, const std::string& input, const std::string& message);

// Says that `input` runs in `tile` px tiles to stay within max_memory.
void say_tiles(Progress& progress, const std::string& input, long long tile, long long max_memory);

}  // namespace atelier::cli
