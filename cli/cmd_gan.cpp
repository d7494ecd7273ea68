// `atelier gan`: the command, and its uses of a trained generator:
//   gan sample --model GAN -n 64 (--grid out.png | --out-dir DIR) [--seed S] [--truncation T]
//   gan walk   --model GAN --seeds 1,2,3 --frames 60 (-o walk.mp4 | --out-dir DIR)
// Sample i of seed S is the same picture whatever -n is.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "atelier/error.hpp"
#include "atelier/gan_tools.hpp"
#include "atelier/image.hpp"
#include "atelier/runtime.hpp"
#include "atelier/video_file.hpp"
#include "common_flags.hpp"
#include "gan_commands.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct GanUseArgs {
  std::string model, grid, out_dir, output, seeds = "0,1";
  int64_t count = 64, columns = 8, frames = 60, video_size = 256;
  uint64_t seed = 0;
  double truncation = 0, fps = 24;
  OutputFlags output_flags;
  RuntimeFlags runtime;
};

std::string numbered(const std::string& folder, const std::string& prefix, int64_t index) {
  char name[64];
  std::snprintf(name, sizeof name, "%s%05lld.png", prefix.c_str(), static_cast<long long>(index));
  return (fs::path(folder) / name).string();
}

void save_pictures(const std::vector<cv::Mat>& pictures, const std::string& folder, const std::string& prefix) {
  fs::create_directories(folder);
  for (size_t i = 0; i < pictures.size(); ++i) save_image(Image{pictures[i], {}}, numbered(folder, prefix, i));
}

// A grid is one picture held whole in memory; more than this go to --out-dir.
constexpr int64_t kMaxGridPictures = 4096;
// Pictures generated at once when writing a folder: each is written as soon
// as it is made, so memory does not grow with -n.
constexpr int64_t kSampleBatch = 16;

// What was written: a line on stderr, or one "done" event in JSON mode.
void report_done(const GanUseArgs& args, const std::string& message, const nlohmann::json& fields) {
  Progress progress(args.output_flags.mode());
  progress.event("done", fields);
  if (progress.mode() != OutputMode::Json) progress.info(message);
}

int run_sample(const GanUseArgs& args) {
  configure_runtime(args.runtime.threads);
  if (args.grid.empty() == args.out_dir.empty()) throw Error("give either --grid FILE or --out-dir DIR");
  if (!args.grid.empty() && args.count > kMaxGridPictures)
    throw Error("--grid holds every picture in one image: at most " + std::to_string(kMaxGridPictures) +
                " (-n " + std::to_string(args.count) + "); use --out-dir for more");
  if (!args.grid.empty()) check_can_save(args.grid);
  const GanSampler sampler(args.model, args.runtime.device);
  if (!args.grid.empty()) {
    save_image(Image{sampler.sample_grid(args.seed, args.count, args.columns, args.truncation), {}}, args.grid);
    report_done(args, "wrote " + args.grid, {{"grid", args.grid}, {"count", args.count}});
    return kExitOk;
  }
  fs::create_directories(args.out_dir);
  const std::string prefix = "seed" + std::to_string(args.seed) + "_";
  {
    Progress progress(args.output_flags.mode());
    progress.start(args.count, "pictures");
    for (int64_t first = 0; first < args.count; first += kSampleBatch) {
      const auto pictures = sampler.sample(args.seed, first, std::min(kSampleBatch, args.count - first), args.truncation);
      for (size_t i = 0; i < pictures.size(); ++i)
        save_image(Image{pictures[i], {}}, numbered(args.out_dir, prefix, first + static_cast<int64_t>(i)));
      progress.update(first + static_cast<int64_t>(pictures.size()), "pictures");
    }
    progress.finish();
  }
  report_done(args, "wrote " + std::to_string(args.count) + " pictures to " + args.out_dir,
              {{"out_dir", args.out_dir}, {"count", args.count}});
  return kExitOk;
}

std::vector<uint64_t> parse_seeds(const std::string& text) {
  const auto seeds = parse_number_list<uint64_t>(text, "--seeds", 0, kAnySeed);
  if (seeds.size() < 2) throw Error("--seeds: give at least two seeds to walk between");
  return seeds;
}

int run_walk(const GanUseArgs& args) {
  configure_runtime(args.runtime.threads);
  if (args.output.empty() == args.out_dir.empty()) throw Error("give either -o VIDEO or --out-dir DIR");
  const std::vector<uint64_t> seeds = parse_seeds(args.seeds);
  const bool video = !args.output.empty();
  if (video) video_codec_for(args.output);  // an unknown extension fails before any work
  const GanSampler sampler(args.model, args.runtime.device);
  const std::vector<cv::Mat> frames = sampler.walk(seeds, args.frames, args.truncation);

  if (!video) {
    save_pictures(frames, args.out_dir, "frame");
    report_done(args, "wrote " + std::to_string(args.frames) + " frames to " + args.out_dir,
                {{"out_dir", args.out_dir}, {"frames", args.frames}});
    return kExitOk;
  }
  const int side = static_cast<int>(args.video_size);
  VideoFile file(args.output, args.fps, {side, side});
  for (const cv::Mat& frame : frames) file.write(video_frame(frame, {side, side}));
  file.finish();
  report_done(args, "wrote " + args.output + " (" + std::to_string(args.frames) + " frames)",
              {{"output", args.output}, {"frames", args.frames}});
  return kExitOk;
}

void add_common(CLI::App* cmd, GanUseArgs* args) {
  cmd->add_option("--model,-m", args->model, "A generator written by gan train")->required();
  add_truncation_flag(cmd, &args->truncation, "Redraw latent entries beyond +-T (0: off; 0.5-1 trades variety for quality)");
  add_output_flags(cmd, &args->output_flags, "One JSON object on stdout", "No output but errors");
  add_threads_and_device_flags(cmd, &args->runtime);
}

// How the walk's video is encoded (with -o).
void add_video_options(CLI::App* walk, GanUseArgs* args) {
  walk->add_option("--fps", args->fps, "Video frame rate")->capture_default_str()->check(number_in(0.1, 1000));
  walk->add_option("--video-size", args->video_size, "Video frame side in pixels")->capture_default_str()->check(whole_number_in(16, 4096));
}

}  // namespace

void add_truncation_flag(CLI::App* command, double* truncation, const std::string& help) {
  command->add_option("--truncation", *truncation, help)
      ->capture_default_str()
      ->check(number_in(0, 100))
      ->check(CLI::Validator(
          [](std::string& text) {
            const double value = std::strtod(text.c_str(), nullptr);
            return value == 0 || value >= kMinTruncation ? std::string()
                                                         : text + " is too small: 0 (off) or at least 0.1";
          },
          ""));
}

Runner add_gan_command(CLI::App& app) {
  CLI::App* gan = app.add_subcommand("gan", "Paint new pictures with a GAN: train, sample, walk, eval");
  gan->require_subcommand(1);
  const Runner train = add_gan_train_command(gan);

  auto args = std::make_shared<GanUseArgs>();
  CLI::App* sample = gan->add_subcommand("sample", "New pictures from a trained generator");
  add_common(sample, args.get());
  sample->add_option("-n,--count", args->count, "How many")->capture_default_str()->check(whole_number_in(1, 10000000));
  sample->add_option("--grid", args->grid, "One picture with all of them");
  sample->add_option("--columns", args->columns, "Pictures per row of the grid")->capture_default_str()->check(whole_number_in(1, kMaxGridPictures));
  sample->add_option("--out-dir", args->out_dir, "A folder with one file each");
  sample->add_option("--seed", args->seed, "Which pictures (the same seed gives the same ones)")->capture_default_str()->check(whole_number_in(0, kAnySeed));

  CLI::App* walk = gan->add_subcommand("walk", "A smooth path through latent space (spherical interpolation) as frames or a video");
  add_common(walk, args.get());
  walk->add_option("--seeds", args->seeds, "Seeds to pass through, comma-separated")->capture_default_str();
  walk->add_option("--frames", args->frames, "Frames in all")->capture_default_str()->check(whole_number_in(2, 100000));
  walk->add_option("--output,-o", args->output, "A video (.mp4, .mov or .avi)");
  walk->add_option("--out-dir", args->out_dir, "A folder of numbered PNG frames");
  add_video_options(walk, args.get());

  const Runner eval = add_gan_eval_command(gan);
  return [=] {
    if (sample->parsed()) return run_sample(*args);
    if (walk->parsed()) return run_walk(*args);
    if (gan->get_subcommand("train")->parsed()) return train();
    return eval();
  };
}

}  // namespace atelier::cli
