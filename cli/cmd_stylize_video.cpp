// atelier stylize-video: a feed-forward style on every frame of a video:
// a trained network (--model) or any picture as a style (--style, Magenta
// by default or --method adain), whose style vector or statistics are
// computed once for the whole video.
//
// Frames are stylised into a work folder beside the output (OUT.frames/,
// lossless PNG), then assembled into OUT through a temporary file and a
// rename. An interrupted run (Ctrl-C, a crash) leaves the folder; --resume
// skips the frames already there. Audio is not carried over.
//
// A video that ends before the frame count its header announces (a file cut
// short) is still written with the frames that could be read, with a warning
// naming both counts, and the command exits 1: the output is shorter than the
// input. A file that is not a video (a picture named .mp4) is an error.
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/video_file.hpp"
#include "adain_flags.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
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
  std::string method = "magenta";  // with --style: magenta or adain
  StylePictureFlags style_picture;
  AdainFlags adain;
  std::string max_memory;  // empty: default_memory_budget()
  double strength = 1.0;
  bool resume = false;
  OutputFlags output_flags;
  RuntimeFlags runtime;
};

std::string frame_path(const fs::path& folder, long long index) {
  char name[32];
  std::snprintf(name, sizeof name, "frame%07lld.png", index);
  return (folder / name).string();
}

std::vector<unsigned char> read_file_head(const std::string& path, std::size_t count) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> bytes(count);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(count));
  bytes.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return bytes;
}

cv::Mat to_rgb(const cv::Mat& bgr8) {
  cv::Mat rgb;
  cv::cvtColor(bgr8, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
  return rgb;
}

// Writes every frame of `folder` into `output` via a temporary file.
void assemble(const fs::path& folder, long long frames, double fps, cv::Size size, const std::string& output) {
  VideoFile video(output, fps, size);
  for (long long index = 0; index < frames; ++index) {
    cv::Mat frame = cv::imread(frame_path(folder, index), cv::IMREAD_COLOR);
    if (frame.empty()) throw Error("stylised frame " + std::to_string(index) + " is missing from " + folder.string());
    video.write(frame);
  }
  video.finish();
}

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
  const Precision precision = parse_precision(args.runtime.precision);
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

int run_video(const VideoArgs& args) {
  if (args.model.empty() == args.styles.empty())
    throw Error("stylize-video: give --model (a trained style network) or --style (any picture, Magenta), one of them");
  if (!args.model.empty() && args.method != "magenta")
    throw Error("stylize-video: --method " + args.method + " paints with --style pictures, not --model");
  Progress progress(args.output_flags.mode());
  configure_runtime(args.runtime.threads);
  fourcc_for(args.output);
  const fs::path folder = args.output + ".frames";
  if (fs::exists(folder) && !args.resume)
    throw Error(folder.string() + " holds an interrupted run: add --resume to continue it, or delete it");
  if (!fs::is_directory(fs::path(args.output).parent_path().empty() ? "." : fs::path(args.output).parent_path()))
    throw Error("cannot write " + args.output + ": its directory does not exist");

  if (!fs::is_regular_file(args.input)) throw Error("cannot read " + args.input + ": no such file");
  refuse_overwriting_input(args.input, args.output);
  // OpenCV's backends print their own warnings; our error says it in one line.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  cv::VideoCapture capture(args.input, cv::CAP_FFMPEG);
  if (!capture.isOpened())
    throw Error("cannot read " + args.input + ": not a video this OpenCV can decode (unknown container or codec)");
  const double fps = capture.get(cv::CAP_PROP_FPS);
  const cv::Size size(static_cast<int>(capture.get(cv::CAP_PROP_FRAME_WIDTH)),
                      static_cast<int>(capture.get(cv::CAP_PROP_FRAME_HEIGHT)));
  const double count = capture.get(cv::CAP_PROP_FRAME_COUNT);
  // FFmpeg opens a picture as a one-frame "video" with no frame count.
  const std::string picture = sniff_image_format(read_file_head(args.input, 64));
  if (!picture.empty()) throw Error("cannot read " + args.input + ": it is a " + picture + " picture, not a video");
  if (!(std::isfinite(fps) && fps > 0) || size.width <= 0 || size.height <= 0)
    throw Error("cannot read " + args.input + ": not a video (no frame rate or frame size)");
  const long long expected = std::isfinite(count) && count > 0 ? static_cast<long long>(count) : 0;  // 0: unknown

  const FramePainter paint = frame_painter(args, progress);
  fs::create_directories(folder);
  progress.info("stylising " + args.input + " (" + std::to_string(size.width) + "x" + std::to_string(size.height) +
                    ", " + std::to_string(expected) + " frames at " + std::to_string(fps) +
                    " fps); audio is not carried over",
                {{"frames", expected}, {"fps", fps}, {"width", size.width}, {"height", size.height}});

  long long already = 0;
  while (fs::exists(frame_path(folder, already))) ++already;
  progress.start(expected, "frames", already);
  InterruptHandler interrupt_handler;
  long long index = 0;
  for (cv::Mat frame; capture.read(frame); ++index) {
    if (index < already) continue;  // done before the interruption
    if (interrupt_requested()) {
      progress.finish();
      std::cerr << "atelier: interrupted after " << index << " frames; run the same command with --resume to continue"
                << std::endl;
      return kExitInterrupted;
    }
    save_image(Image{paint(to_rgb(frame)), {}}, frame_path(folder, index));  // atomic: a frame file is whole or absent
    progress.update(index + 1, "frame " + std::to_string(index + 1), {{"frame", index + 1}});
  }
  progress.finish();
  if (index == 0) throw Error("cannot read " + args.input + ": no frame could be decoded");
  assemble(folder, index, fps, size, args.output);
  fs::remove_all(folder);
  progress.info("wrote " + args.output + " (" + std::to_string(index) + " frames, no audio)",
                {{"output", args.output}, {"frames", index}});
  // Frame counts from a container's header may be off by one (rounded from
  // the duration); more is a video cut short.
  if (expected > 0 && index + 1 < expected) {
    const std::string message = args.input + " ended after " + std::to_string(index) + " of the " +
                                std::to_string(expected) + " frames its header announces (cut short?); " +
                                args.output + " holds the " + std::to_string(index) + " frames read";
    progress.event("warning", {{"message", message}, {"frames_read", index}, {"frames_expected", expected}});
    std::cerr << "atelier: warning: " << message << std::endl;
    return kExitError;
  }
  return kExitOk;
}

}  // namespace

Runner add_video_command(CLI::App& app) {
  auto args = std::make_shared<VideoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "stylize-video", "Paint every frame of a video with a trained style or any picture as a style (no audio)");
  cmd->add_option("input", args->input, "The video (any container and codec OpenCV's FFmpeg reads)")->required();
  cmd->add_option("--output,-o", args->output, "Output video: .mp4 or .mov (MPEG-4) or .avi (MJPEG)")->required();
  cmd->add_option("--model,-m", args->model, "Style network: a name in the model search path or a file");
  cmd->add_option("--style,-s", args->styles,
                  "Instead of --model: any picture as a style (Magenta), or a .json file from style-vector; "
                  "repeat to blend");
  cmd->add_option("--style-blend", args->style_blend, "With --style: comma list of weights, one per --style");
  cmd->add_option("--method", args->method,
                  "With --style: magenta (one pass, real pretrained networks) or adain (one pass, AdaIN networks from "
                  "models import or train-arbitrary)")
      ->capture_default_str()
      ->check(CLI::IsMember({"magenta", "adain"}));
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
  cmd->add_flag("--resume", args->resume, "Continue an interrupted run from its OUTPUT.frames folder");
  add_output_flags(cmd, &args->output_flags);
  add_threads_and_device_flags(cmd, &args->runtime);
  return [args] { return run_video(*args); };
}

}  // namespace atelier::cli
