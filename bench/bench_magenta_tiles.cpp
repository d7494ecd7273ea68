// Benchmark (not a test): Magenta's transfer network on a large picture,
// whole and in tiles (issue 14, acceptance 5), with the real networks from
// ../shared/models/magenta-arbitrary and starry_night.jpg as the style on a
// picture of four shared photos (so that tiles differ a lot).
//
// Each pass runs in a fresh child process, so that its peak resident memory
// is its own; a "base" child loads everything and paints nothing. It prints
// per size: milliseconds, peak MiB, and (peak - base) / pixels, the bytes a
// pixel that plan_magenta_tiling's costs (src/pipeline/arbitrary_style.cpp)
// come from. Then the acceptance check: --budget (default 2G), the tile
// plan_magenta_tiling picks for it, the tiled pass through MagentaPainter
// within that budget, its peak, and its PSNR against the whole pass.
//
//   build/bench/bench_magenta_tiles [--sizes 2000x1500,4000x3000] [--tile 1024] [--budget 2G]
//                                   [--precision fp32] [--threads T] [--json]
//
// Prints "SKIPPED: ..." and exits 0 when ../shared is absent.
#include <CLI/CLI.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "atelier/arbitrary_style.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "bench_support.hpp"
#include "models/magenta.hpp"
#include "torch/tensor_image.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kSharedDir = ATELIER_SHARED_DIR;
const std::string kPredict = kSharedDir + "/models/magenta-arbitrary/style_predict.safetensors";
const std::string kTransfer = kSharedDir + "/models/magenta-arbitrary/style_transfer.safetensors";
const std::string kStyle = kSharedDir + "/images/style/starry_night.jpg";
const std::vector<std::string> kPhotos = {"tubingen.jpg", "golden_gate.jpg", "stata.jpg", "amber.jpg"};

struct Args {
  std::vector<std::string> sizes = {"2000x1500", "4000x3000"};
  int tile = 1024;
  std::string budget = "2G";
  std::string precision = "fp32";
  int threads = 0;
  bool json = false;
  // Internal, for the child processes.
  std::string pass;  // base | whole | tiles (stylize_tiled, --tile) | budget (MagentaPainter within --budget)
  std::string size;
  std::string output;
};

cv::Size parse_size(const std::string& text) {
  int width = 0, height = 0;
  if (std::sscanf(text.c_str(), "%dx%d", &width, &height) != 2 || width < 64 || height < 64 || width % 4 || height % 4)
    throw atelier::Error("--sizes: WIDTHxHEIGHT, multiples of 4 and at least 64, not " + text);
  return {width, height};
}

// The four photos, one per quadrant.
cv::Mat composite(cv::Size size) {
  cv::Mat picture(size, CV_32FC3);
  const int half_width = size.width / 2, half_height = size.height / 2;
  for (int i = 0; i < 4; ++i) {
    const cv::Rect quadrant((i % 2) * half_width, (i / 2) * half_height, i % 2 ? size.width - half_width : half_width,
                            i / 2 ? size.height - half_height : half_height);
    cv::Mat part;
    cv::resize(atelier::load_image(kSharedDir + "/images/content/" + kPhotos[i]).rgb, part, quadrant.size(), 0, 0,
               cv::INTER_CUBIC);
    part.copyTo(picture(quadrant));
  }
  return cv::min(cv::max(picture, 0.0), 1.0);
}

void write_raw(const cv::Mat& rgb, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
  out.write(reinterpret_cast<const char*>(continuous.data), static_cast<std::streamsize>(continuous.total() * 12));
}

cv::Mat read_raw(const std::string& path, cv::Size size) {
  cv::Mat rgb(size, CV_32FC3);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(rgb.data), static_cast<std::streamsize>(rgb.total() * 12));
  if (!in) throw atelier::Error("short benchmark output " + path);
  return rgb;
}

nlohmann::json measure_one(const Args& args) {
  atelier::configure_runtime(args.threads);
  const cv::Size size = parse_size(args.size);
  const atelier::Precision precision = atelier::parse_precision(args.precision);
  const cv::Mat picture = composite(size);
  const atelier::MagentaPainter painter(kPredict, kTransfer);
  const atelier::StyleVector style = painter.style_vector(atelier::load_image(kStyle).rgb);
  const atelier::MagentaTransfer transfer = atelier::load_magenta_transfer(kTransfer);
  const torch::Tensor vector =
      torch::from_blob(const_cast<float*>(style.values.data()), {1, atelier::kMagentaStyleSize}).clone();
  const int64_t budget = atelier::parse_memory_size(args.budget);
  const auto start = Clock::now();
  cv::Mat painted;
  int64_t tile = 0;
  if (args.pass == "whole") {
    painted = painter.paint(picture, style, 1.0, precision);
  } else if (args.pass == "tiles") {
    tile = args.tile;
    painted = atelier::stylize_tiled(atelier::MagentaStages(transfer, vector), picture, tile, precision);
  } else if (args.pass == "budget") {
    tile = atelier::plan_magenta_tiling(size.height, size.width, budget).tile;
    painted = painter.paint(picture, style, 1.0, precision, {}, budget);
  } else if (args.pass != "base") {
    throw atelier::Error("unknown pass " + args.pass);
  }
  const double milliseconds = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const double peak = atelier::bench::peak_rss_mib();
  if (!painted.empty() && !args.output.empty()) write_raw(painted, args.output);
  return {{"pass", args.pass},       {"width", size.width}, {"height", size.height}, {"tile", tile},
          {"precision", args.precision}, {"threads", torch::get_num_threads()}, {"ms", milliseconds},
          {"peak_rss_mib", peak}};
}

double psnr(const cv::Mat& a, const cv::Mat& b) {
  const double mse = cv::norm(a, b, cv::NORM_L2SQR) / static_cast<double>(a.total() * a.channels());
  return 10.0 * std::log10(1.0 / std::max(mse, 1e-20));
}

void print(const Args& args, nlohmann::json row) {
  if (args.json) {
    std::printf("%s\n", row.dump().c_str());
    return;
  }
  std::printf("%5dx%-5d %-7s tile %5d %10.0f ms %8.0f MiB", row["width"].get<int>(), row["height"].get<int>(),
              row["pass"].get<std::string>().c_str(), row["tile"].get<int>(), row["ms"].get<double>(),
              row["peak_rss_mib"].get<double>());
  if (row.contains("bytes_per_pixel")) std::printf(" %6.0f B/px over base", row["bytes_per_pixel"].get<double>());
  if (row.contains("psnr_db")) std::printf("  PSNR vs whole %.1f dB", row["psnr_db"].get<double>());
  std::printf("\n");
}

void run_all(const Args& args) {
  const std::string threads = std::to_string(args.threads);
  const std::string scratch = (fs::temp_directory_path() / ("bench_magenta_tiles." + std::to_string(getpid()))).string();
  fs::create_directories(scratch);
  auto child = [&](const std::string& pass, const std::string& size, const std::string& output) {
    return atelier::bench::run_self({"--pass", pass, "--size", size, "--tile", std::to_string(args.tile), "--budget",
                                     args.budget, "--precision", args.precision, "--threads", threads, "--output",
                                     output});
  };
  for (const std::string& size_text : args.sizes) {
    const cv::Size size = parse_size(size_text);
    const double pixels = static_cast<double>(size.area());
    const auto base = child("base", size_text, "");
    print(args, base);
    const std::string whole_file = scratch + "/whole.f32";
    auto whole = child("whole", size_text, whole_file);
    whole["bytes_per_pixel"] =
        (whole["peak_rss_mib"].get<double>() - base["peak_rss_mib"].get<double>()) * 1048576.0 / pixels;
    print(args, whole);
    const cv::Mat reference = read_raw(whole_file, size);
    for (const std::string pass : {"tiles", "budget"}) {
      auto row = child(pass, size_text, scratch + "/tiled.f32");
      row["bytes_per_pixel"] =
          (row["peak_rss_mib"].get<double>() - base["peak_rss_mib"].get<double>()) * 1048576.0 / pixels;
      row["psnr_db"] = psnr(read_raw(scratch + "/tiled.f32", size), reference);
      row["budget"] = args.budget;
      row["whole_estimate_mib"] = atelier::plan_magenta_tiling(size.height, size.width, 0).estimated_bytes / 1048576.0;
      print(args, row);
    }
  }
  fs::remove_all(scratch);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"Atelier: Magenta's transfer network whole and in tiles (not a test)"};
  app.add_option("--sizes", args.sizes, "WIDTHxHEIGHT of the test picture, comma list")->delimiter(',');
  app.add_option("--tile", args.tile, "tile side of the 'tiles' pass")->check(CLI::Range(64, 16384));
  app.add_option("--budget", args.budget, "memory budget of the 'budget' pass (MagentaPainter::paint)");
  app.add_option("--precision", args.precision, "fp32 or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--threads", args.threads, "torch threads (0: all hardware threads)");
  app.add_flag("--json", args.json, "one JSON object per line");
  app.add_option("--pass", args.pass)->group("");  // internal: the child processes
  app.add_option("--size", args.size)->group("");
  app.add_option("--output", args.output)->group("");
  CLI11_PARSE(app, argc, argv);
  for (const std::string& path : {kPredict, kTransfer, kStyle}) {
    if (!fs::exists(path)) {
      std::printf("SKIPPED: %s absent (the benchmark needs the real data in ../shared)\n", path.c_str());
      return 0;
    }
  }
  try {
    if (!args.pass.empty()) {
      std::printf("%s\n", measure_one(args).dump().c_str());
    } else {
      run_all(args);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_magenta_tiles: %s\n", error.what());
    return 1;
  }
  return 0;
}
