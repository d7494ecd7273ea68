// `atelier stylize --method adain`: any picture as a style in one pass
// through AdaIN (naoto0804/pytorch-AdaIN's weights via `models import`, or a
// decoder from `train-arbitrary`), with blended styles, a strength (alpha)
// and a two-style mask.
#include <opencv2/core.hpp>

#include "atelier/adain_style.hpp"
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

// A missing network says how to get it, in one line.
std::string resolve_adain(const ModelStore& store, const std::string& name, const std::string& flag,
                          const std::string& how_to_get) {
  try {
    return store.resolve(name);
  } catch (const Error& error) {
    throw Error("--method adain: " + std::string(error.what()) + "; " + how_to_get + ", or give " + flag);
  }
}

AdainPainter load_adain(const StylizeArgs& args) {
  const ModelStore store(args.models_dir);
  const std::string dir = store.install_dir();
  const std::string encoder = resolve_adain(
      store, args.adain_encoder, "--adain-encoder",
      "import naoto0804/pytorch-AdaIN's encoder: atelier models import vgg_normalised.pth -o " + dir +
          "/adain/vgg_normalised.safetensors");
  const std::string decoder = resolve_adain(
      store, args.adain_decoder, "--adain-decoder",
      "import its decoder (atelier models import decoder.pth -o " + dir +
          "/adain/decoder.safetensors) or train one with atelier train-arbitrary");
  return AdainPainter(encoder, decoder, args.runtime.device);
}

// The mask picture as one grey channel in [0,1], at the content's size.
cv::Mat load_mask(const StylizeArgs& args, const Image& original, const Image& content) {
  const Image mask = load_image(args.mask, LoadOptions{args.max_pixels});
  if (mask.width() != original.width() || mask.height() != original.height())
    throw Error("--mask " + args.mask + " is " + std::to_string(mask.width()) + "x" + std::to_string(mask.height()) +
                ", the content " + std::to_string(original.width()) + "x" + std::to_string(original.height()) +
                ": they must be the same size");
  cv::Mat grey;
  cv::transform(mask.rgb, grey, cv::Matx13f(1.0f / 3, 1.0f / 3, 1.0f / 3));
  if (grey.size() != content.rgb.size()) grey = resize_plane(grey, content.rgb.size());
  return grey;
}

}  // namespace

void add_adain_flags(CLI::App* command, StylizeArgs* args) {
  command->add_option("--adain-encoder", args->adain_encoder,
                      "With --method adain: the VGG encoder, a name in the model search path or a file")
      ->capture_default_str();
  command->add_option("--adain-decoder", args->adain_decoder,
                      "With --method adain: the decoder (naoto0804's, imported, or from train-arbitrary)")
      ->capture_default_str();
  command->add_option("--mask", args->mask,
                      "With --method adain and two --style pictures: white paints with the first, black with the "
                      "second (a picture the content's size)");
}

int run_adain_stylize(const StylizeArgs& args) {
  if (args.content.empty() || args.styles.empty() || args.output.empty())
    throw Error("stylize --method adain: --content, --style and --output are required");
  if (!args.model.empty() || !args.inputs.empty()) throw Error("stylize: --method adain takes no --model or input list");
  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  const Precision precision = parse_precision(args.runtime.precision);
  const SaveOptions save_options{args.quality, args.bit_depth};
  check_can_save(args.output, save_options);
  refuse_overwriting_input(args.content, args.output);
  for (const auto& style : args.styles) refuse_overwriting_input(style, args.output);
  AdainOptions options;
  options.alpha = args.strength;
  options.precision = precision;
  options.weights = parse_number_list<double>(args.style_blend, "--style-blend", 0, kAnyFinite);
  if (!options.weights.empty() && options.weights.size() != args.styles.size())
    throw Error("--style-blend: " + std::to_string(options.weights.size()) + " weights for " +
                std::to_string(args.styles.size()) + " --style pictures");
  if (!args.mask.empty()) {
    refuse_overwriting_input(args.mask, args.output);
    if (args.styles.size() != 2)
      throw Error("--mask takes two --style pictures (white: the first, black: the second), not " +
                  std::to_string(args.styles.size()));
    if (!options.weights.empty()) throw Error("--mask paints each region with one style: drop --style-blend");
  }
  FinishOptions finishing;  // strength acts on features, not on pixels
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post);

  const Image original = load_image(args.content, LoadOptions{args.max_pixels});
  const Image content = args.size > 0 ? resize_longest_side(original, args.size) : original;
  if (!args.mask.empty()) options.mask = load_mask(args, original, content);
  std::vector<cv::Mat> pictures;
  for (const auto& path : args.styles) pictures.push_back(load_image(path, LoadOptions{args.max_pixels}).rgb);
  const AdainPainter painter = load_adain(args);
  std::vector<AdainStyle> styles;
  for (const auto& picture : pictures) styles.push_back(painter.style(picture, kAdainStyleSize, precision));
  progress.info("content " + std::to_string(content.width()) + "x" + std::to_string(content.height()) + ", " +
                    std::to_string(styles.size()) + " style(s) at " + painter.level() + ", strength " +
                    std::to_string(args.strength),
                {{"width", content.width()}, {"height", content.height()}, {"styles", styles.size()},
                 {"level", painter.level()}});
  const cv::Mat painted = painter.paint(content.rgb, styles, options);
  save_image(finish(painted, content, pictures.front(), finishing), args.output, save_options);
  progress.info("wrote " + args.output, {{"output", args.output}});
  return kExitOk;
}

}  // namespace atelier::cli
