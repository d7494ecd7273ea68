// Benchmark (not a test): GAN training steps per second (one D and one G
// update each) at 32 and 64 px, fp32 against bf16, batch 64 and 32, on
// random real images (data loading is not what is measured); each
// configuration in a fresh process (its own peak memory), after warm-up.
//
//   build/bench/bench_gan [--steps 10] [--warmup 2] [--threads T] [--width 32] [--json]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "gan/gan_training.hpp"
#include "bench_support.hpp"

namespace {

struct Args {
  int steps = 10, warmup = 2, threads = 0;
  int64_t width = 32, size = 0;
  bool json = false;
  std::string precision;  // internal: the child measuring one configuration
};

int64_t batch_for(int64_t size) { return size <= 32 ? 64 : 32; }

nlohmann::json measure(const Args& args) {
  atelier::configure_runtime(args.threads);
  atelier::GanArchitecture architecture;
  architecture.image_size = args.size;
  architecture.channels = 3;
  architecture.g_width = architecture.d_width = args.width;
  atelier::GanTrainingOptions options;
  options.precision = atelier::parse_precision(args.precision);
  options.augment = atelier::parse_augment_policy("color,translation,cutout");
  atelier::ProcessGroup single(atelier::DistributedOptions{});
  atelier::GanTrainer trainer(architecture, options, single);
  torch::manual_seed(0);
  const auto reals = torch::rand({batch_for(args.size), 3, args.size, args.size}) * 2 - 1;
  for (int step = 0; step < args.warmup; ++step) trainer.step(reals);
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < args.steps; ++step) trainer.step(reals);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"size", args.size}, {"batch", batch_for(args.size)}, {"precision", args.precision},
          {"steps_per_second", args.steps / seconds}, {"threads", torch::get_num_threads()},
          {"peak_rss_mib", atelier::bench::peak_rss_mib()}};
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"Atelier GAN-training benchmark (not a test)"};
  app.add_option("--steps", args.steps, "timed steps per configuration")->check(CLI::PositiveNumber);
  app.add_option("--warmup", args.warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", args.threads, "torch threads (0: all hardware threads)");
  app.add_option("--width", args.width, "generator and discriminator width")->check(CLI::PositiveNumber);
  app.add_flag("--json", args.json, "one JSON object per line");
  app.add_option("--precision", args.precision)->group("");
  app.add_option("--size", args.size)->group("");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!args.precision.empty()) {
      std::printf("%s\n", measure(args).dump().c_str());
      return 0;
    }
    std::vector<nlohmann::json> rows;
    for (const char* size : {"32", "64"})
      for (const char* precision : {"fp32", "bf16"})
        rows.push_back(atelier::bench::run_self({"--precision", precision, "--size", size, "--steps",
                                                 std::to_string(args.steps), "--warmup", std::to_string(args.warmup),
                                                 "--threads", std::to_string(args.threads), "--width",
                                                 std::to_string(args.width)}));
    if (args.json) {
      for (const auto& row : rows) std::printf("%s\n", row.dump().c_str());
      return 0;
    }
    std::printf("GAN training (width %lld, DiffAugment on, R1 off), %d threads\n", static_cast<long long>(args.width),
                rows[0]["threads"].get<int>());
    for (size_t i = 0; i < rows.size(); i += 2) {
      for (size_t j = i; j < i + 2; ++j)
        std::printf("%3lld px batch %2lld %5s  %6.3f steps/s  %7.0f MiB peak\n",
                    static_cast<long long>(rows[j]["size"].get<int64_t>()),
                    static_cast<long long>(rows[j]["batch"].get<int64_t>()), rows[j]["precision"].get<std::string>().c_str(),
                    rows[j]["steps_per_second"].get<double>(), rows[j]["peak_rss_mib"].get<double>());
      std::printf("%3lld px: bf16 / fp32 = %.2fx the steps per second\n",
                  static_cast<long long>(rows[i]["size"].get<int64_t>()),
                  rows[i + 1]["steps_per_second"].get<double>() / rows[i]["steps_per_second"].get<double>());
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_gan: %s\n", error.what());
    return 1;
  }
  return 0;
}
