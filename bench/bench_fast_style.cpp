// Benchmark (not a test): feed-forward stylisation on the CPU with a real
// pytorch/examples network (../shared/models/fast-style/pytorch-examples/
// udnie.safetensors) on amber.jpg scaled to each size (longest side).
//
// For each size and configuration (fp32 or bf16, contiguous or
// channels-last) it prints milliseconds per image (the median of --runs
// after one warm-up run) and the peak resident memory of a fresh process
// that did only that; and the PSNR of the bf16 output against fp32.
//
//   build/bench/bench_fast_style [--sizes 512,1080] [--runs 5] [--threads T] [--tiled-size 4000] [--json]
//
// bench/run_fast_style.sh puts these beside the same network in PyTorch eager
// (bench/fast_style_reference.py). Prints "SKIPPED: ..." and exits 0 when the
// model or image in ../shared is absent.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "atelier/error.hpp"
#include "models/fast_style.hpp"
#include "atelier/image.hpp"
#include "torch/tensor_image.hpp"
#include "bench_support.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kSharedDir = ATELIER_SHARED_DIR;
const std::string kModel = kSharedDir + "/models/fast-style/pytorch-examples/udnie.safetensors";
const std::string kImage = kSharedDir + "/images/content/amber.jpg";

struct Args {
  std::vector<int> sizes = {512, 1080};
  int tiled_size = 0;  // > 0: also this size whole vs in 1024 px tiles (bf16)
  int runs = 5;
  int threads = 0;
  bool json = false;
  // Internal, for the child processes.
  int one_size = 0;
  std::string precision = "fp32";
  bool channels_last = false;
  int tile = 0;  // > 0: stylize_image_tiled with tiles of this side
  int psnr_size = 0;
};

struct Setup {
  atelier::FastStyleNetwork network;
  torch::Tensor image;  // [1,3,H,W] RGB 0..255
};

Setup load(int size, const Args& args) {
  atelier::configure_runtime(args.threads);
  Setup setup{atelier::load_fast_style_network(kModel),
              atelier::image_to_tensor(atelier::resize_longest_side(atelier::load_image(kImage), size).rgb) * 255.0};
  setup.network.set_channels_last(args.channels_last);
  return setup;
}

torch::Tensor stylize(const Setup& setup, atelier::Precision precision, int tile = 0) {
  if (tile > 0) {
    const cv::Mat rgb = atelier::tensor_to_image(setup.image / 255.0);
    return atelier::image_to_tensor(atelier::stylize_image_tiled(setup.network, rgb, tile, precision)) * 255.0;
  }
  torch::InferenceMode inference;
  atelier::AutocastScope autocast(precision, torch::kCPU);
  return setup.network.forward(setup.image).to(torch::kFloat32);
}

nlohmann::json measure_one(const Args& args) {
  const Setup setup = load(args.one_size, args);
  const atelier::Precision precision = atelier::parse_precision(args.precision);
  stylize(setup, precision, args.tile);  // warm-up: oneDNN picks and caches its kernels
  std::vector<double> milliseconds;
  for (int run = 0; run < args.runs; ++run) {
    const auto start = Clock::now();
    stylize(setup, precision, args.tile);
    milliseconds.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(milliseconds.begin(), milliseconds.end());
  return {{"size", args.one_size},
          {"width", setup.image.size(3)},
          {"height", setup.image.size(2)},
          {"precision", args.precision},
          {"channels_last", args.channels_last},
          {"tile", args.tile},
          {"threads", torch::get_num_threads()},
          {"ms_per_image", milliseconds[milliseconds.size() / 2]},
          {"peak_rss_mib", atelier::bench::peak_rss_mib()}};
}

nlohmann::json measure_psnr(const Args& args) {
  const Setup setup = load(args.psnr_size, args);
  const auto exact = stylize(setup, atelier::Precision::F32);
  const auto reduced = stylize(setup, atelier::Precision::BF16);
  const double mse = (exact - reduced).pow(2).mean().item<double>();
  return {{"size", args.psnr_size}, {"psnr_bf16_db", 10.0 * std::log10(255.0 * 255.0 / std::max(mse, 1e-12))}};
}

void run_all(const Args& args) {
  const std::string threads = std::to_string(args.threads), runs = std::to_string(args.runs);
  if (!args.json) std::printf("%6s %10s %5s %3s %10s %9s\n", "size", "image", "prec", "CL", "ms/image", "peak MiB");
  for (int size : args.sizes) {
    for (const std::string precision : {"fp32", "bf16"}) {
      for (bool channels_last : {false, true}) {
        std::vector<std::string> child = {"--one-size", std::to_string(size), "--precision", precision,
                                          "--runs", runs, "--threads", threads};
        if (channels_last) child.push_back("--channels-last");
        const auto row = atelier::bench::run_self(child);
        if (args.json) {
          std::printf("%s\n", row.dump().c_str());
          continue;
        }
        const std::string image = std::to_string(row["width"].get<int>()) + "x" + std::to_string(row["height"].get<int>());
        std::printf("%6d %10s %5s %3s %10.1f %9.1f\n", size, image.c_str(), precision.c_str(),
                    channels_last ? "yes" : "no", row["ms_per_image"].get<double>(), row["peak_rss_mib"].get<double>());
      }
    }
    const auto psnr = atelier::bench::run_self({"--psnr-size", std::to_string(size), "--threads", threads});
    if (args.json)
      std::printf("%s\n", psnr.dump().c_str());
    else
      std::printf("%6d  bf16 vs fp32 PSNR %.1f dB\n", size, psnr["psnr_bf16_db"].get<double>());
  }
  if (args.tiled_size <= 0) return;
  for (const int tile : {0, 1024}) {
    auto row = atelier::bench::run_self({"--one-size", std::to_string(args.tiled_size), "--precision", "bf16", "--runs",
                                         "1", "--threads", threads, "--tile", std::to_string(tile), "--channels-last"});
    row["tiled_comparison"] = true;
    if (args.json)
      std::printf("%s\n", row.dump().c_str());
    else
      std::printf("%6d %s: %.0f ms, peak %.0f MiB\n", args.tiled_size, tile ? "tiles of 1024" : "whole",
                  row["ms_per_image"].get<double>(), row["peak_rss_mib"].get<double>());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"Atelier feed-forward stylisation benchmark (not a test)"};
  app.add_option("--sizes", args.sizes, "longest sides to measure")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--tiled-size", args.tiled_size, "also this longest side whole vs in 1024 px tiles (bf16)");
  app.add_option("--runs", args.runs, "timed runs per configuration (after one warm-up)")->check(CLI::Range(1, 1000));
  app.add_option("--threads", args.threads, "torch threads (0: all hardware threads)");
  app.add_flag("--json", args.json, "one JSON object per line");
  app.add_option("--one-size", args.one_size)->group("");  // internal: the child processes
  app.add_option("--precision", args.precision)->group("");
  app.add_flag("--channels-last", args.channels_last)->group("");
  app.add_option("--tile", args.tile)->group("");
  app.add_option("--psnr-size", args.psnr_size)->group("");
  CLI11_PARSE(app, argc, argv);
  if (atelier::bench::report_missing({kModel, kImage})) return 0;
  return atelier::bench::guarded("bench_fast_style", [&] {
    if (args.one_size > 0) {
      std::printf("%s\n", measure_one(args).dump().c_str());
    } else if (args.psnr_size > 0) {
      std::printf("%s\n", measure_psnr(args).dump().c_str());
    } else {
      run_all(args);
    }
  });
}
