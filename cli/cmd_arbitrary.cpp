// Arbitrary style transfer from the command line: `atelier stylize --method
// magenta` (any picture as a style, one pass) and `atelier style-vector`
// (a style predicted once, kept as JSON, reused for a folder or a video).
#include <cstdio>
#include <filesystem>

#include "atelier/arbitrary_style.hpp"
#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_store.hpp"
#include "batch_outputs.hpp"
#include "commands.hpp"
#include "magenta_style.hpp"
#include "one_pass_batch.hpp"
#include "progress.hpp"
#include "stylize_args.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct StyleVectorArgs {
  std::string picture, output, models_dir;
  StylePictureFlags style_picture;
  long long max_pixels = 100'000'000;
  OutputFlags output_flags;
  RuntimeFlags runtime;
};

int run_style_vector(const StyleVectorArgs& args) {
  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  refuse_overwriting_input(args.picture, args.output);
  const StylePictureOptions fit = args.style_picture.options();
  const Image picture = load_image(args.picture, LoadOptions{args.max_pixels});
  const MagentaPainter painter = load_magenta(args.models_dir, args.runtime.device);
  save_style_vector(painter.style_vector(picture.rgb, fit), args.output);
  progress.info("wrote " + args.output, {{"output", args.output}});
  return kExitOk;
}

}  // namespace

MagentaPainter load_magenta(const std::string& models_dir, const std::string& device) {
  return load_magenta_painter(models_dir, device);
}

bool is_style_vector_file(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  return name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
}

std::vector<double> blend_weights(const std::vector<std::string>& styles, const std::string& style_blend) {
  std::vector<double> weights = parse_number_list<double>(style_blend, "--style-blend", 0, kAnyFinite);
  if (weights.empty()) weights.assign(styles.size(), 1.0);
  if (weights.size() != styles.size())
    throw Error("--style-blend: " + std::to_string(weights.size()) + " weights for " + std::to_string(styles.size()) +
                " --style pictures");
  return weights;
}

StyleVector predict_style(const MagentaPainter& painter, const std::vector<std::string>& styles,
                          const std::vector<double>& weights, const StylePictureOptions& fit, long long max_pixels,
                          cv::Mat& first_picture) {
  std::vector<StyleVector> vectors;
  for (const auto& path : styles) {
    if (is_style_vector_file(path)) {
      vectors.push_back(load_style_vector(path));
      continue;
    }
    const cv::Mat picture = load_image(path, LoadOptions{max_pixels}).rgb;
    if (first_picture.empty()) first_picture = picture;
    vectors.push_back(painter.style_vector(picture, fit));
  }
  return blend_style_vectors(vectors, weights);
}

std::string style_name(const std::vector<std::string>& styles) {
  if (styles.size() != 1) return "blend";
  std::string stem = fs::path(styles.front()).stem().string();
  const std::string suffix = ".style";
  if (is_style_vector_file(styles.front()) && stem.size() > suffix.size() &&
      stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0)
    stem.resize(stem.size() - suffix.size());
  return stem;
}

int run_magenta_stylize(const StylizeArgs& args) {
  if (args.styles.empty()) throw Error("stylize --method magenta: --style is required (a picture or a .json style vector)");
  if (!args.model.empty()) throw Error("stylize: --method magenta takes no --model");
  OnePassBatch batch(args, "--method magenta");
  const std::vector<double> weights = blend_weights(args.styles, args.style_blend);
  const StylePictureOptions fit = args.style_picture.options();
  FinishOptions finishing;  // strength acts on the style vector, not on pixels
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post, /*has_style=*/!is_style_vector_file(args.styles.front()));
  const OutputPlan plan = plan_outputs(batch.inputs, batch.outputs, style_name(args.styles), args.styles);

  const MagentaPainter painter = load_magenta(args.models_dir, args.runtime.device);
  cv::Mat first_style;
  // Once for the whole batch (with --strength < 1 each photo's own vector
  // is still its own).
  const StyleVector style = predict_style(painter, args.styles, weights, fit, args.max_pixels, first_style);
  char strength[32];
  std::snprintf(strength, sizeof strength, "%g", args.strength);
  batch.progress.info(std::to_string(args.styles.size()) + " style(s), predicted once, for " +
                          std::to_string(plan.size()) + " picture(s), strength " + strength,
                      {{"styles", args.styles.size()}, {"pictures", plan.size()}, {"strength", args.strength}});
  return run_batch(plan, batch.outputs, batch.progress, [&](const std::string& input, const std::string& output) {
    const Image content = batch.load(input);
    batch.say_tiles_if(input, plan_magenta_tiling(content.height(), content.width(), batch.max_memory).tile);
    const cv::Mat painted = painter.paint(content.rgb, style, args.strength, batch.precision, fit, batch.max_memory);
    save_image(finish(painted, content, first_style, finishing), output, batch.save_options);
  });
}

void add_style_picture_flags(CLI::App* cmd, StylePictureFlags* flags, const std::string& when) {
  cmd->add_option("--style-fit", flags->fit,
                  when + "crop: the style picture's centred square (its strokes undistorted); whole: all of it, squeezed")
      ->capture_default_str()
      ->check(CLI::IsMember({"crop", "whole"}));
  cmd->add_option("--style-size", flags->size,
                  when + "side of the square the style predictor sees (trained at 256; 384 measured closest to the "
                         "painting at 512 px, docs/ARBITRARY.md)")
      ->capture_default_str()
      ->check(whole_number_in(16, 1024));
}

Runner add_style_vector_command(CLI::App& app) {
  auto args = std::make_shared<StyleVectorArgs>();
  CLI::App* cmd = app.add_subcommand(
      "style-vector", "Predict the Magenta style vector of a picture and save it as JSON, to reuse with --style");
  cmd->add_option("picture", args->picture, "The style picture (a painting)")->required();
  cmd->add_option("--output,-o", args->output, "Output .json file")->required();
  add_style_picture_flags(cmd, &args->style_picture, "");
  cmd->add_option("--max-pixels", args->max_pixels, "Refuse pictures with more pixels than this (0: no limit)")
      ->capture_default_str()
      ->check(whole_number_in(0, 1e12));
  add_models_dir_flag(cmd, &args->models_dir);
  add_output_flags(cmd, &args->output_flags);
  add_threads_and_device_flags(cmd, &args->runtime);
  return [args] { return run_style_vector(*args); };
}

}  // namespace atelier::cli
