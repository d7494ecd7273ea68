// `atelier stylize --mask ...`: the one-pass methods where a mask says
// (issue 15). A grey mask with --model or one --style is a strength map;
// with two --style pictures white takes the first and black the second;
// a colour mask binds each --region colour to a style: a picture or a .json
// vector (painted by --method magenta or adain) or a trained network (a
// name or .safetensors file, --model's kind). Each style paints the whole
// picture once, composite() lays them down by their feathered weights, and
// pixels of no region keep the photo. AdaIN's own two-style mask (each
// region normalised by its own statistics) stays in cmd_adain.cpp.
#include <filesystem>
#include <functional>
#include <memory>

#include "adain_flags.hpp"
#include "atelier/adain_style.hpp"
#include "atelier/arbitrary_style.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/regions.hpp"
#include "commands.hpp"
#include "magenta_style.hpp"
#include "one_pass_batch.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

using StylePainter = std::function<cv::Mat(const cv::Mat& rgb)>;

// One painter per style, each loaded or predicted once for the batch.
class RegionPainters {
 public:
  RegionPainters(const StylizeArgs& args, const OnePassBatch& batch) : args_(args), batch_(batch) {}

  StylePainter add(const std::string& style) {
    if (names_a_network(style)) {
      auto painter = std::make_shared<FastStylePainter>(ModelStore(args_.models_dir).resolve(style), args_.runtime.device);
      const Precision precision = batch_.precision;
      const std::int64_t memory = batch_.max_memory;
      return [=](const cv::Mat& rgb) { return painter->paint(rgb, precision, memory); };
    }
    if (args_.method == "adain") {
      if (!adain_) adain_ = std::make_shared<AdainPainter>(load_adain(args_.models_dir, args_.adain, args_.runtime.device));
      const AdainStyle style_stats = adain_->style(load_image(style, LoadOptions{args_.max_pixels}).rgb, kAdainStyleSize,
                                                   batch_.precision);
      AdainOptions options;
      options.alpha = args_.strength;
      options.precision = batch_.precision;
      options.max_memory = batch_.max_memory;
      auto painter = adain_;
      return [=](const cv::Mat& rgb) { return painter->paint(rgb, {style_stats}, options); };
    }
    if (!magenta_) magenta_ = std::make_shared<MagentaPainter>(load_magenta(args_.models_dir, args_.runtime.device));
    cv::Mat unused;
    const StylePictureOptions fit = args_.style_picture.options();
    const StyleVector vector = predict_style(*magenta_, {style}, {1.0}, fit, args_.max_pixels, unused);
    auto painter = magenta_;
    const double strength = args_.strength;
    const Precision precision = batch_.precision;
    const std::int64_t memory = batch_.max_memory;
    return [=](const cv::Mat& rgb) { return painter->paint(rgb, vector, strength, precision, fit, memory); };
  }

 private:
  const StylizeArgs& args_;
  const OnePassBatch& batch_;
  std::shared_ptr<AdainPainter> adain_;
  std::shared_ptr<MagentaPainter> magenta_;
};

// In a folder of masks, the one whose name (without extension) is the photo's.
std::string mask_for(const std::string& folder, const std::string& input) {
  const std::string stem = fs::path(input).stem().string();
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().stem().string() == stem) return entry.path().string();
  throw Error("no mask for " + fs::path(input).filename().string() + " in " + folder + " (a picture named " + stem +
              ".png or the like)");
}

}  // namespace

bool names_a_network(const std::string& style) {
  if (is_style_vector_file(style)) return false;
  const std::string extension = fs::path(style).extension().string();
  return !fs::is_regular_file(style) || extension == ".safetensors" || extension == ".pth" || extension == ".t7";
}

MaskPlan plan_mask(const StylizeArgs& args) {
  if (args.mask.empty()) throw Error("--region binds colours of a --mask picture: give the --mask");
  if (!args.style_blend.empty()) throw Error("--mask puts each style in its own place: drop --style-blend");
  MaskPlan plan;
  for (const auto& text : args.regions) plan.regions.push_back(parse_region(text));
  if (!plan.regions.empty()) {
    if (!args.styles.empty() || !args.model.empty())
      throw Error("with --region each region names its style: drop --style and --model");
    for (const auto& region : plan.regions) plan.styles.push_back(region.style);
    return plan;
  }
  if (!args.model.empty() && !args.styles.empty()) throw Error("--model and --style choose different engines: give one of them");
  plan.styles = args.model.empty() ? args.styles : std::vector<std::string>{args.model};
  if (plan.styles.empty() || plan.styles.size() > 2)
    throw Error("a grey --mask takes --model or one --style (white: painted), or two --style pictures (white: the "
                "first, black: the second); for more, colour the regions and bind each with --region");
  return plan;
}

RegionWeights MaskPlan::weights(const cv::Mat& mask_rgb, cv::Size size, double feather) const {
  std::vector<cv::Vec3b> colours;
  for (const auto& region : regions) colours.push_back(region.colour);
  return mask_weights(mask_rgb, size, colours, static_cast<int>(styles.size()), feather);
}

int run_region_stylize(const StylizeArgs& args) {
  const MaskPlan mask_plan = plan_mask(args);
  const std::vector<std::string>& styles = mask_plan.styles;
  const std::vector<RegionSpec>& regions = mask_plan.regions;
  OnePassBatch batch(args, "--mask");
  // One mask for every photo, or a folder of masks named as the photos.
  const bool mask_folder = fs::is_directory(args.mask);
  const cv::Mat shared_mask = mask_folder ? cv::Mat() : load_image(args.mask, LoadOptions{args.max_pixels}).rgb;
  std::vector<std::string> protected_files = styles;
  protected_files.push_back(args.mask);
  const std::string name = regions.empty() && !args.model.empty() ? fs::path(args.model).stem().string() : "regions";
  const OutputPlan plan = plan_outputs(batch.inputs, batch.outputs, name, protected_files);
  FinishOptions finishing;
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post, /*has_style=*/false);

  RegionPainters factory(args, batch);
  std::vector<StylePainter> painters;
  for (const auto& style : styles) painters.push_back(factory.add(style));
  batch.progress.info(std::to_string(styles.size()) + " style(s) placed by " + args.mask + " (" +
                          (regions.empty() ? "grey" : "colour regions") + "), for " + std::to_string(plan.size()) +
                          " picture(s)",
                      {{"styles", styles.size()}, {"regions", regions.size()}, {"pictures", plan.size()}});
  return run_batch(plan, batch.outputs, batch.progress, [&](const std::string& input, const std::string& output) {
    const Image content = batch.load(input);
    const cv::Size size = content.rgb.size();
    const cv::Mat mask = mask_folder ? load_image(mask_for(args.mask, input), LoadOptions{args.max_pixels}).rgb : shared_mask;
    const RegionWeights weights = mask_plan.weights(mask, size, args.feather);
    for (const auto& notice : weights.notices) say_warning(batch.progress, input, notice);
    std::vector<cv::Mat> painted;
    for (const auto& paint : painters) painted.push_back(paint(content.rgb));
    save_image(finish(composite(content.rgb, painted, weights.weights), content, {}, finishing), output,
               batch.save_options);
  });
}

}  // namespace atelier::cli
