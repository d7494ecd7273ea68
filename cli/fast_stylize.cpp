// atelier stylize --model: feed-forward stylisation of one image or a batch.
#include <filesystem>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/tiling.hpp"
#include "batch_outputs.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "stylize_args.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct Job {
  const StylizeArgs& args;
  const FastStylePainter& painter;
  FinishOptions finishing;
  SaveOptions save_options;
  Precision precision;
  int64_t max_memory;
  Progress& progress;
};

void stylize_one(const Job& job, const std::string& input, const std::string& output) {
  Image image = load_image(input, LoadOptions{job.args.max_pixels});
  if (job.args.size > 0) image = resize_longest_side(image, job.args.size);
  const TilingPlan plan = plan_tiling(image.rgb.rows, image.rgb.cols, job.max_memory);
  if (plan.tile > 0) say_tiles(job.progress, input, plan.tile, job.max_memory);
  const cv::Mat painted = job.painter.paint(image.rgb, job.precision, job.max_memory);
  save_image(finish(painted, image, {}, job.finishing), output, job.save_options);
}

}  // namespace

int run_fast_stylize(const StylizeArgs& args) {
  if (!args.styles.empty()) throw Error("--model and --style choose different engines: give one of them");
  const BatchOutputs outputs{args.output, args.out_dir, args.name_pattern, args.overwrite};
  const std::vector<std::string> inputs = batch_inputs(args.content, args.inputs, outputs, "--model");

  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  const SaveOptions save_options{args.quality, args.bit_depth};
  check_can_save_outputs(outputs, save_options);  // fail before any work
  FinishOptions finishing;
  finishing.strength = args.strength;
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post, /*has_style=*/false);

  const std::string model_path = ModelStore(args.models_dir).resolve(args.model);
  const OutputPlan plan = plan_outputs(inputs, outputs, fs::path(model_path).stem().string());
  const FastStylePainter painter(model_path, args.runtime.device);
  const int64_t max_memory = args.max_memory.empty() ? default_memory_budget() : parse_memory_size(args.max_memory);
  const Job job{args, painter, finishing, save_options, parse_precision(args.runtime.precision), max_memory, progress};
  progress.info("model " + model_path + " (" + painter.architecture() + ")",
                {{"model", model_path}, {"architecture", painter.architecture()}});
  return run_batch(plan, outputs, progress,
                   [&](const std::string& input, const std::string& output) { stylize_one(job, input, output); });
}

}  // namespace atelier::cli
