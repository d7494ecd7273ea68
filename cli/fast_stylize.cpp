// atelier stylize --model: feed-forward stylisation of one image or a batch.
#include <filesystem>
#include <iostream>
#include <map>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/tiling.hpp"
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
  if (plan.tile > 0)
    job.progress.info(input + ": in " + std::to_string(plan.tile) + " px tiles to stay within --max-memory " +
                          format_memory_size(job.max_memory),
                      {{"input", input}, {"tile", plan.tile}, {"max_memory", job.max_memory}});
  const cv::Mat painted = job.painter.paint(image.rgb, job.precision, job.max_memory);
  save_image(finish(painted, image, {}, job.finishing), output, job.save_options);
}

// The --name pattern with {name} (the input's file name without extension),
// {ext} (its extension without the dot), {parent} (its folder's name) and
// {model} filled in.
std::string output_name(std::string pattern, const std::string& input, const std::string& model) {
  const fs::path path(input);
  const std::string extension = path.extension().string();
  const std::string parent = fs::absolute(path).parent_path().filename().string();
  const std::pair<std::string, std::string> fields[] = {{"{name}", path.stem().string()},
                                                        {"{ext}", extension.empty() ? "" : extension.substr(1)},
                                                        {"{parent}", parent},
                                                        {"{model}", model}};
  for (const auto& [field, value] : fields)
    for (size_t at = pattern.find(field); at != std::string::npos; at = pattern.find(field, at + value.size()))
      pattern.replace(at, field.size(), value);
  return pattern;
}

// Where each input goes, decided before any work so that no input is lost:
// an input given twice (the same file) is stylised once, two inputs that
// would share an output are refused naming both, and so is an output that
// is one of the inputs.
std::vector<std::pair<std::string, std::string>> plan_outputs(const std::vector<std::string>& inputs,
                                                              const StylizeArgs& args, const std::string& model) {
  std::vector<std::pair<std::string, std::string>> plan;
  std::map<std::string, std::string> input_of;  // output -> input
  for (const std::string& input : inputs) {
    const std::string output = !args.output.empty()
                                   ? args.output
                                   : (fs::path(args.out_dir) / output_name(args.name_pattern, input, model)).string();
    const auto [claimed, fresh] = input_of.emplace(fs::weakly_canonical(output).string(), input);
    std::error_code error;
    if (!fresh && fs::equivalent(claimed->second, input, error)) continue;  // the same file again
    if (!fresh)
      throw Error("inputs " + claimed->second + " and " + input + " would both be written to " + output +
                  ": give --name a pattern that tells them apart, e.g. \"{parent}-{name}.{model}.png\" or "
                  "\"{name}.{ext}.{model}.png\"");
    plan.emplace_back(input, output);
  }
  for (const auto& [input, ignored] : plan)
    for (const auto& [other, output] : plan) refuse_overwriting_input(input, output);
  return plan;
}

}  // namespace

int run_fast_stylize(const StylizeArgs& args) {
  std::vector<std::string> inputs = args.inputs;
  if (!args.content.empty()) inputs.insert(inputs.begin(), args.content);
  if (!args.styles.empty()) throw Error("--model and --style choose different engines: give one of them");
  if (inputs.empty()) throw Error("--model needs input images");
  if (args.output.empty() == args.out_dir.empty()) throw Error("--model needs either -o OUTPUT or --out-dir DIR");
  if (!args.output.empty() && inputs.size() > 1) throw Error("-o takes one input image; use --out-dir for several");
  if (args.name_pattern.find("{name}") == std::string::npos || args.name_pattern.find('/') != std::string::npos)
    throw Error("--name " + args.name_pattern + ": needs {name}, and no '/', so that every input gets its own file");

  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  const SaveOptions save_options{args.quality, args.bit_depth};
  // Fail before any work when the outputs could not be written.
  check_can_save(args.output.empty() ? (fs::path(args.out_dir) / output_name(args.name_pattern, "probe", "model")).string()
                                     : args.output,
                 save_options);
  FinishOptions finishing;
  finishing.strength = args.strength;
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post, /*has_style=*/false);

  const std::string model_path = ModelStore(args.models_dir).resolve(args.model);
  const std::string model_name = fs::path(model_path).stem().string();
  const auto plan = plan_outputs(inputs, args, model_name);
  const FastStylePainter painter(model_path, args.runtime.device);
  const int64_t max_memory = args.max_memory.empty() ? default_memory_budget() : parse_memory_size(args.max_memory);
  const Job job{args, painter, finishing, save_options, parse_precision(args.runtime.precision), max_memory, progress};
  progress.info("model " + model_path + " (" + painter.architecture() + ")",
                {{"model", model_path}, {"architecture", painter.architecture()}});

  int written = 0, skipped = 0, failed = 0;
  progress.start(static_cast<long long>(plan.size()), "img");
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& [input, output] = plan[i];
    if (args.output.empty() && fs::exists(output) && !args.overwrite) {
      ++skipped;
    } else if (args.output.empty()) {
      // In a batch one bad file is reported and skipped.
      try {
        stylize_one(job, input, output);
        ++written;
      } catch (const std::exception& error) {
        ++failed;
        progress.finish();
        std::cerr << "atelier: error: " << first_line(error.what()) << std::endl;
        progress.event("error", {{"input", input}, {"message", first_line(error.what())}});
      }
    } else {
      stylize_one(job, input, output);
      ++written;
    }
    progress.update(static_cast<long long>(i + 1), fs::path(input).filename().string(),
                    {{"input", input}, {"output", output}});
  }
  progress.finish();
  progress.info(std::to_string(written) + " written, " + std::to_string(skipped) +
                    " skipped (already there; --overwrite redoes them), " + std::to_string(failed) + " failed",
                {{"written", written}, {"skipped", skipped}, {"failed", failed}});
  return failed > 0 ? kExitError : kExitOk;
}

}  // namespace atelier::cli
