// atelier video-metrics IN OUT: how much a stylised video flickers. The
// warping error of Lai et al. 2018 (each output frame against the next one
// warped back along the input's optical flow, over the pixels the flow
// follows), the same without warping, and a texture measure to see that the
// style has not been smoothed away (docs/VIDEO.md).
#include <cstdio>

#include "atelier/temporal.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "progress.hpp"

namespace atelier::cli {
namespace {

struct MetricsArgs {
  std::string input, output;
  long long frames = 0;
  OutputFlags output_flags;
};

int run_metrics(const MetricsArgs& args) {
  Progress progress(args.output_flags.json ? OutputMode::Quiet : args.output_flags.mode());
  progress.start(args.frames, "frames");
  const FlickerMeasure measure = measure_flicker(args.input, args.output, args.frames, [&](long long done) {
    progress.update(done, "frame " + std::to_string(done));
  });
  progress.finish();
  if (args.output_flags.json) {
    const nlohmann::json out = {{"frames", measure.frames},
                                {"warping_error", measure.warping_error},
                                {"frame_change", measure.frame_change},
                                {"texture", measure.texture},
                                {"reliable_fraction", measure.reliable_fraction}};
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  if (args.output_flags.quiet) return kExitOk;
  std::printf("frames compared   %lld\nwarping error     %.6f  (Lai et al. 2018; lower flickers less)\n"
              "frame change      %.6f  (the same without following the motion)\ntexture           %.4f  "
              "(mean gradient of the output: the style's strokes)\nflow followed     %.1f%% of the pixels\n",
              measure.frames, measure.warping_error, measure.frame_change, measure.texture,
              100.0 * measure.reliable_fraction);
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
  add_output_flags(cmd, &args->output_flags, "The measures as one JSON object on stdout", "Only errors");
  return [args] { return run_metrics(*args); };
}

}  // namespace atelier::cli
