// Arbitrary style transfer from the command line: `atelier stylize --method
// magenta` (any picture as a style, one pass) and `atelier style-vector`
// (a style predicted once, kept as JSON, reused for a folder or a video).
#include <filesystem>

#include "atelier/arbitrary_style.hpp"
#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "stylize_args.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

// The two networks, by their names in the model search path.
constexpr const char* kPredictorName = "magenta-arbitrary/style_predict";
constexpr const char* kTransferName = "magenta-arbitrary/style_transfer";

MagentaPainter load_magenta(const std::string& models_dir, const std::string& device) {
  const ModelStore store(models_dir);
  return MagentaPainter(store.resolve(kPredictorName), store.resolve(kTransferName), device);
}

bool is_style_vector_file(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  return name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
}

struct StyleVectorArgs {
  std::string picture, output, models_dir, fit = "crop";
  int size = StylePictureOptions{}.size;
  long long max_pixels = 100'000'000;
  OutputFlags output_flags;
  RuntimeFlags runtime;
};

int run_style_vector(const StyleVectorArgs& args) {
  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  refuse_overwriting_input(args.picture, args.output);
  const StylePictureOptions fit{parse_style_fit(args.fit), args.size};
  const Image picture = load_image(args.picture, LoadOptions{args.max_pixels});
  const MagentaPainter painter = load_magenta(args.models_dir, args.runtime.device);
  save_style_vector(painter.style_vector(picture.rgb, fit), args.output);
  progress.info("wrote " + args.output, {{"output", args.output}});
  return kExitOk;
}

}  // namespace

int run_magenta_stylize(const StylizeArgs& args) {
  if (args.content.empty() || args.styles.empty() || args.output.empty())
    throw Error("stylize --method magenta: --content, --style and --output are required");
  if (!args.model.empty() || !args.inputs.empty()) throw Error("stylize: --method magenta takes no --model or input list");
  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  const Precision precision = parse_precision(args.runtime.precision);
  const SaveOptions save_options{args.quality, args.bit_depth};
  check_can_save(args.output, save_options);
  refuse_overwriting_input(args.content, args.output);
  for (const auto& style : args.styles) refuse_overwriting_input(style, args.output);
  std::vector<double> weights = parse_number_list<double>(args.style_blend, "--style-blend", 0, kAnyFinite);
  if (weights.empty()) weights.assign(args.styles.size(), 1.0);
  if (weights.size() != args.styles.size())
    throw Error("--style-blend: " + std::to_string(weights.size()) + " weights for " +
                std::to_string(args.styles.size()) + " --style pictures");
  const StylePictureOptions fit{parse_style_fit(args.style_fit), StylePictureOptions{}.size};
  FinishOptions finishing;  // strength acts on the style vector, not on pixels
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post, /*has_style=*/!is_style_vector_file(args.styles.front()));

  Image content = load_image(args.content, LoadOptions{args.max_pixels});
  if (args.size > 0) content = resize_longest_side(content, args.size);
  const MagentaPainter painter = load_magenta(args.models_dir, args.runtime.device);
  // A style given as a picture is predicted; one given as a .json vector
  // file is read as it is. The first picture also serves the --post steps.
  std::vector<StyleVector> styles;
  cv::Mat first_style;
  for (const auto& path : args.styles) {
    if (is_style_vector_file(path)) {
      styles.push_back(load_style_vector(path));
      continue;
    }
    const cv::Mat picture = load_image(path, LoadOptions{args.max_pixels}).rgb;
    if (styles.empty()) first_style = picture;
    styles.push_back(painter.style_vector(picture, fit));
  }
  const StyleVector style = blend_style_vectors(styles, weights);
  progress.info("content " + std::to_string(content.width()) + "x" + std::to_string(content.height()) + ", " +
                    std::to_string(styles.size()) + " style(s), strength " + std::to_string(args.strength),
                {{"width", content.width()}, {"height", content.height()}, {"styles", styles.size()}});
  const cv::Mat painted = painter.paint(content.rgb, style, args.strength, precision, fit);
  save_image(finish(painted, content, first_style, finishing), args.output, save_options);
  progress.info("wrote " + args.output, {{"output", args.output}});
  return kExitOk;
}

Runner add_style_vector_command(CLI::App& app) {
  auto args = std::make_shared<StyleVectorArgs>();
  CLI::App* cmd = app.add_subcommand(
      "style-vector", "Predict the Magenta style vector of a picture and save it as JSON, to reuse with --style");
  cmd->add_option("picture", args->picture, "The style picture (a painting)")->required();
  cmd->add_option("--output,-o", args->output, "Output .json file")->required();
  cmd->add_option("--style-fit", args->fit, "crop: the centred square (default); whole: the whole picture squeezed")
      ->capture_default_str()
      ->check(CLI::IsMember({"crop", "whole"}));
  cmd->add_option("--style-size", args->size, "Side of the square the predictor sees (it was trained at 256)")
      ->capture_default_str()
      ->check(whole_number_in(16, 1024));
  cmd->add_option("--max-pixels", args->max_pixels, "Refuse pictures with more pixels than this (0: no limit)")
      ->capture_default_str()
      ->check(whole_number_in(0, 1e12));
  add_models_dir_flag(cmd, &args->models_dir);
  add_output_flags(cmd, &args->output_flags);
  add_threads_and_device_flags(cmd, &args->runtime);
  return [args] { return run_style_vector(*args); };
}

}  // namespace atelier::cli
