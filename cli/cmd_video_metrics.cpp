// atelier video-metrics IN OUT: how much a stylised video flickers. The
// warping error of Lai et al. 2018 (each output frame against the next one
// warped back along the input's optical flow, over the pixels the flow
// follows), the same without warping, and a texture measure to see that the
// style has not been smoothed away; with --style, the style measure: how far
// the frames are from the painting in VGG's Gram matrices (docs/VIDEO.md).
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <optional>

#include "atelier/image.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/temporal.hpp"
#include "atelier/video_reader.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "progress.hpp"

namespace atelier::cli {
namespace {

struct MetricsArgs {
  std::string input, output;
  long long frames = 0;
  std::string style;  // a painting: the style measure against it
  std::string weights = kGatysDefaultWeights, models_dir;
  int samples = 12;
  OutputFlags output_flags;
};

// The mean style distance (GatysPainter::style_distance) of `samples` frames
// of the output spread over its first `frames` (0: all), to the painting.
double style_measure(const MetricsArgs& args, const GatysPainter& network, const cv::Mat& style, long long frames) {
  const long long step = std::max<long long>(1, frames / args.samples);
  VideoReader reader(args.output);
  double sum = 0;
  int counted = 0;
  VideoFrame frame;
  for (long long index = 0; (frames == 0 || index < frames) && counted < args.samples && reader.read(frame); ++index) {
    if (index % step != 0) continue;
    cv::Mat rgb;
    cv::cvtColor(frame.bgr, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(rgb, CV_32FC3, 1.0 / 255);
    sum += network.style_distance(rgb, style);
    ++counted;
  }
  return counted > 0 ? sum / counted : 0.0;
}

int run_metrics(const MetricsArgs& args) {
  Progress progress(args.output_flags.json ? OutputMode::Quiet : args.output_flags.mode());
  // The painting and the network first: a bad one is a one-line error before any work.
  const cv::Mat painting = args.style.empty() ? cv::Mat() : load_image(args.style).rgb;
  const std::optional<GatysPainter> network =
      args.style.empty() ? std::nullopt : std::optional(GatysPainter({ModelStore(args.models_dir).resolve(args.weights)}));
  progress.start(args.frames, "frames");
  const FlickerMeasure measure = measure_flicker(args.input, args.output, args.frames, [&](long long done) {
    progress.update(done, "frame " + std::to_string(done));
  });
  progress.finish();
  const double style = network ? style_measure(args, *network, painting, measure.frames) : 0.0;
  if (args.output_flags.json) {
    nlohmann::json out = {{"frames", measure.frames},
                          {"warping_error", measure.warping_error},
                          {"frame_change", measure.frame_change},
                          {"texture", measure.texture},
                          {"reliable_fraction", measure.reliable_fraction}};
    if (!args.style.empty()) out["style_distance"] = style;
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  if (args.output_flags.quiet) return kExitOk;
  std::printf("frames compared   %lld\nwarping error     %.6f  (Lai et al. 2018; lower flickers less)\n"
              "frame change      %.6f  (the same without following the motion)\ntexture           %.4f  "
              "(mean gradient of the output: the style's strokes)\nflow followed     %.1f%% of the pixels\n",
              measure.frames, measure.warping_error, measure.frame_change, measure.texture,
              100.0 * measure.reliable_fraction);
  if (!args.style.empty())
    std::printf("style distance    %.4f  (VGG Gram matrices of %d frames against %s; lower is closer)\n", style,
                args.samples, args.style.c_str());
  return kExitOk;
}

}  // namespace

Runner add_video_metrics_command(CLI::App& app) {
  auto args = std::make_shared<MetricsArgs>();
  CLI::App* cmd = app.add_subcommand("video-metrics", "How much a stylised video flickers: the warping error of its "
                                                      "frames along the input's motion, beside a texture measure");
  cmd->add_option("input", args->input, "The original video")->required();
  cmd->add_option("output", args->output, "Its stylised version (same frames, any size)")->required();
  cmd->add_option("--frames", args->frames, "Compare at most this many frames (0: all)")
      ->capture_default_str()
      ->check(whole_number_in(0, 1e9));
  cmd->add_option("--style", args->style,
                  "The painting: also measure how far the frames are from it in style (VGG Gram matrices, the loss "
                  "Gatys minimises)");
  cmd->add_option("--samples", args->samples, "With --style: frames measured, spread over the video")
      ->capture_default_str()
      ->check(whole_number_in(1, 1000));
  cmd->add_option("--weights", args->weights, "With --style: the feature network (a name or .safetensors path)")
      ->capture_default_str();
  add_models_dir_flag(cmd, &args->models_dir);
  add_output_flags(cmd, &args->output_flags, "The measures as one JSON object on stdout", "Only errors");
  return [args] { return run_metrics(*args); };
}

}  // namespace atelier::cli
