#include "atelier/model_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <pwd.h>
#include <set>
#include <unistd.h>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"

namespace fs = std::filesystem;

namespace atelier {

namespace {

constexpr const char* kExtension = ".safetensors";

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string home_dir() {
  std::string home = env_or_empty("HOME");
  if (!home.empty()) return home;
  const passwd* entry = getpwuid(getuid());
  return entry && entry->pw_dir ? entry->pw_dir : "";
}

// Regular *.safetensors files directly in `dir`, sorted by name; a missing or
// unreadable directory simply holds none.
std::vector<fs::path> weight_files_in(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    if (path.extension() == kExtension && it->is_regular_file(error)) files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) text += (i ? separator : "") + items[i];
  return text;
}

// What to suggest when a name is not installed.
std::string not_found_hint(const std::string& name) {
  std::vector<std::string> known;
  for (const CatalogEntry& entry : model_catalog()) {
    if (entry.name == name) return "try: atelier models fetch " + name;
    known.push_back(entry.name);
  }
  return "atelier models fetch knows: " + join(known, ", ");
}

ModelStore::Entry describe(const fs::path& path) {
  ModelStore::Entry entry;
  entry.name = path.stem().string();
  entry.path = path.string();
  std::error_code error;
  entry.bytes = fs::file_size(path, error);
  if (error) entry.bytes = 0;
  try {
    const SafetensorsFile file = SafetensorsFile::open(entry.path);
    entry.architecture = file.metadata_value("architecture", infer_vgg_architecture(file));
    entry.preprocess = file.metadata_value("preprocess");
  } catch (const Error& failure) {
    entry.problem = failure.what();
  }
  return entry;
}

}  // namespace

std::string infer_vgg_architecture(const SafetensorsFile& file) {
  if (file.contains("features.17.weight")) return "vgg16";
  if (file.contains("features.16.weight")) return "vgg19";
  if (file.contains("features.0.weight")) return "vgg (partial)";
  return "";
}

ModelStore::ModelStore(const std::string& models_dir) {
  auto add = [this](const std::string& dir) {
    if (!dir.empty() && std::find(search_path_.begin(), search_path_.end(), dir) == search_path_.end()) {
      search_path_.push_back(dir);
    }
  };
  add(models_dir);
  const std::string from_env = env_or_empty("ATELIER_MODELS");
  for (std::size_t start = 0; start <= from_env.size();) {
    const std::size_t colon = std::min(from_env.find(':', start), from_env.size());
    add(from_env.substr(start, colon - start));
    start = colon + 1;
  }
  add(user_data_dir());
}

std::string ModelStore::install_dir() const { return search_path_.front(); }

std::string ModelStore::user_data_dir() {
  // The XDG spec ignores relative values of XDG_DATA_HOME.
  const std::string xdg = env_or_empty("XDG_DATA_HOME");
  if (!xdg.empty() && xdg.front() == '/') return xdg + "/atelier/models";
  return home_dir() + "/.local/share/atelier/models";
}

std::string ModelStore::resolve(const std::string& name_or_path) const {
  if (name_or_path.find('/') != std::string::npos || ends_with(name_or_path, kExtension)) {
    std::error_code error;
    if (!fs::is_regular_file(name_or_path, error)) throw Error("weights file not found: " + name_or_path);
    return name_or_path;
  }
  const std::string exact = name_or_path + kExtension;
  const std::string prefix = name_or_path + "-";
  for (const std::string& dir : search_path_) {
    std::error_code error;
    const fs::path candidate = fs::path(dir) / exact;
    if (fs::is_regular_file(candidate, error)) return candidate.string();
    for (const fs::path& file : weight_files_in(dir)) {
      if (file.filename().string().rfind(prefix, 0) == 0) return file.string();
    }
  }
  throw Error("no weights named \"" + name_or_path + "\" in: " + join(search_path_, ", ") + " (" +
              not_found_hint(name_or_path) + ")");
}

std::vector<ModelStore::Entry> ModelStore::list() const {
  std::vector<Entry> entries;
  std::set<std::string> seen;  // file names already listed from an earlier directory
  for (const std::string& dir : search_path_) {
    for (const fs::path& file : weight_files_in(dir)) {
      if (seen.insert(file.filename().string()).second) entries.push_back(describe(file));
    }
  }
  return entries;
}

}  // namespace atelier
