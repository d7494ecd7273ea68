// Benchmark (not a test): style-network training steps per second at 256 px,
// batch 4, fp32 against bf16, with the shared VGG19 (../shared/models/
// vgg19-caffe-partial.safetensors) and the shared photos; each precision in
// a fresh process (its own peak memory), after warm-up steps.
//
//   build/bench/bench_train_style [--steps 8] [--warmup 2] [--threads T] [--json]
//
// Prints "SKIPPED: ..." and exits 0 when the shared data is absent.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "atelier/image.hpp"
#include "train/style_training.hpp"
#include "models/vgg.hpp"
#include "bench_support.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kShared = ATELIER_SHARED_DIR;
const std::string kVgg = kShared + "/models/vgg19-caffe-partial.safetensors";
const std::string kStyle = kShared + "/images/style/starry_night.jpg";
const std::string kPhotos = kShared + "/images/content";

struct Args {
  int steps = 8, warmup = 2, threads = 0;
  bool json = false;
  std::string precision;  // internal: the child measuring one precision
};

nlohmann::json measure(const Args& args) {
  atelier::configure_runtime(args.threads);
  const auto features = atelier::VggFeatures::load(kVgg, std::nullopt, atelier::Pooling::Max);
  atelier::StyleTrainingOptions options;
  options.precision = atelier::parse_precision(args.precision);
  atelier::ProcessGroup single(atelier::DistributedOptions{});
  atelier::StyleTrainer trainer(features, atelier::load_image(kStyle).rgb, options, single);
  atelier::LoaderOptions loader_options;  // batch 4, 256 px, centre crops
  atelier::BatchLoader loader(atelier::list_training_images(kPhotos), loader_options);
  for (int step = 0; step < args.warmup; ++step) trainer.step(loader.batch(step));
  const auto start = std::chrono::steady_clock::now();
  for (int step = args.warmup; step < args.warmup + args.steps; ++step) trainer.step(loader.batch(step));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"precision", args.precision}, {"steps_per_second", args.steps / seconds},
          {"threads", torch::get_num_threads()}, {"peak_rss_mib", atelier::bench::peak_rss_mib()}};
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"Atelier style-training benchmark (not a test)"};
  app.add_option("--steps", args.steps, "timed steps per precision")->check(CLI::PositiveNumber);
  app.add_option("--warmup", args.warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", args.threads, "torch threads (0: all hardware threads)");
  app.add_flag("--json", args.json, "one JSON object per line");
  app.add_option("--precision", args.precision)->group("");
  CLI11_PARSE(app, argc, argv);
  for (const std::string& path : {kVgg, kStyle, kPhotos}) {
    if (!fs::exists(path)) {
      std::printf("SKIPPED: %s absent (the benchmark needs the real data in ../shared)\n", path.c_str());
      return 0;
    }
  }
  try {
    if (!args.precision.empty()) {
      std::printf("%s\n", measure(args).dump().c_str());
      return 0;
    }
    std::vector<nlohmann::json> rows;
    for (const char* precision : {"fp32", "bf16"})
      rows.push_back(atelier::bench::run_self({"--precision", precision, "--steps", std::to_string(args.steps), "--warmup",
                                               std::to_string(args.warmup), "--threads", std::to_string(args.threads)}));
    if (args.json) {
      for (const auto& row : rows) std::printf("%s\n", row.dump().c_str());
      return 0;
    }
    std::printf("style training, 256 px, batch 4, VGG19 to relu3_3 (shared), %d threads\n", rows[0]["threads"].get<int>());
    for (const auto& row : rows)
      std::printf("%5s  %6.3f steps/s  %7.0f MiB peak\n", row["precision"].get<std::string>().c_str(),
                  row["steps_per_second"].get<double>(), row["peak_rss_mib"].get<double>());
    std::printf("bf16 / fp32: %.2fx the steps per second\n",
                rows[1]["steps_per_second"].get<double>() / rows[0]["steps_per_second"].get<double>());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_train_style: %s\n", error.what());
    return 1;
  }
  return 0;
}
