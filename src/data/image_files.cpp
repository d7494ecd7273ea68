#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "atelier/error.hpp"

namespace atelier {

namespace fs = std::filesystem;

bool has_image_extension(const std::string& path) {
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
    if (extension == known) return true;
  return false;
}

namespace {

// The files of one split of a prepared folder's manifest, as `atelier data
// prepare` wrote it.
std::vector<std::string> manifest_split(const std::string& folder, const std::string& split) {
  const fs::path manifest = fs::path(folder) / "manifest.json";
  std::vector<std::string> files;
  std::ifstream in(manifest);
  try {
    nlohmann::json json;
    in >> json;
    for (const auto& entry : json.at("images"))
      if (entry.at("split") == split) files.push_back((fs::path(folder) / entry.at("file").get<std::string>()).string());
  } catch (const std::exception& error) {
    throw Error(manifest.string() + ": not a readable manifest (" + std::string(error.what()).substr(0, 80) + ")");
  }
  return files;
}

}  // namespace

std::vector<std::string> list_validation_images(const std::string& folder) {
  return fs::exists(fs::path(folder) / "manifest.json") ? manifest_split(folder, "val") : std::vector<std::string>{};
}

std::vector<std::string> list_training_images(const std::string& folder) {
  if (!fs::is_directory(folder)) throw Error("no data folder " + folder);
  std::vector<std::string> files;
  if (fs::exists(fs::path(folder) / "manifest.json")) {
    files = manifest_split(folder, "train");
  } else {
    for (const auto& entry : fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink))
      if (entry.is_regular_file() && has_image_extension(entry.path().string())) files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
  }
  if (files.empty()) throw Error("no images in " + folder + " (.jpg .png .webp .bmp .tif)");
  return files;
}

CropMode parse_crop_mode(const std::string& name) {
  if (name == "center") return CropMode::Center;
  if (name == "random") return CropMode::Random;
  if (name == "none") return CropMode::None;
  throw Error("unknown crop \"" + name + "\": use center, random or none");
}

}  // namespace atelier
