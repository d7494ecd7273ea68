// `atelier stylize --method adain`: any picture as a style in one pass
// through AdaIN (naoto0804/pytorch-AdaIN's weights via `models import`, or a
// decoder from `train-arbitrary`), with blended styles, a strength (alpha)
// and a two-style mask; one picture (-o) or a batch (--out-dir), the styles
// encoded once.
#include <opencv2/core.hpp>

#include <cstdio>

#include "atelier/adain_style.hpp"
#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"
#include "atelier/postprocess.hpp"
#include "atelier/regions.hpp"
#include "commands.hpp"
#include "magenta_style.hpp"
#include "one_pass_batch.hpp"

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

}  // namespace

AdainPainter load_adain(const std::string& models_dir, const AdainFlags& flags, const std::string& device) {
  const ModelStore store(models_dir);
  const std::string dir = store.install_dir();
  const std::string encoder = resolve_adain(
      store, flags.encoder, "--adain-encoder",
      "import naoto0804/pytorch-AdaIN's encoder: atelier models import vgg_normalised.pth -o " + dir +
          "/adain/vgg_normalised.safetensors");
  const std::string decoder = resolve_adain(
      store, flags.decoder, "--adain-decoder",
      "import its decoder (atelier models import decoder.pth -o " + dir +
          "/adain/decoder.safetensors) or train one with atelier train-arbitrary");
  return AdainPainter(encoder, decoder, device);
}

void add_adain_network_flags(CLI::App* command, AdainFlags* flags) {
  command->add_option("--adain-encoder", flags->encoder,
                      "With --method adain: the VGG encoder, a name in the model search path or a file")
      ->capture_default_str();
  command->add_option("--adain-decoder", flags->decoder,
                      "With --method adain: the decoder (naoto0804's, imported, or from train-arbitrary)")
      ->capture_default_str();
}

namespace {

// The mask picture as one grey channel in [0,1], stretched to the
// content's size (with a warning when its shape differs).
cv::Mat load_mask(const StylizeArgs& args, const Image& content, const std::string& input, Progress& progress) {
  const RegionWeights weights = grey_mask_weights(load_image(args.mask, LoadOptions{args.max_pixels}).rgb,
                                                  content.rgb.size(), 1);
  for (const auto& notice : weights.notices) say_warning(progress, input, notice);
  return weights.weights[0];
}

}  // namespace

void add_adain_flags(CLI::App* command, StylizeArgs* args) {
  add_adain_network_flags(command, &args->adain);
  command->add_flag("--preserve-color", args->preserve_color,
                    "With --method adain: recolour each style picture to the photo's colours (mean and covariance, "
                    "CORAL) before encoding it, as naoto0804's --preserve_color");
}

int run_adain_stylize(const StylizeArgs& args) {
  if (args.styles.empty()) throw Error("stylize --method adain: --style is required (a picture)");
  if (!args.model.empty()) throw Error("stylize: --method adain takes no --model");
  OnePassBatch batch(args, "--method adain");
  AdainOptions options;
  options.alpha = args.strength;
  options.precision = batch.precision;
  options.max_memory = batch.max_memory;
  options.weights = blend_weights(args.styles, args.style_blend);
  std::vector<std::string> protected_files = args.styles;
  if (!args.mask.empty()) {
    protected_files.push_back(args.mask);
    if (args.styles.size() != 2)
      throw Error("--mask takes two --style pictures (white: the first, black: the second), not " +
                  std::to_string(args.styles.size()));
    if (!args.style_blend.empty()) throw Error("--mask paints each region with one style: drop --style-blend");
    options.weights.clear();
  }
  FinishOptions finishing;  // strength acts on features, not on pixels
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post);
  const OutputPlan plan = plan_outputs(batch.inputs, batch.outputs, style_name(args.styles), protected_files);

  std::vector<cv::Mat> pictures;
  for (const auto& path : args.styles) pictures.push_back(load_image(path, LoadOptions{args.max_pixels}).rgb);
  const AdainPainter painter = load_adain(args.models_dir, args.adain, args.runtime.device);
  // Each style's statistics once for the whole batch, or with
  // --preserve-color once per photo, from the style recoloured to it.
  const auto styles_for = [&](const cv::Mat& photo) {
    std::vector<AdainStyle> styles;
    for (const auto& picture : pictures) {
      const cv::Mat style = photo.empty() ? picture : match_color_covariance(picture, photo);
      styles.push_back(painter.style(style, kAdainStyleSize, batch.precision));
    }
    return styles;
  };
  const std::vector<AdainStyle> styles = styles_for({});
  char strength[32];
  std::snprintf(strength, sizeof strength, "%g", args.strength);
  const std::string encoded =
      args.preserve_color ? ", recoloured to each photo and encoded for it (--preserve-color), for " : ", encoded once, for ";
  batch.progress.info(std::to_string(styles.size()) + " style(s) at " + painter.level() + encoded +
                          std::to_string(plan.size()) + " picture(s), strength " + strength,
                      {{"styles", styles.size()}, {"pictures", plan.size()}, {"level", painter.level()},
                       {"strength", args.strength}});
  return run_batch(plan, batch.outputs, batch.progress, [&](const std::string& input, const std::string& output) {
    const Image content = batch.load(input);
    AdainOptions for_this = options;
    if (!args.mask.empty()) for_this.mask = load_mask(args, content, input, batch.progress);
    batch.say_tiles_if(input, plan_adain_tiling(content.height(), content.width(), painter.level(), batch.max_memory).tile);
    const cv::Mat painted = painter.paint(content.rgb, args.preserve_color ? styles_for(content.rgb) : styles, for_this);
    save_image(finish(painted, content, pictures.front(), finishing), output, batch.save_options);
  });
}

}  // namespace atelier::cli
