#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <bitset>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "atelier/atomic_file.hpp"
#include "data/dataset.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestVersion = 1;

// FNV-1a: a stable hash of a name (std::hash may differ between builds).
uint64_t name_hash(const std::string& text) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
  return hash;
}

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// What identifies a source file between runs: its path, size and time.
std::string fingerprint(const fs::path& file) {
  const auto time = fs::last_write_time(file).time_since_epoch().count();
  return std::to_string(fs::file_size(file)) + ":" + std::to_string(time);
}

// Whether a listed entry is a file to look at: regular files, and entries
// whose type cannot be known (a symbolic link loop), which are then left out
// with the reason instead of ending the whole run.
bool worth_a_look(const fs::directory_entry& entry) {
  std::error_code error;
  const bool regular = entry.is_regular_file(error);
  return regular || error;
}

cv::Mat fit(const cv::Mat& rgb, const PrepareOptions& options, uint64_t seed) {
  const double scale = static_cast<double>(options.size) / std::min(rgb.cols, rgb.rows);
  cv::Mat scaled;
  cv::resize(rgb, scaled,
             {std::max<int>(options.size, std::lround(rgb.cols * scale)), std::max<int>(options.size, std::lround(rgb.rows * scale))},
             0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
  if (options.crop == CropMode::None) return scaled;
  const int side = static_cast<int>(options.size);
  int x = (scaled.cols - side) / 2, y = (scaled.rows - side) / 2;
  if (options.crop == CropMode::Random) {
    x = static_cast<int>(seed % static_cast<uint64_t>(scaled.cols - side + 1));
    y = static_cast<int>((seed >> 32) % static_cast<uint64_t>(scaled.rows - side + 1));
  }
  return scaled(cv::Rect(x, y, side, side)).clone();
}

json read_manifest(const fs::path& path) {
  if (!fs::exists(path)) return json();
  try {
    std::ifstream in(path);
    return json::parse(in);
  } catch (const std::exception&) {
    throw Error(path.string() + " is not a readable manifest: delete it to prepare the folder again");
  }
}

}  // namespace

uint64_t difference_hash(const cv::Mat& rgb) {
  cv::Mat grey, small;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::resize(grey, small, {9, 8}, 0, 0, cv::INTER_AREA);
  uint64_t hash = 0;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) hash = (hash << 1) | (small.at<float>(y, x) > small.at<float>(y, x + 1) ? 1 : 0);
  return hash;
}

PrepareSummary prepare_dataset(const std::string& input_folder, const std::string& output_folder,
                               const PrepareOptions& options,
                               const std::function<void(const PrepareEvent&, size_t, size_t)>& on_file) {
  if (!fs::is_directory(input_folder)) throw Error("no data folder " + input_folder);
  if (options.size < 8 || options.val_fraction < 0 || options.val_fraction >= 1)
    throw Error("--size must be at least 8 and --val in [0, 1)");
  fs::create_directories(output_folder);
  const fs::path manifest_path = fs::path(output_folder) / "manifest.json";
  const json settings = {{"size", options.size},
                         {"crop", options.crop == CropMode::Center ? "center" : options.crop == CropMode::Random ? "random" : "none"},
                         {"val", options.val_fraction},
                         {"min_side", options.min_side}};
  json manifest = read_manifest(manifest_path);
  if (manifest.is_null()) {
    manifest = {{"atelier_manifest", kManifestVersion}, {"source", fs::absolute(input_folder).string()},
                {"settings", settings}, {"images", json::array()}, {"rejected", json::array()}};
  } else if (manifest.value("settings", json()) != settings) {
    throw Error(output_folder + " was prepared with other settings (" + manifest.value("settings", json()).dump() +
                "): prepare into a new folder");
  }

  // What earlier runs saw, by source path and fingerprint; the hashes of
  // everything kept, for duplicates.
  std::map<std::string, std::string> known;
  std::map<std::string, std::string> by_sha;
  std::vector<std::pair<uint64_t, std::string>> by_picture;
  for (const auto& entry : manifest["images"]) {
    known[entry["source"]] = entry["fingerprint"];
    by_sha[entry["sha256"]] = entry["source"];
    by_picture.emplace_back(std::stoull(entry["dhash"].get<std::string>(), nullptr, 16), entry["source"]);
  }
  for (const auto& entry : manifest["rejected"]) known[entry["source"]] = entry["fingerprint"];

  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(input_folder))
    if (worth_a_look(entry)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  const fs::path output_absolute = fs::absolute(output_folder);

  PrepareSummary summary;
  size_t done = 0;
  for (const fs::path& file : files) {
    ++done;
    if (fs::absolute(file).string().rfind(output_absolute.string() + "/", 0) == 0) continue;  // our own output
    std::error_code error;  // a link loop cannot be resolved: its name as listed
    std::string source = fs::relative(file, input_folder, error).string();
    if (error) source = file.lexically_relative(input_folder).string();
    std::string print, unreadable;
    try {
      print = fingerprint(file);
    } catch (const fs::filesystem_error& error) {
      unreadable = error.code().message();
    }
    PrepareEvent event{source, "", false};
    auto reject = [&](const std::string& reason) {
      manifest["rejected"].push_back({{"source", source}, {"fingerprint", print}, {"reason", reason}});
      event.outcome = reason, event.rejected = true;
      ++summary.rejected;
    };
    if (!unreadable.empty()) {
      reject("unreadable: " + unreadable);
      on_file(event, done, files.size());
      continue;
    }
    auto found = known.find(source);
    if (found != known.end() && found->second == print) {
      ++summary.known;
      event.outcome = "known";
      on_file(event, done, files.size());
      continue;
    }
    try {
      const std::string sha = sha256_file(file.string());
      const Image image = load_image(file.string());
      const uint64_t picture = difference_hash(image.rgb);
      auto near = std::find_if(by_picture.begin(), by_picture.end(), [&](const auto& other) {
        return static_cast<int>(std::bitset<64>(other.first ^ picture).count()) <= options.near_duplicate_bits;
      });
      if (std::min(image.width(), image.height()) < options.min_side) {
        reject("too small (" + std::to_string(image.width()) + "x" + std::to_string(image.height()) + ", under " +
               std::to_string(options.min_side) + " px a side)");
      } else if (by_sha.count(sha)) {
        reject("duplicate of " + by_sha[sha]);
      } else if (near != by_picture.end()) {
        reject("near duplicate of " + near->second);
      } else {
        const uint64_t hash = name_hash(source);
        const std::string name = fs::path(source).stem().string() + "_" + hex(hash).substr(0, 8) + ".png";
        save_image(Image{fit(image.rgb, options, hash), {}}, (fs::path(output_folder) / name).string());
        const bool val = static_cast<double>(hash % 10000) < options.val_fraction * 10000;
        manifest["images"].push_back({{"source", source}, {"fingerprint", print}, {"file", name},
                                      {"split", val ? "val" : "train"}, {"width", image.width()},
                                      {"height", image.height()}, {"sha256", sha}, {"dhash", hex(picture)}});
        by_sha[sha] = source;
        by_picture.emplace_back(picture, source);
        ++summary.prepared;
        event.outcome = "prepared";
      }
    } catch (const std::exception& error) {
      reject(std::string("unreadable: ") + first_line(error.what()));
    }
    on_file(event, done, files.size());
  }
  for (const auto& entry : manifest["images"]) (entry["split"] == "val" ? summary.val : summary.train)++;
  if (summary.prepared > 0 || summary.rejected > 0) write_file_atomically(manifest_path.string(), manifest.dump(1));
  return summary;
}

DatasetStats dataset_stats(const std::string& folder) {
  DatasetStats stats;
  std::vector<std::string> files;
  const fs::path manifest = fs::path(folder) / "manifest.json";
  if (fs::exists(manifest)) {
    const json json_manifest = read_manifest(manifest);
    stats.train = stats.val = 0;
    for (const auto& entry : json_manifest.at("images")) {
      (entry["split"] == "val" ? stats.val : stats.train)++;
      files.push_back((fs::path(folder) / entry["file"].get<std::string>()).string());
    }
  } else {
    if (!fs::is_directory(folder)) throw Error("no data folder " + folder);
    for (const auto& entry : fs::recursive_directory_iterator(folder))
      if (worth_a_look(entry) && has_image_extension(entry.path().string())) files.push_back(entry.path().string());
  }
  double sum[3] = {0, 0, 0}, square[3] = {0, 0, 0}, pixels = 0;
  for (const auto& file : files) {
    try {
      const Image image = load_image(file);
      ++stats.images;
      const int longest = std::max(image.width(), image.height());
      const char* bucket = longest < 256 ? "<256" : longest < 512 ? "256-511" : longest < 1024 ? "512-1023"
                           : longest < 2048 ? "1024-2047" : ">=2048";
      stats.longest_side_histogram[bucket]++;
      cv::Scalar mean, deviation;
      cv::meanStdDev(image.rgb, mean, deviation);
      const double n = static_cast<double>(image.rgb.total());
      for (int c = 0; c < 3; ++c) {
        sum[c] += mean[c] * n;
        square[c] += (deviation[c] * deviation[c] + mean[c] * mean[c]) * n;
      }
      pixels += n;
    } catch (const std::exception&) {
      ++stats.unreadable;
    }
  }
  for (int c = 0; c < 3 && pixels > 0; ++c) {
    stats.mean_rgb[c] = sum[c] / pixels;
    stats.std_rgb[c] = std::sqrt(std::max(0.0, square[c] / pixels - stats.mean_rgb[c] * stats.mean_rgb[c]));
  }
  return stats;
}

}  // namespace atelier
