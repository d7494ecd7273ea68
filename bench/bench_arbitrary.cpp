// Benchmark (not a test): arbitrary style transfer on the CPU with the real
// Magenta networks (../shared/models/magenta-arbitrary) painting amber.jpg,
// scaled to each size (longest side), in the manner of starry_night.jpg;
// with --adain DIR also AdaIN at relu4_1 (DIR/adain/vgg_normalised and
// decoder.safetensors: naoto0804's layout; the real weights are not in
// ../shared, and the time does not depend on their values).
//
// The style (Magenta's vector, AdaIN's statistics) is computed once, before
// the clock starts, as a batch or a video does; each timed run is one picture painted through the public
// painter (padding to a multiple of 4 and cropping back included). For each
// size and precision it prints milliseconds per image (the median of --runs
// after one warm-up) and the peak resident memory of a fresh process that
// did only that; and the PSNR of the bf16 output against fp32.
//
//   build/bench/bench_arbitrary [--sizes 512,1080] [--runs 5] [--threads T] [--adain DIR] [--json]
//
// bench/run_arbitrary.sh puts these beside the same computation in PyTorch
// eager (bench/arbitrary_reference.py). Prints "SKIPPED: ..." and exits 0
// when the weights or pictures in ../shared are absent.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "atelier/adain_style.hpp"
#include "atelier/arbitrary_style.hpp"
#include "atelier/image.hpp"
#include "atelier/runtime.hpp"
#include <torch/torch.h>
#include "bench_support.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kSharedDir = ATELIER_SHARED_DIR;
const std::string kPredictor = kSharedDir + "/models/magenta-arbitrary/style_predict.safetensors";
const std::string kTransfer = kSharedDir + "/models/magenta-arbitrary/style_transfer.safetensors";
const std::string kImage = kSharedDir + "/images/content/amber.jpg";
const std::string kStyle = kSharedDir + "/images/style/starry_night.jpg";

struct Args {
  std::vector<int> sizes = {512, 1080};
  int runs = 5;
  int threads = 0;
  bool json = false;
  std::string adain;  // a models folder with AdaIN's networks: adds AdaIN rows
  // Internal, for the child processes.
  std::string method = "magenta";
  int one_size = 0;
  std::string precision = "fp32";
  int psnr_size = 0;
};

struct Setup {
  atelier::MagentaPainter painter{kPredictor, kTransfer};
  atelier::StyleVector style;
  cv::Mat photo;  // CV_32FC3 RGB [0,1]
};

Setup load(int size) {
  Setup setup;
  setup.style = setup.painter.style_vector(atelier::load_image(kStyle).rgb);
  setup.photo = atelier::resize_longest_side(atelier::load_image(kImage), size).rgb;
  return setup;
}

// One picture painted by the method, its style computed once.
std::function<cv::Mat(atelier::Precision)> painter_for(const Args& args, const cv::Mat& photo) {
  if (args.method == "adain") {
    auto painter = std::make_shared<atelier::AdainPainter>(args.adain + "/adain/vgg_normalised.safetensors",
                                                           args.adain + "/adain/decoder.safetensors");
    const atelier::AdainStyle style = painter->style(atelier::load_image(kStyle).rgb);
    return [=](atelier::Precision precision) {
      atelier::AdainOptions options;
      options.precision = precision;
      return painter->paint(photo, {style}, options);
    };
  }
  auto setup = std::make_shared<Setup>(load(args.one_size > 0 ? args.one_size : args.psnr_size));
  return [=](atelier::Precision precision) { return setup->painter.paint(photo, setup->style, 1.0, precision); };
}

nlohmann::json measure_one(const Args& args) {
  atelier::configure_runtime(args.threads);
  const cv::Mat photo = atelier::resize_longest_side(atelier::load_image(kImage), args.one_size).rgb;
  const auto paint = painter_for(args, photo);
  const atelier::Precision precision = atelier::parse_precision(args.precision);
  paint(precision);  // warm-up: oneDNN picks its kernels
  std::vector<double> milliseconds;
  for (int run = 0; run < args.runs; ++run) {
    const auto start = Clock::now();
    paint(precision);
    milliseconds.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(milliseconds.begin(), milliseconds.end());
  return {{"method", args.method},
          {"size", args.one_size},
          {"width", photo.cols},
          {"height", photo.rows},
          {"precision", args.precision},
          {"threads", torch::get_num_threads()},
          {"ms_per_image", milliseconds[milliseconds.size() / 2]},
          {"peak_rss_mib", atelier::bench::peak_rss_mib()}};
}

nlohmann::json measure_psnr(const Args& args) {
  atelier::configure_runtime(args.threads);
  const cv::Mat photo = atelier::resize_longest_side(atelier::load_image(kImage), args.psnr_size).rgb;
  const auto paint = painter_for(args, photo);
  const cv::Mat exact = paint(atelier::Precision::F32), reduced = paint(atelier::Precision::BF16);
  return {{"method", args.method}, {"size", args.psnr_size}, {"psnr_bf16_db", cv::PSNR(exact, reduced, 1.0)}};
}

void run_all(const Args& args) {
  const std::string threads = std::to_string(args.threads), runs = std::to_string(args.runs);
  if (!args.json) std::printf("%8s %6s %10s %5s %10s %9s\n", "method", "size", "image", "prec", "ms/image", "peak MiB");
  std::vector<std::string> methods = {"magenta"};
  if (!args.adain.empty()) methods.push_back("adain");
  for (const std::string& method : methods) {
    for (int size : args.sizes) {
    const std::vector<std::string> common = {"--method", method, "--adain", args.adain, "--threads", threads};
    auto with = [&](std::vector<std::string> flags) {
      flags.insert(flags.end(), common.begin(), common.end());
      return flags;
    };
    for (const std::string precision : {"fp32", "bf16"}) {
      const auto row =
          atelier::bench::run_self(with({"--one-size", std::to_string(size), "--precision", precision, "--runs", runs}));
      if (args.json) {
        std::printf("%s\n", row.dump().c_str());
        continue;
      }
      const std::string image = std::to_string(row["width"].get<int>()) + "x" + std::to_string(row["height"].get<int>());
      std::printf("%8s %6d %10s %5s %10.1f %9.1f\n", method.c_str(), size, image.c_str(), precision.c_str(),
                  row["ms_per_image"].get<double>(), row["peak_rss_mib"].get<double>());
    }
    const auto psnr = atelier::bench::run_self(with({"--psnr-size", std::to_string(size)}));
    if (args.json)
      std::printf("%s\n", psnr.dump().c_str());
    else
      std::printf("%8s %6d  bf16 vs fp32 PSNR %.1f dB\n", method.c_str(), size, psnr["psnr_bf16_db"].get<double>());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"Atelier arbitrary style transfer benchmark (not a test)"};
  app.add_option("--sizes", args.sizes, "longest sides to measure")->delimiter(',')->check(CLI::Range(16, 8192));
  app.add_option("--runs", args.runs, "timed runs per configuration (after one warm-up)")->check(CLI::Range(1, 1000));
  app.add_option("--threads", args.threads, "torch threads (0: all hardware threads)")->check(CLI::Range(0, 256));
  app.add_flag("--json", args.json, "one JSON object per line");
  app.add_option("--adain", args.adain, "also AdaIN: a models folder holding adain/vgg_normalised and adain/decoder");
  app.add_option("--method", args.method)->group("");
  app.add_option("--one-size", args.one_size)->group("");  // internal: the child processes
  app.add_option("--precision", args.precision)->group("");
  app.add_option("--psnr-size", args.psnr_size)->group("");
  CLI11_PARSE(app, argc, argv);
  if (atelier::bench::report_missing({kPredictor, kTransfer, kImage, kStyle})) return 0;
  return atelier::bench::guarded("bench_arbitrary", [&] {
    if (args.one_size > 0) {
      std::printf("%s\n", measure_one(args).dump().c_str());
    } else if (args.psnr_size > 0) {
      std::printf("%s\n", measure_psnr(args).dump().c_str());
    } else {
      run_all(args);
    }
  });
}
