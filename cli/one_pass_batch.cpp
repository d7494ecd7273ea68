#include "one_pass_batch.hpp"

#include "atelier/memory_size.hpp"
#include "commands.hpp"

namespace atelier::cli {

OnePassBatch::OnePassBatch(const StylizeArgs& args, const std::string& flag)
    : args(args),
      outputs{args.output, args.out_dir, args.name_pattern, args.overwrite,
              args.shard.empty() ? Shard{} : parse_shard(args.shard)},
      inputs(batch_inputs(args.content, args.inputs, outputs, flag)),
      progress(args.output_flags.mode()),
      precision(chosen_precision(args.runtime, progress)),
      save_options{args.quality, args.bit_depth},
      max_memory(args.max_memory.empty() ? default_memory_budget() : parse_memory_size(args.max_memory)) {
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  check_can_save_outputs(outputs, save_options);  // fail before any work
}

Image OnePassBatch::load(const std::string& input) const {
  const Image image = load_image(input, LoadOptions{args.max_pixels});
  return args.size > 0 ? resize_longest_side(image, args.size) : image;
}

void OnePassBatch::say_tiles_if(const std::string& input, std::int64_t tile) {
  if (tile > 0) say_tiles(progress, input, tile, max_memory);
}

}  // namespace atelier::cli
