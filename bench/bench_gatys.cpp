// Benchmark (not a test): Gatys style transfer with L-BFGS on the CPU, the
// real Caffe VGG19 (../shared/models/vgg19-caffe-partial.safetensors),
// tubingen.jpg in the style of starry_night.jpg, content layer relu3_2 and
// style layers relu1_1, relu2_1, relu3_1 (what the partial weights hold).
//
// For each size (longest side in pixels) it prints
//   - seconds per L-BFGS iteration (one loss evaluation each), timed from the
//     end of iteration 2 to the end of the last, so start-up is left out;
//   - peak resident memory (VmHWM) of a process that did only that size:
//     each size runs in a fresh child (this binary re-run with --one-size).
//
//   build/bench/bench_gatys [--sizes 256,512] [--iterations 20] [--threads T] [--json]
//
// With --json each size is one JSON object per line. bench/run_gatys.sh
// compares these numbers with the same computation in PyTorch eager
// (bench/gatys_reference.py). Prints "SKIPPED: ..." and exits 0 when the
// weights or images in ../shared are absent.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "atelier/error.hpp"
#include "stylize/gatys.hpp"
#include "atelier/image.hpp"
#include "torch/tensor_image.hpp"
#include "bench_support.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kSharedDir = ATELIER_SHARED_DIR;
const std::string kContent = "images/content/tubingen.jpg";
const std::string kStyle = "images/style/starry_night.jpg";
const std::string kWeights = "models/vgg19-caffe-partial.safetensors";

struct Args {
  std::string weights = kSharedDir + "/" + kWeights;
  std::vector<int> sizes = {256, 512};
  int iterations = 20;
  int threads = 0;  // 0: all hardware threads
  std::string precision = "fp32";
  std::string layout = "channels-last";  // the library's default on the CPU; nchw to see what it is worth
  std::string conv = "winograd";         // the library's default where oneDNN has it; direct to see what it is worth
  bool json = false;
  int one_size = 0;  // internal: measure this size only, print one JSON line
};

// Runs one size in this process and returns its measurements.
nlohmann::json measure(const Args& args, int size) {
  atelier::configure_runtime(args.threads);
  auto network = atelier::VggFeatures::load(args.weights, std::nullopt, atelier::Pooling::Max);
  network.set_channels_last(args.layout == "channels-last");
  network.set_winograd(args.conv == "winograd");
  const auto load = [&](const std::string& relative) {
    return atelier::resize_longest_side(atelier::load_image(kSharedDir + "/" + relative), size).rgb;
  };
  const cv::Mat content = load(kContent);
  const cv::Mat style = load(kStyle);

  atelier::GatysOptions options;
  options.content_layers = {"relu3_2"};
  options.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
  options.optimizer = atelier::GatysOptions::Optimizer::LBFGS;
  options.iterations = args.iterations;
  options.precision = atelier::parse_precision(args.precision);

  std::vector<Clock::time_point> ends;  // end of each iteration (loss and gradient done)
  atelier::GatysCallbacks callbacks;
  callbacks.on_progress = [&](const atelier::GatysProgress&) { ends.push_back(Clock::now()); };
  const auto result = atelier::stylize_gatys(network, content, {style}, options, callbacks);
  if (!result.finite) throw atelier::Error(result.message);
  if (ends.size() < 3) throw atelier::Error("fewer than 3 iterations ran");

  const double timed = std::chrono::duration<double>(ends.back() - ends[1]).count();
  return {{"implementation", "atelier"},
          {"precision", args.precision},
          {"layout", args.layout},
          {"conv", network.winograd() ? "winograd" : "direct"},
          {"size", size},
          {"width", content.cols},
          {"height", content.rows},
          {"iterations", static_cast<int>(ends.size())},
          {"threads", torch::get_num_threads()},
          {"seconds_per_iteration", timed / static_cast<double>(ends.size() - 2)},
          {"peak_rss_mib", atelier::bench::peak_rss_mib()},
          {"first_loss", result.first_loss},
          {"final_loss", result.final_loss}};
}

// Measures one size in a fresh child (this binary with --one-size), so that
// its peak memory belongs to that size alone.
nlohmann::json measure_in_child(const Args& args, int size) {
  return atelier::bench::run_self({"--one-size", std::to_string(size), "--weights", args.weights, "--iterations",
                                   std::to_string(args.iterations), "--threads", std::to_string(args.threads),
                                   "--precision", args.precision, "--layout", args.layout, "--conv", args.conv});
}

void print_table(const std::vector<nlohmann::json>& rows, const Args& args) {
  std::printf("Atelier Gatys, L-BFGS, content relu3_2, style relu1_1,relu2_1,relu3_1\n");
  std::printf("%d iterations (timed from the 3rd), %d threads, %s\n", args.iterations,
              rows.front()["threads"].get<int>(), args.weights.c_str());
  std::printf("%6s  %9s  %8s  %12s\n", "size", "image", "s/iter", "peak RSS MiB");
  for (const auto& row : rows) {
    const std::string image = std::to_string(row["width"].get<int>()) + "x" + std::to_string(row["height"].get<int>());
    std::printf("%6d  %9s  %8.3f  %12.1f\n", row["size"].get<int>(), image.c_str(),
                row["seconds_per_iteration"].get<double>(), row["peak_rss_mib"].get<double>());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"Benchmark of Gatys style transfer: seconds per iteration and peak memory"};
  app.add_option("--weights", args.weights, "VGG19 safetensors (default: the shared Caffe VGG19)");
  app.add_option("--sizes", args.sizes, "longest sides to measure")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--iterations", args.iterations, "L-BFGS iterations per size (at least 3)")
      ->check(CLI::Range(3, 1000000));
  app.add_option("--threads", args.threads, "torch threads (0: all hardware threads)");
  app.add_option("--precision", args.precision, "fp32 or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--layout", args.layout, "channels-last (the default on the CPU) or nchw")
      ->check(CLI::IsMember({"channels-last", "nchw"}));
  app.add_option("--conv", args.conv, "winograd (the default where oneDNN has it on this CPU) or direct")
      ->check(CLI::IsMember({"winograd", "direct"}));
  app.add_flag("--json", args.json, "one JSON object per size and line");
  app.add_option("--one-size", args.one_size)->group("");  // internal, used by the child processes
  CLI11_PARSE(app, argc, argv);

  try {
    if (args.one_size > 0) {
      std::cout << measure(args, args.one_size).dump() << std::endl;
      return 0;
    }
    if (app.count("--weights") > 0 && !fs::exists(args.weights)) throw atelier::Error(args.weights + " not found");
    for (const auto& path : {args.weights, kSharedDir + "/" + kContent, kSharedDir + "/" + kStyle}) {
      if (!fs::exists(path)) {
        std::printf("SKIPPED: %s absent (the benchmark needs the real data in ../shared)\n", path.c_str());
        return 0;
      }
    }
    std::vector<nlohmann::json> rows;
    for (int size : args.sizes) {
      rows.push_back(measure_in_child(args, size));
      if (args.json) std::cout << rows.back().dump() << std::endl;
    }
    if (!args.json) print_table(rows, args);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_gatys: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
