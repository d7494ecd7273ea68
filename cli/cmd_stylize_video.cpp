// atelier stylize-video: a feed-forward style on every frame of a video:
// a trained network (--model) or any picture as a style (--style, Magenta
// by default or --method adain), whose style vector or statistics are
// computed once for the whole video.
//
// The frames, the blend with the previous output along the optical flow
// (--temporal-weight, 0: every frame on its own) and the file are the
// library's VideoPainting (src/video, docs/VIDEO.md): frames are stylised
// into a work folder beside the output (OUT.frames/, lossless PNG), then
// assembled into OUT through a temporary file and a rename, as H.264 at the
// input's frame times, with its rotation and its sound copied unchanged (or
// a warning line when the container cannot hold that sound). An interrupted
// run (Ctrl-C, a crash) leaves the folder; --resume skips the frames already
// there and gives the same file. With --shard I/N a run paints only its share
// of the frames into that folder (cluster job arrays, no coordination) and
// --assemble, once they are all there, blends and writes the video: the same
// file as one run.
//
// A video that ends before the frame count its header announces (a file cut
// short) is still written with the frames that could be read, with a warning
// naming both counts, and the command exits 1: the output is shorter than the
// input. A file that is not a video (a picture named .mp4) is an error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <iostream>

#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/regions.hpp"
#include "atelier/runtime.hpp"
#include "atelier/shard.hpp"
#include "atelier/video_painting.hpp"
#include "adain_flags.hpp"
#include "batch_outputs.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "gatys_flags.hpp"
#include "interrupt.hpp"
#include "magenta_style.hpp"
#include "progress.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct VideoArgs {
  std::string input, output, model, models_dir;
  std::vector<std::string> styles;  // Magenta: pictures or .json vectors
  std::string style_blend;
  std::string method = "magenta";  // with --style: magenta, adain or gatys
  GatysWeightFlags gatys;          // --method gatys
  int size = 0;                    // --method gatys: longest side painted; 0: the frame's
  StylePictureFlags style_picture;
  AdainFlags adain;
  std::string max_memory;  // empty: default_memory_budget()
  std::string mask;        // for every frame: grey (white painted, black the frame; two styles: first / second) or colours
  std::vector<std::string> regions;  // --region '#rrggbb=STYLE': a colour of the mask and its style
  double feather = kDefaultFeather;  // pixels over which region edges blend
  double strength = 1.0;
  bool resume = false;
  double temporal_weight = kDefaultTemporalWeight;
  long long frames = 0;  // 0: all
  std::string shard;      // --shard I/N: paint this share of the frames, no video
  bool assemble = false;  // --assemble: the video from the frames the shards painted
  OutputFlags output_flags;
  RuntimeFlags runtime;
};

// Paints one frame (CV_32FC3 RGB [0,1]) with the chosen engine.
using FramePainter = std::function<cv::Mat(const cv::Mat&)>;

// AdaIN: each style's statistics encoded once; --strength is its alpha.
FramePainter adain_frame_painter(const VideoArgs& args, const std::vector<double>& weights, Precision precision,
                                 int64_t max_memory, Progress& progress) {
  const AdainPainter painter = load_adain(args.models_dir, args.adain, args.runtime.device);
  std::vector<AdainStyle> styles;
  for (const auto& path : args.styles) {
    if (is_style_vector_file(path))
      throw Error("--method adain takes style pictures, not " + path + " (a Magenta style vector)");
    styles.push_back(painter.style(load_image(path).rgb, kAdainStyleSize, precision));
  }
  AdainOptions options;
  options.alpha = args.strength;
  options.weights = weights;
  options.precision = precision;
  options.max_memory = max_memory;
  progress.info(std::to_string(styles.size()) + " style(s) at " + painter.level() + ", encoded once for the whole video",
                {{"styles", styles.size()}, {"strength", args.strength}, {"method", "adain"}});
  return [=](const cv::Mat& rgb) { return painter.paint(rgb, styles, options); };
}

FramePainter frame_painter(const VideoArgs& args, Progress& progress) {
  const Precision precision = chosen_precision(args.runtime, progress);
  const int64_t max_memory = args.max_memory.empty() ? default_memory_budget() : parse_memory_size(args.max_memory);
  if (!args.model.empty()) {
    const FastStylePainter painter(ModelStore(args.models_dir).resolve(args.model), args.runtime.device);
    FinishOptions finishing;
    finishing.strength = args.strength;  // a blend with the frame
    return [=](const cv::Mat& rgb) {
      const Image source{rgb, {}};
      return finish(painter.paint(rgb, precision, max_memory), source, {}, finishing).rgb;
    };
  }
  const std::vector<double> weights = blend_weights(args.styles, args.style_blend);
  if (args.method == "adain") return adain_frame_painter(args, weights, precision, max_memory, progress);
  const StylePictureOptions fit = args.style_picture.options();
  const MagentaPainter painter = load_magenta(args.models_dir, args.runtime.device);
  cv::Mat first_picture;
  const StyleVector style = predict_style(painter, args.styles, weights, fit, LoadOptions{}.max_pixels, first_picture);
  progress.info(std::to_string(args.styles.size()) + " style(s), predicted once for the whole video",
                {{"styles", args.styles.size()}, {"strength", args.strength}});
  // --strength acts on the vector: each frame's own vector is its own.
  return [=](const cv::Mat& rgb) { return painter.paint(rgb, style, args.strength, precision, fit, max_memory); };
}

// With --mask: each style where the grey mask says, on every frame (two
// --style pictures: white the first, black the second; else white is
// painted and black keeps the frame), laid down by composite().
// What a --mask places, as for pictures (stylize --mask, plan_mask): the
// --region styles bound to their colours, or for a grey mask --model, one
// --style or two; each style's painter loaded once for the whole video.
struct VideoMaskPlan {
  std::vector<std::string> styles;  // pictures (or networks, for --region)
  std::vector<cv::Vec3b> colours;   // empty: a grey mask
};
VideoMaskPlan plan_video_mask(const VideoArgs& args) {
  if (!args.style_blend.empty()) throw Error("--mask puts each style in its own place: drop --style-blend");
  VideoMaskPlan plan;
  if (!args.regions.empty()) {
    if (!args.styles.empty() || !args.model.empty())
      throw Error("with --region each region names its style: drop --style and --model");
    for (const auto& text : args.regions) {
      const RegionSpec region = parse_region(text);
      plan.styles.push_back(region.style);
      plan.colours.push_back(region.colour);
    }
    return plan;
  }
  if (args.styles.size() > 2)
    throw Error("a grey --mask takes --model, one --style (white: painted) or two (white: the first, black: the "
                "second); for more, colour the regions and bind each with --region");
  plan.styles = args.model.empty() ? args.styles : std::vector<std::string>{args.model};
  return plan;
}

// The mask's weights at the frames' size, computed once: every frame has the video's size.
std::function<const std::vector<cv::Mat>&(cv::Size)> frame_mask_weights(const VideoArgs& args, const VideoMaskPlan& plan,
                                                                       Progress& progress) {
  const cv::Mat mask = load_image(args.mask).rgb;
  auto weights = std::make_shared<RegionWeights>();
  return [=, &progress](cv::Size size) -> const std::vector<cv::Mat>& {
    if (weights->weights.empty()) {
      *weights = mask_weights(mask, size, plan.colours, static_cast<int>(plan.styles.size()), args.feather);
      for (const auto& notice : weights->notices) say_warning(progress, args.mask, notice);
    }
    return weights->weights;
  };
}

// With --mask: each style where the mask says, on every frame, laid down by
// composite(); pixels of no region keep the frame.
FramePainter masked_frame_painter(const VideoArgs& args, Progress& progress) {
  const VideoMaskPlan plan = plan_video_mask(args);
  std::vector<FramePainter> painters;
  for (const auto& style : plan.styles) {
    VideoArgs one = args;
    const bool network = plan.colours.empty() ? !args.model.empty() : names_a_network(style);
    one.model = network ? style : "";
    one.styles = network ? std::vector<std::string>{} : std::vector<std::string>{style};
    painters.push_back(frame_painter(one, progress));
  }
  const auto weights = frame_mask_weights(args, plan, progress);
  return [=](const cv::Mat& rgb) {
    std::vector<cv::Mat> painted;
    for (const auto& paint : painters) painted.push_back(paint(rgb));
    return composite(rgb, painted, weights(rgb.size()));
  };
}

// Frame counts from a container's header may be off by one (rounded from
// the duration); more is a video cut short: a warning and exit 1.
int say_if_cut_short(const VideoArgs& args, long long announced, long long frames, Progress& progress) {
  const long long wanted = args.frames > 0 ? std::min(args.frames, announced) : announced;
  if (announced <= 0 || frames + 1 >= wanted) return kExitOk;
  const std::string message = args.input + " ended after " + std::to_string(frames) + " of the " +
                              std::to_string(announced) + " frames its header announces (cut short?); " +
                              args.output + " holds the " + std::to_string(frames) + " frames read";
  progress.event("warning", {{"message", message}, {"frames_read", frames}, {"frames_expected", announced}});
  std::cerr << "atelier: warning: " << message << std::endl;
  return kExitError;
}

int say_interrupted(const VideoArgs& args, long long frames) {
  std::cerr << "atelier: interrupted after " << frames << " frames; run the same command"
            << (args.shard.empty() && !args.assemble ? " with --resume" : "") << " to continue" << std::endl;
  return kExitInterrupted;
}

// Gatys on video: each frame optimised from the painting before it carried
// along the motion and held to it where the flow is reliable
// (follow_previous_painting); the first frame from the photo. Frames follow
// one another, so they are painted in order, in one process.
SequentialFramePainter gatys_frame_painter(const VideoArgs& args, Progress& progress) {
  const std::optional<VideoMaskPlan> plan = args.mask.empty() ? std::nullopt : std::optional(plan_video_mask(args));
  const GatysPainter painter({ModelStore(args.models_dir).resolve(args.gatys.weights), "", "max", args.runtime.device});
  std::vector<cv::Mat> styles;
  for (const auto& path : plan ? plan->styles : args.styles) {
    if (is_style_vector_file(path)) throw Error("--method gatys takes style pictures, not " + path + " (a Magenta style vector)");
    if (plan && !plan->colours.empty() && names_a_network(path))
      throw Error("--method gatys paints each region with a picture: " + path + " is not one");
    styles.push_back(load_image(path).rgb);
  }
  GatysOptions options = painter.with_default_layers({});
  args.gatys.apply(options);
  options.style_blend = parse_number_list<double>(args.style_blend, "--style-blend", 0, kAnyFinite);
  options.precision = chosen_precision(args.runtime, progress);
  options.max_memory = args.max_memory.empty() ? default_memory_budget() : parse_memory_size(args.max_memory);
  progress.info(std::to_string(styles.size()) + " style(s), " + std::to_string(options.iterations) +
                    " iterations a frame, each from the one before",
                {{"styles", styles.size()}, {"iterations", options.iterations}, {"method", "gatys"}});
  const auto flow = std::make_shared<OpticalFlow>();
  const auto masks = plan ? frame_mask_weights(args, *plan, progress) : nullptr;
  return [=](const cv::Mat& rgb, const VideoFrameHistory& history) {
    GatysOptions frame = options;
    const cv::Mat content = args.size > 0 ? resize_longest_side(Image{rgb, {}}, args.size).rgb : rgb;
    if (masks) frame.style_masks = masks(content.size());  // guided Gram matrices
    follow_previous_painting(frame, *flow, history, args.temporal_weight);
    const GatysResult result = painter.paint(content, styles, frame);
    if (!result.finite) throw Error(result.message);
    return result.rgb;
  };
}

std::string painting_settings(const VideoArgs& args) {
  const auto name = [](const std::string& path) { return fs::path(path).filename().string(); };
  nlohmann::json styles = nlohmann::json::array();
  for (const std::string& style : args.styles) styles.push_back(name(style));
  nlohmann::json settings = {{"model", name(args.model)}, {"styles", styles}, {"style_blend", args.style_blend},
                             {"strength", args.strength}, {"mask", name(args.mask)}, {"regions", args.regions},
                             {"feather", args.feather}};
  if (!args.styles.empty()) settings["method"] = args.method;
  if (!args.styles.empty() && args.method == "magenta")
    settings.update({{"style_fit", args.style_picture.fit}, {"style_size", args.style_picture.size}});
  if (!args.styles.empty() && args.method == "adain")
    settings.update({{"encoder", name(args.adain.encoder)}, {"decoder", name(args.adain.decoder)}});
  if (args.method == "gatys")  // its temporal weight shapes the paintings, not the assembly
    settings.update({{"weights", name(args.gatys.weights)}, {"content_weight", args.gatys.content_weight},
                     {"style_weight", args.gatys.style_weight}, {"tv_weight", args.gatys.tv_weight},
                     {"iterations", args.gatys.iterations}, {"pyramid", args.gatys.pyramid}, {"size", args.size},
                     {"temporal_weight", args.temporal_weight}});
  settings["precision"] = precision_name(args.runtime.precision == "auto" ? auto_precision(args.runtime.device).precision
                                                                         : parse_precision(args.runtime.precision, args.runtime.device));
  return settings.dump();
}

int run_video(const VideoArgs& args) {
  if (!args.regions.empty() && args.mask.empty()) throw Error("--region binds colours of a --mask picture: give the --mask");
  if (args.regions.empty() && args.model.empty() == args.styles.empty() && !(args.assemble && args.styles.empty()))
    throw Error("stylize-video: give --model (a trained style network) or --style (any picture, Magenta), one of them");
  if (!args.model.empty() && args.method != "magenta")
    throw Error("stylize-video: --method " + args.method + " paints with --style pictures, not --model");
  if (args.assemble && !args.shard.empty())
    throw Error("--assemble writes the video once every --shard has painted its frames: run it without --shard");
  const Shard shard = args.shard.empty() ? Shard{} : parse_shard(args.shard);
  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  const bool gatys = args.method == "gatys";
  if (args.size > 0 && !gatys) throw Error("--size sets the size Gatys paints at: it goes with --method gatys");
  if (gatys && !shard.whole())
    throw Error("--method gatys paints each frame from the one before: its frames cannot be split with --shard");
  VideoPaintingOptions options;
  options.temporal_weight = gatys ? 0.0 : args.temporal_weight;  // Gatys holds frames together by its own loss
  options.resume = args.resume || !args.shard.empty() || args.assemble;  // shards share the work folder
  options.max_frames = args.frames;
  if (!args.assemble) options.painting_settings = painting_settings(args);
  // Output, work folder and input are checked before a model is loaded.
  VideoPainting painting(args.input, args.output, options);
  const VideoInfo& info = painting.info();
  const long long announced = info.frame_count;  // 0: unknown
  const long long expected = args.frames > 0 && announced > 0 ? std::min(args.frames, announced)
                             : args.frames > 0                ? args.frames
                                                              : announced;
  const std::string sound = info.audio_codec.empty() ? "no sound" : info.audio_codec + " sound";
  char weight[32];
  std::snprintf(weight, sizeof weight, "%g", args.temporal_weight);
  const nlohmann::json facts = {{"frames", expected},         {"fps", info.fps},
                                {"width", info.size.width},   {"height", info.size.height},
                                {"rotation", info.rotation},  {"audio", info.audio_codec},
                                {"temporal_weight", args.temporal_weight}};
  const std::string described = args.input + " (" + std::to_string(info.size.width) + "x" +
                                std::to_string(info.size.height) + ", " + std::to_string(expected) + " frames at " +
                                std::to_string(info.fps) + " fps, " + sound + ")";
  InterruptHandler interrupt_handler;
  const auto stop = [] { return interrupt_requested(); };

  long long frames = 0;   // as read: what the assembly goes through
  if (!args.assemble) {  // the first stage: painting, all frames or this shard's
    const SequentialFramePainter paint_following = gatys ? gatys_frame_painter(args, progress) : nullptr;
    const FramePainter paint = gatys           ? nullptr
                               : args.mask.empty() ? frame_painter(args, progress)
                                                   : masked_frame_painter(args, progress);
    nlohmann::json fields = facts;
    if (!shard.whole()) fields.update({{"shard", shard.index}, {"shards", shard.count}});
    progress.info("stylising " + described +
                      (shard.whole() ? ", temporal weight " + std::string(weight) : ", shard " + shard.name()),
                  fields);
    long long done = painting.frames_already_painted(shard);
    progress.start(shard.share_of(expected), "frames", done);
    const auto on_frame = [&](long long frame) {
      progress.update(++done, "frame " + std::to_string(frame), {{"frame", frame}});
    };
    const VideoPaintingResult painted = gatys ? painting.paint_in_order(paint_following, on_frame, stop)
                                              : painting.paint(paint, shard, on_frame, stop);
    progress.finish();
    if (painted.interrupted) return say_interrupted(args, painted.frames);
    frames = painted.frames;
    if (!shard.whole()) {
      progress.info("shard " + shard.name() + ": " + std::to_string(painted.painted) + " frames painted, " +
                        std::to_string(done - painted.painted) + " were there; once all " + std::to_string(shard.count) +
                        " shards are done, run the same command with --assemble instead of --shard",
                    {{"shard", shard.index}, {"shards", shard.count}, {"painted", painted.painted},
                     {"already", done - painted.painted}, {"frames", done}, {"work_folder", painting.work_folder()}});
      return kExitOk;
    }
  } else {
    frames = painting.check_all_painted();  // before any line: a missing frame is the only one
    progress.info("assembling " + described + " from " + painting.work_folder() + ", temporal weight " + weight,
                  facts);
  }

  // The second stage: blend along the motion and write the video.
  progress.start(frames, "frames");
  const VideoPaintingResult result = painting.assemble(
      [&](long long frame) { progress.update(frame, "assembled", {{"assembled", frame}}); }, stop);
  progress.finish();
  if (result.interrupted) return say_interrupted(args, result.frames);
  if (!result.audio_notice.empty()) {
    progress.event("warning", {{"message", result.audio_notice}});
    std::cerr << "atelier: warning: " << result.audio_notice << std::endl;
  }
  const bool kept_sound = !info.audio_codec.empty() && result.audio_notice.empty();
  progress.info("wrote " + args.output + " (" + std::to_string(result.frames) + " frames, " +
                    (kept_sound ? "with its " + info.audio_codec + " sound" : "no sound") + ")",
                {{"output", args.output}, {"frames", result.frames}, {"audio", kept_sound ? info.audio_codec : ""}});
  return say_if_cut_short(args, announced, result.frames, progress);
}

}  // namespace

Runner add_video_command(CLI::App& app) {
  auto args = std::make_shared<VideoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "stylize-video",
      "Paint every frame of a video with a trained style or any picture as a style, without flicker, sound kept");
  cmd->add_option("input", args->input, "The video (any container and codec FFmpeg reads)")->required();
  cmd->add_option("--output,-o", args->output,
                  "Output video: .mp4, .mov or .mkv (H.264, the input's sound copied) or .avi (MJPEG)")
      ->required();
  cmd->add_option("--model,-m", args->model, "Style network: a name in the model search path or a file");
  cmd->add_option("--style,-s", args->styles,
                  "Instead of --model: any picture as a style (Magenta), or a .json file from style-vector; "
                  "repeat to blend");
  cmd->add_option("--style-blend", args->style_blend, "With --style: comma list of weights, one per --style");
  cmd->add_option("--method", args->method,
                  "With --style: magenta (one pass, real pretrained networks), adain (one pass, AdaIN networks from "
                  "models import or train-arbitrary) or gatys (optimisation, each frame from the one before: slow, "
                  "finest)")
      ->capture_default_str()
      ->check(CLI::IsMember({"magenta", "adain", "gatys"}));
  add_gatys_weight_flags(cmd, &args->gatys, "With --method gatys: iterations a frame");
  cmd->add_option("--size", args->size,
                  "With --method gatys: the longest side each frame is painted at, faster when smaller (the video "
                  "keeps its size; 0: the frame's own)")
      ->capture_default_str()
      ->check(whole_number_in(0, 16384));
  add_adain_network_flags(cmd, &args->adain);
  add_style_picture_flags(cmd, &args->style_picture, "With --style: ");
  add_models_dir_flag(cmd, &args->models_dir, "Directory searched first for the model");
  cmd->add_option("--strength", args->strength,
                  "With --model: blend with the original frames; with --style: from each frame's own style (0) to "
                  "the painting's (1), for adain its alpha; 0..1")
      ->capture_default_str()
      ->check(number_in(0, 1));
  add_precision_flag(cmd, &args->runtime);
  cmd->add_option("--max-memory", args->max_memory,
                  "Memory to stay within, e.g. 4G; larger frames run in tiles (default: 90% of free memory)");
  cmd->add_option("--mask", args->mask,
                  "A picture for every frame (stretched to it): grey, white painted and black the frame (with two "
                  "--style pictures white takes the first and black the second), or colour regions bound by --region");
  add_region_flags(cmd, &args->regions, &args->feather);
  cmd->add_option("--temporal-weight", args->temporal_weight,
                  "Blend each frame with the previous output along the motion where the optical flow is reliable "
                  "(gatys: hold it there by a temporal loss) (0: every frame on its own; more: less flicker, softer "
                  "strokes)")
      ->capture_default_str()
      ->check(number_in(0, 1));
  cmd->add_option("--frames", args->frames, "Paint only the first N frames, and their sound (0: all)")
      ->capture_default_str()
      ->check(whole_number_in(0, 1e12));
  cmd->add_flag("--resume", args->resume, "Continue an interrupted run from its OUTPUT.frames folder");
  cmd->add_option("--shard", args->shard,
                  "Paint only share I of N of the frames (I from 0, as $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX; "
                  "N up to 100000) into OUTPUT.frames, and no video: N processes split a video with no coordination, "
                  "then --assemble writes it")
      ->type_name("I/N");
  cmd->add_flag("--assemble", args->assemble,
                "Once every --shard has painted its frames: blend them along the motion (--temporal-weight) and "
                "write OUTPUT with the input's sound, the same file as one run (--model and --style may stay; "
                "nothing is painted)");
  add_output_flags(cmd, &args->output_flags);
  add_threads_and_device_flags(cmd, &args->runtime);
  return [args] { return run_video(*args); };
}

}  // namespace atelier::cli
