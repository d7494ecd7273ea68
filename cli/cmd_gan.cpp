// `atelier gan`: the command, and its uses of a trained generator:
//   gan sample --model GAN -n 64 (--grid out.png | --out-dir DIR) [--seed S] [--truncation T]
//   gan walk   --model GAN --seeds 1,2,3 --frames 60 (-o walk.mp4 | --out-dir DIR)
// Sample i of seed S is the same picture whatever -n is.
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "atelier/error.hpp"
#include "atelier/gan.hpp"
#include "atelier/image.hpp"
#include "atelier/tensor_image.hpp"
#include "gan_commands.hpp"
#include "video_file.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct GanUseArgs {
  std::string model, grid, out_dir, output, seeds = "0,1";
  int64_t count = 64, columns = 8, frames = 60, video_size = 256;
  uint64_t seed = 0;
  double truncation = 0, fps = 24;
  bool json = false, quiet = false;
  int threads = 0;
  std::string device = "cpu";
};

cv::Mat to_rgb_picture(const torch::Tensor& image) {
  const auto rgb = image.size(1) == 1 ? image.repeat({1, 3, 1, 1}) : image;
  return tensor_to_image(rgb);
}

std::string numbered(const std::string& folder, const std::string& prefix, int64_t index) {
  char name[64];
  std::snprintf(name, sizeof name, "%s%05lld.png", prefix.c_str(), static_cast<long long>(index));
  return (fs::path(folder) / name).string();
}

void say(const GanUseArgs& args, const std::string& message, const nlohmann::json& fields) {
  if (args.json) {
    nlohmann::json event = fields;
    event["event"] = "done";
    std::cout << event.dump() << std::endl;
  } else if (!args.quiet) {
    std::cerr << message << std::endl;
  }
}

int run_sample(const GanUseArgs& args) {
  configure_runtime(args.threads);
  if (args.grid.empty() == args.out_dir.empty()) throw Error("give either --grid FILE or --out-dir DIR");
  if (args.count < 1) throw Error("-n must be at least 1");
  if (!args.grid.empty()) check_can_save(args.grid);
  const GanGenerator generator = GanGenerator::load(args.model, parse_device(args.device));
  const auto latents = latents_for(args.seed, 0, args.count, generator.architecture().latent_dim, args.truncation);
  const auto images = generator.generate(latents);
  if (!args.grid.empty()) {
    save_picture(image_grid(images, args.columns), args.grid);
    say(args, "wrote " + args.grid, {{"grid", args.grid}, {"count", args.count}});
    return kExitOk;
  }
  fs::create_directories(args.out_dir);
  const std::string prefix = "seed" + std::to_string(args.seed) + "_";
  for (int64_t i = 0; i < args.count; ++i) save_picture(images.narrow(0, i, 1), numbered(args.out_dir, prefix, i));
  say(args, "wrote " + std::to_string(args.count) + " pictures to " + args.out_dir,
      {{"out_dir", args.out_dir}, {"count", args.count}});
  return kExitOk;
}

std::vector<uint64_t> parse_seeds(const std::string& text) {
  std::vector<uint64_t> seeds;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    try {
      size_t used = 0;
      seeds.push_back(std::stoull(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error("--seeds: \"" + item + "\" is not a seed (comma-separated whole numbers)");
    }
  }
  if (seeds.size() < 2) throw Error("--seeds: give at least two seeds to walk between");
  return seeds;
}

int run_walk(const GanUseArgs& args) {
  configure_runtime(args.threads);
  if (args.output.empty() == args.out_dir.empty()) throw Error("give either -o VIDEO or --out-dir DIR");
  if (args.frames < 2) throw Error("--frames must be at least 2");
  const std::vector<uint64_t> seeds = parse_seeds(args.seeds);
  const bool video = !args.output.empty();
  if (video) fourcc_for(args.output);  // an unknown extension fails before any work
  const GanGenerator generator = GanGenerator::load(args.model, parse_device(args.device));
  const int64_t dim = generator.architecture().latent_dim;

  // Frame f sits at f/(frames-1) of the way along the path through the seeds.
  std::vector<torch::Tensor> latents;
  const int64_t segments = static_cast<int64_t>(seeds.size()) - 1;
  for (int64_t f = 0; f < args.frames; ++f) {
    const double position = static_cast<double>(f) * segments / static_cast<double>(args.frames - 1);
    const int64_t segment = std::min<int64_t>(static_cast<int64_t>(position), segments - 1);
    latents.push_back(slerp(latent_for(seeds[segment], 0, dim, args.truncation),
                            latent_for(seeds[segment + 1], 0, dim, args.truncation), position - segment));
  }
  const auto images = generator.generate(torch::stack(latents));

  if (!video) {
    fs::create_directories(args.out_dir);
    for (int64_t f = 0; f < args.frames; ++f) save_picture(images.narrow(0, f, 1), numbered(args.out_dir, "frame", f));
    say(args, "wrote " + std::to_string(args.frames) + " frames to " + args.out_dir,
        {{"out_dir", args.out_dir}, {"frames", args.frames}});
    return kExitOk;
  }
  const int side = static_cast<int>(args.video_size);
  VideoFile file(args.output, args.fps, {side, side});
  for (int64_t f = 0; f < args.frames; ++f) {
    cv::Mat rgb = to_rgb_picture(images.narrow(0, f, 1)), bgr8;
    cv::resize(rgb, rgb, {side, side}, 0, 0, cv::INTER_CUBIC);
    rgb.convertTo(bgr8, CV_8UC3, 255.0);
    cv::cvtColor(bgr8, bgr8, cv::COLOR_RGB2BGR);
    file.write(bgr8);
  }
  file.finish();
  say(args, "wrote " + args.output + " (" + std::to_string(args.frames) + " frames)",
      {{"output", args.output}, {"frames", args.frames}});
  return kExitOk;
}

void add_common(CLI::App* cmd, GanUseArgs* args) {
  cmd->add_option("--model,-m", args->model, "A generator written by gan train")->required();
  cmd->add_option("--truncation", args->truncation, "Redraw latent entries beyond +-T (0: off; 0.5-1 trades variety for quality)")->capture_default_str();
  cmd->add_flag("--json", args->json, "One JSON object on stdout");
  cmd->add_flag("--quiet,-q", args->quiet, "No output but errors");
  cmd->add_option("--threads", args->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
}

}  // namespace

void save_picture(const torch::Tensor& image, const std::string& path) { save_image(Image{to_rgb_picture(image), {}}, path); }

Runner add_gan_command(CLI::App& app) {
  CLI::App* gan = app.add_subcommand("gan", "Paint new pictures with a GAN: train, sample, walk, eval");
  gan->require_subcommand(1);
  const Runner train = add_gan_train_command(gan);

  auto args = std::make_shared<GanUseArgs>();
  CLI::App* sample = gan->add_subcommand("sample", "New pictures from a trained generator");
  add_common(sample, args.get());
  sample->add_option("-n,--count", args->count, "How many")->capture_default_str();
  sample->add_option("--grid", args->grid, "One picture with all of them");
  sample->add_option("--columns", args->columns, "Pictures per row of the grid")->capture_default_str()->check(CLI::PositiveNumber);
  sample->add_option("--out-dir", args->out_dir, "A folder with one file each");
  sample->add_option("--seed", args->seed, "Which pictures (the same seed gives the same ones)")->capture_default_str();

  CLI::App* walk = gan->add_subcommand("walk", "A smooth path through latent space (spherical interpolation) as frames or a video");
  add_common(walk, args.get());
  walk->add_option("--seeds", args->seeds, "Seeds to pass through, comma-separated")->capture_default_str();
  walk->add_option("--frames", args->frames, "Frames in all")->capture_default_str();
  walk->add_option("--output,-o", args->output, "A video (.mp4, .mov or .avi)");
  walk->add_option("--out-dir", args->out_dir, "A folder of numbered PNG frames");
  walk->add_option("--fps", args->fps, "Video frame rate")->capture_default_str()->check(CLI::PositiveNumber);
  walk->add_option("--video-size", args->video_size, "Video frame side in pixels")->capture_default_str()->check(CLI::Range(16, 4096));

  const Runner eval = add_gan_eval_command(gan);
  return [=] {
    if (sample->parsed()) return run_sample(*args);
    if (walk->parsed()) return run_walk(*args);
    if (gan->get_subcommand("train")->parsed()) return train();
    return eval();
  };
}

}  // namespace atelier::cli
