// atelier stylize: one command for every method. It picks the method
// (Magenta by default with --style), runs Gatys optimisation itself and
// hands the others (Magenta, AdaIN, --model) to their files.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/gatys_checkpoint.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "batch_outputs.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "progress.hpp"
#include "stylize_args.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

// Sides beyond this are refused before any allocation (the output, the scales).
constexpr int kMaxSide = 16384;

// "out.png" -> "out.iter0050.png" (and "out.scale2.iter0050.png" for later scales).
std::string snapshot_path(const std::string& output, const GatysProgress& progress) {
  fs::path path(output);
  std::ostringstream name;
  name << path.stem().string();
  if (progress.scale_count > 1) name << ".scale" << progress.scale_index + 1;
  name << ".iter" << std::setw(4) << std::setfill('0') << progress.iteration << path.extension().string();
  return (path.parent_path() / name.str()).string();
}

std::string loss_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

GatysOptions gatys_options(const StylizeArgs& args) {
  GatysOptions options;
  options.content_layers = split_list(args.content_layers);
  options.style_layers = split_list(args.style_layers);
  args.gatys.apply(options);
  options.style_blend = parse_number_list<double>(args.style_blend, "--style-blend", 0, kAnyFinite);
  options.style_scale = args.style_scale;
  options.seed = args.seed;
  options.optimizer = args.optimizer == "adam" ? GatysOptions::Optimizer::Adam : GatysOptions::Optimizer::LBFGS;
  options.learning_rate = args.learning_rate;
  options.history = args.history;
  if (args.scales == "auto") {
    options.scales = gatys_auto_scales(gatys_output_side(options, args.size));
    options.coarse_iterations = kGatysAutoCoarseIterations;
  } else {
    options.scales = parse_number_list<int>(args.scales, "--scales", 16, kMaxSide);
  }
  if (args.coarse_iterations >= 0) options.coarse_iterations = args.coarse_iterations;
  // Above the budget the largest scales run in tiles (docs/GATYS.md, print sizes).
  options.max_memory = args.max_memory.empty() ? default_memory_budget() : parse_memory_size(args.max_memory);
  if (args.init == "content") {
    options.init = GatysOptions::Init::Content;
  } else if (args.init == "noise") {
    options.init = GatysOptions::Init::Noise;
  } else {
    options.init = GatysOptions::Init::Image;
    options.init_image = load_image(args.init, LoadOptions{args.max_pixels}).rgb;
  }
  return options;
}

// Everything that shapes the result, so a checkpoint is resumed only by the
// command that wrote it. (Output-only settings such as --post are left out.)
std::string describe_job(const StylizeArgs& args, const std::string& weights_path, const GatysOptions& options) {
  nlohmann::json job = {
      {"content", fs::absolute(args.content).string()}, {"styles", args.styles}, {"mask", args.mask}, {"regions", args.regions},
      {"weights", fs::absolute(weights_path).string()}, {"size", args.size}, {"scales", options.scales},
      {"preprocess", args.preprocess}, {"pooling", args.pooling}, {"content_layers", options.content_layers},
      {"style_layers", options.style_layers}, {"content_weight", options.content_weight},
      {"style_weight", options.style_weight}, {"tv_weight", options.tv_weight}, {"style_blend", options.style_blend},
      {"style_scale", options.style_scale}, {"init", args.init}, {"seed", args.seed}, {"optimizer", args.optimizer},
      {"lr", options.learning_rate}, {"history", options.history}, {"pyramid", options.pyramid}, {"iterations", options.iterations},
      {"coarse_iterations", options.coarse_iterations}, {"max_memory", args.max_memory}, {"precision", precision_name(options.precision)}};  // as resolved: auto may differ between machines
  return job.dump();
}

std::function<void(const GatysProgress&)> progress_reporter(Progress& progress, const GatysOptions& options) {
  return [&progress, &options](const GatysProgress& step) {
    // A scale in tiles counts its tiles' iterations: the bar moves as for one pass.
    long long done = step.iteration / step.tiles;
    for (int index = 0; index < step.scale_index; ++index) done += gatys_iterations_at(options, index, step.scale_count);
    std::string detail = "loss " + loss_text(step.total) + " (content " + loss_text(step.content) + ", style " +
                         loss_text(step.style) + ", tv " + loss_text(step.tv) + ")";
    if (step.tiles > 1) detail = "tile " + std::to_string(step.tile + 1) + "/" + std::to_string(step.tiles) + " " + detail;
    if (step.scale_count > 1)
      detail = "scale " + std::to_string(step.scale_index + 1) + "/" + std::to_string(step.scale_count) + " " + detail;
    progress.update(done, detail,
                    {{"scale", step.scale_index + 1}, {"scales", step.scale_count}, {"tile", step.tile + 1},
                     {"tiles", step.tiles}, {"tile_side", step.tile_side}, {"iteration", step.iteration},
                     {"loss", step.total}, {"content", step.content}, {"style", step.style}, {"tv", step.tv}});
  };
}

int run_stylize(const StylizeArgs& args) {
  // AdaIN's own two-style mask normalises each region by its statistics.
  const bool adain_mask = args.method == "adain" && args.regions.empty() && args.styles.size() == 2;
  const bool masked = !args.mask.empty() || !args.regions.empty();
  if (masked && !adain_mask && args.method != "gatys") return run_region_stylize(args);
  const std::optional<MaskPlan> mask_plan = masked && args.method == "gatys" ? std::optional(plan_mask(args)) : std::nullopt;
  const std::vector<std::string>& style_paths = mask_plan ? mask_plan->styles : args.styles;
  if (mask_plan && !args.model.empty()) throw Error("--method gatys paints with --style pictures, not --model");
  if (args.method == "magenta") return run_magenta_stylize(args);
  if (args.method == "adain") return run_adain_stylize(args);
  if (!args.model.empty()) return run_fast_stylize(args);
  if (!args.shard.empty())
    throw Error("--shard splits a batch (--out-dir with --model, --method magenta or adain), not --method gatys");
  if (args.content.empty() || style_paths.empty() || args.output.empty())
    throw Error("stylize: --content, --style and --output are required, or --model with input images (see --help)");
  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  const SaveOptions save_options{args.quality, args.bit_depth};
  check_can_save(args.output, save_options);  // fail now, not after the long run
  refuse_overwriting_input(args.content, args.output);
  for (const auto& style : style_paths) refuse_overwriting_input(style, args.output);
  if (masked) refuse_overwriting_input(args.mask, args.output);
  refuse_overwriting_input(args.init, args.output);
  FinishOptions finishing;
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post);  // reject bad specs before the long run

  const LoadOptions load_options{args.max_pixels};
  Image content = load_image(args.content, load_options);
  std::vector<cv::Mat> styles;
  for (const auto& path : style_paths) styles.push_back(load_image(path, load_options).rgb);
  GatysOptions options = gatys_options(args);
  options.precision = chosen_precision(args.runtime, progress);
  content = resize_longest_side(content, gatys_output_side(options, args.size));
  if (mask_plan) {  // guided Gram matrices: each style where its region is
    const RegionWeights weights =
        mask_plan->weights(load_image(args.mask, load_options).rgb, content.rgb.size(), args.feather);
    for (const auto& notice : weights.notices) say_warning(progress, args.content, notice);
    options.style_masks = weights.weights;
  }

  const std::string weights_path = ModelStore(args.models_dir).resolve(args.gatys.weights);
  const GatysPainter painter({weights_path, args.preprocess, args.pooling, args.runtime.device});
  options = painter.with_default_layers(options);
  progress.info("weights " + weights_path + " (" + painter.architecture() + ", " + painter.preprocess() +
                    "); content " + std::to_string(content.width()) + "x" + std::to_string(content.height()),
                {{"weights", weights_path}, {"width", content.width()}, {"height", content.height()}});

  GatysCallbacks callbacks;
  callbacks.on_progress = progress_reporter(progress, options);
  callbacks.snapshot_every = args.save_every;
  callbacks.on_snapshot = [&](const cv::Mat& rgb, const GatysProgress& step) {
    const std::string path = snapshot_path(args.output, step);
    save_image(Image{rgb, {}}, path, save_options);
    progress.event("snapshot", {{"path", path}, {"scale", step.scale_index + 1}, {"iteration", step.iteration}});
  };

  const std::string checkpoint_path = args.output + ".checkpoint.safetensors";
  const std::string job = describe_job(args, weights_path, options);
  if (args.resume) {
    options.resume_from = read_gatys_checkpoint(checkpoint_path, job);
    progress.info("resuming from " + checkpoint_path + " at iteration " +
                  std::to_string(options.resume_from->iteration) + " of scale " +
                  std::to_string(options.resume_from->scale_index + 1));
  }
  callbacks.checkpoint_every = args.checkpoint_every;
  GatysCheckpointWriter checkpoints(checkpoint_path, job);
  callbacks.on_checkpoint = [&](GatysCheckpoint checkpoint) { checkpoints.write(std::move(checkpoint)); };
  callbacks.stop_requested = interrupt_requested;
  InterruptHandler interrupt_handler;

  const int scale_count = std::max<int>(1, options.scales.size());
  long long total = 0, already_done = options.resume_from ? options.resume_from->iteration : 0;
  for (int index = 0; index < scale_count; ++index) {
    total += gatys_iterations_at(options, index, scale_count);
    if (options.resume_from && index < options.resume_from->scale_index)
      already_done += gatys_iterations_at(options, index, scale_count);
  }
  progress.start(total, "it", already_done);

  GatysResult result = painter.paint(content.rgb, styles, options, callbacks);
  checkpoints.finish();
  progress.finish();
  if (result.stopped) {
    std::cerr << "atelier: interrupted: " << result.message << "; run the same command with --resume to continue"
              << std::endl;
    return kExitInterrupted;
  }
  fs::remove(checkpoint_path);

  save_image(finish(result.rgb, content, styles.front(), finishing), args.output, save_options);

  if (!result.finite) {
    progress.event("error", {{"message", result.message}, {"output", args.output}});
    std::cerr << "atelier: error: " << result.message << " (saved to " << args.output << ")" << std::endl;
    return kExitDiverged;
  }
  progress.info("wrote " + args.output + " (loss " + loss_text(result.first_loss) + " -> " +
                    loss_text(result.final_loss) + ")",
                {{"output", args.output}, {"first_loss", result.first_loss}, {"final_loss", result.final_loss}});
  return kExitOk;
}

// Settings that only optimisation uses.
constexpr const char* kGatysOnly[] = {"--weights", "--preprocess", "--pooling", "--content-layers", "--style-layers",
                                      "--content-weight", "--style-weight", "--tv-weight", "--style-scale", "--init",
                                      "--seed", "--optimizer", "--lr", "--history", "--pyramid", "--iterations", "--scales", "--coarse-iterations", "--save-every",
                                      "--checkpoint-every", "--resume"};

// With --style and no --method: magenta, a painting in about a second
// (README, "Which method"), unless a Gatys-only setting is given, which
// only optimisation would use, as the studio's API decides. A Gatys-only
// setting with another method is refused rather than ignored.
void resolve_method(const CLI::App& cmd, StylizeArgs& args) {
  std::string gatys_setting;
  for (const char* name : kGatysOnly)
    if (gatys_setting.empty() && cmd.get_option(name)->count() > 0) gatys_setting = name;
  if (args.method.empty() && args.model.empty()) {
    // Without --style either, the Gatys path names what is missing.
    args.method = gatys_setting.empty() && (!args.styles.empty() || !args.regions.empty()) ? "magenta" : "gatys";
    return;
  }
  if (!gatys_setting.empty() && args.method != "gatys")
    throw Error(gatys_setting + " is a setting of --method gatys (optimisation), not of " +
                (args.method.empty() ? std::string("--model") : "--method " + args.method));
}

}  // namespace

Runner add_stylize_command(CLI::App& app) {
  auto args = std::make_shared<StylizeArgs>();
  CLI::App* cmd = app.add_subcommand("stylize", "Paint a photo in the style of one or more artworks (Magenta, AdaIN or Gatys), or with a trained --model");
  cmd->add_option("--content,-c", args->content, "Content image (the photo)");
  cmd->add_option("--style,-s", args->styles, "Style image; repeat for several");
  cmd->add_option("--output,-o", args->output, "Output image (.png .jpg .webp .tif .bmp)");
  cmd->add_option("--model,-m", args->model,
                  "Feed-forward style network (a name in the model search path or a file): no --style needed");
  cmd->add_option("inputs", args->inputs, "Images to stylise with --model or --method magenta");
  cmd->add_option("--out-dir", args->out_dir, "With --model or --method magenta: write each output into this folder");
  cmd->add_option("--name", args->name_pattern, "With --out-dir: output file names, from {name} (the input's without extension), {ext}, {parent} (its folder's name) and {model} (the network, or the style's name for --method magenta)")
      ->capture_default_str();
  cmd->add_flag("--overwrite", args->overwrite, "With --out-dir: redo outputs that already exist");
  cmd->add_option("--shard", args->shard,
                  "With --out-dir: paint only share I of N of the inputs (I from 0, as $SLURM_ARRAY_TASK_ID or "
                  "$JOB_COMPLETION_INDEX; N up to 100000), so that N processes split a batch with no coordination")
      ->type_name("I/N");
  cmd->add_option("--max-memory", args->max_memory,
                  "Memory to stay within, e.g. 4G; larger images run in tiles (Gatys: the scales that do not fit; default: 90% of free memory)");
  cmd->add_option("--method", args->method,
                  "With --style: magenta (any picture as a style, one pass, about a second; a style may also be "
                  "a .json file from style-vector), gatys (optimisation, minutes, finer) or adain (one pass, AdaIN "
                  "weights; inputs and --out-dir as for magenta). Default: magenta, or gatys when a Gatys-only "
                  "setting (--iterations, --scales, --style-weight ...) is given")
      ->check(CLI::IsMember({"gatys", "magenta", "adain"}));
  add_adain_flags(cmd, args.get());
  cmd->add_option("--mask", args->mask,
                  "Where the styles go (one-pass methods): a grey picture, white painted and black left as the photo "
                  "(with two --style pictures black takes the second), or colour regions bound by --region; any "
                  "size, stretched to the photo. With several photos, a folder: each photo's mask by its name");
  add_region_flags(cmd, &args->regions, &args->feather);
  add_style_picture_flags(cmd, &args->style_picture, "With --method magenta: ");
  cmd->add_option("--strength", args->strength,
                  "With --model: blend with the photo; with --method magenta: from the photo's own style (0) to "
                  "the painting's (1); 0..1")
      ->capture_default_str()
      ->check(number_in(0, 1));
  cmd->add_option("--size", args->size, "Longest side of the output (default 512; with --model the input's size)")
      ->check(whole_number_in(16, kMaxSide));
  cmd->add_option("--max-pixels", args->max_pixels, "Refuse input images with more pixels than this (0: no limit)")
      ->capture_default_str()
      ->check(whole_number_in(0, 1e12));
  cmd->add_option("--quality", args->quality, "JPEG/WebP quality")->capture_default_str()->check(whole_number_in(1, 100));
  cmd->add_option("--bit-depth", args->bit_depth, "8, or 16 for PNG/TIFF")->capture_default_str()->check(whole_number_of({8, 16}));
  add_gatys_weight_flags(cmd, &args->gatys, "Iterations per scale");
  add_models_dir_flag(cmd, &args->models_dir);
  cmd->add_option("--preprocess", args->preprocess, "Input convention, overriding the weights' metadata")->check(CLI::IsMember({"caffe", "torchvision"}));
  cmd->add_option("--pooling", args->pooling, "Pooling in the feature network")->capture_default_str()->check(CLI::IsMember({"max", "avg"}));
  cmd->add_option("--content-layers", args->content_layers, "Comma list (default relu4_2, or relu3_2 when the weights stop before)");
  cmd->add_option("--style-layers", args->style_layers, "Comma list (default relu1_1..relu5_1, those present)");
  cmd->add_option("--style-blend", args->style_blend, "Comma list of weights, one per --style");
  cmd->add_option("--style-scale", args->style_scale, "Style image size relative to the content")->capture_default_str()->check(number_in(0.01, 8));
  cmd->add_option("--init", args->init, "content, noise, or an image file")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for noise initialisation")->capture_default_str()->check(whole_number_in(0, kAnySeed));
  cmd->add_option("--optimizer", args->optimizer, "lbfgs or adam")->capture_default_str()->check(CLI::IsMember({"lbfgs", "adam"}));
  cmd->add_option("--lr", args->learning_rate, "Adam learning rate (pixel values are 0..1)")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--history", args->history, "L-BFGS correction pairs kept (each iteration reads them all)")
      ->capture_default_str()
      ->check(whole_number_in(1, 1000));
  add_precision_flag(cmd, &args->runtime);
  cmd->add_option("--scales", args->scales,
                  "Coarse-to-fine longest sides, e.g. 256,512 (the last is the output size), or auto: from a quarter "
                  "of --size up by sqrt(2), the coarse ones " + std::to_string(kGatysAutoCoarseIterations) +
                  " iterations each");
  cmd->add_option("--coarse-iterations", args->coarse_iterations,
                  "Iterations at each scale before the last (default: -n, or " +
                      std::to_string(kGatysAutoCoarseIterations) + " with --scales auto)")
      ->check(whole_number_in(0, 1000000));
  cmd->add_flag("--original-colors", args->original_colors, "Keep the content's colours (luminance-only transfer)");
  cmd->add_option("--post", args->post,
                  "Post-processing step, repeatable: hist:content|style, lab:content|style, "
                  "unsharp[:AMOUNT[:SIGMA]], guided[:RADIUS[:EPS]], denoise[:STRENGTH]");
  cmd->add_option("--save-every", args->save_every, "Also save the image every N iterations")->check(whole_number_in(0, 1000000));
  cmd->add_option("--checkpoint-every", args->checkpoint_every,
                  "Write OUTPUT.checkpoint.safetensors every N iterations (0: never); Ctrl-C also writes it")
      ->capture_default_str()
      ->check(whole_number_in(0, 1000000));
  cmd->add_flag("--resume", args->resume, "Continue an interrupted run of the same command from its checkpoint");
  add_output_flags(cmd, &args->output_flags);
  add_threads_and_device_flags(cmd, &args->runtime);
  return [args, cmd] {
    resolve_method(*cmd, *args);
    return run_stylize(*args);
  };
}

}  // namespace atelier::cli
