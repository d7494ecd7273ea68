// Getting a folder of images ready for training, and what a folder holds:
// `atelier data prepare` and `atelier data stats` (no torch; dataset.hpp has
// the batch loader that reads the result).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace atelier {

enum class CropMode { Center, Random, None };
CropMode parse_crop_mode(const std::string& name);  // center | random | none

// `atelier data prepare`: every file of a folder decoded, checked and
// resized into OUT_DIR with a manifest.json (files, source sizes, split,
// colour statistics). Unreadable, non-image and tiny files, exact
// duplicates (same bytes) and near duplicates (64-bit difference hash within
// `near_duplicate_bits`) are reported and left out. A second run only looks
// at files the manifest does not know yet.
struct PrepareOptions {
  int64_t size = 256;        // centre/random: the square's side; none: the shorter side
  CropMode crop = CropMode::Center;
  double val_fraction = 0.05;  // held-out share, chosen from each file's name (stable as files are added)
  int64_t min_side = 32;
  int near_duplicate_bits = 5;
};
struct PrepareEvent {
  std::string source;
  std::string outcome;  // "prepared", "known" (done before), or why it was left out
  bool rejected = false;
};
struct PrepareSummary {
  int prepared = 0, known = 0, rejected = 0;
  int train = 0, val = 0;
};
PrepareSummary prepare_dataset(const std::string& input_folder, const std::string& output_folder,
                               const PrepareOptions& options,
                               const std::function<void(const PrepareEvent&, size_t done, size_t total)>& on_file);

// `atelier data stats`: what a folder of images (or a prepared one) holds.
struct DatasetStats {
  int images = 0, unreadable = 0;
  std::map<std::string, int> longest_side_histogram;  // "<256", "256-511", ...
  double mean_rgb[3] = {0, 0, 0}, std_rgb[3] = {0, 0, 0};
  int train = -1, val = -1;  // from a manifest; -1 when there is none
};
DatasetStats dataset_stats(const std::string& folder);

}  // namespace atelier
