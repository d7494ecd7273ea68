#include "atelier/model_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <pwd.h>
#include <set>
#include <unistd.h>

#include "atelier/error.hpp"
#include "atelier/model_names.hpp"
#include "atelier/safetensors.hpp"
#include "util/text.hpp"

namespace fs = std::filesystem;

namespace atelier {

namespace {

constexpr const char* kExtension = ".safetensors";

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
  for (const CatalogEntry& entry : model_catalog())
    if (entry.name == name || entry.imported_as == name) return "try: atelier models fetch " + entry.name;
  return "atelier models fetch knows: " + join(catalog_names(), ", ");
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Installed names that look like `name`: a few edits away, or containing it.
std::vector<std::string> close_matches(const std::string& name, const std::vector<std::string>& installed) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const std::string& candidate : installed) {
    const std::string last = fs::path(candidate).filename().string();
    const size_t distance = std::min(edit_distance(name, last), edit_distance(name, candidate));
    if (distance <= std::max<size_t>(2, name.size() / 3) || last.find(name) != std::string::npos)
      scored.emplace_back(distance, candidate);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> names;
  for (size_t i = 0; i < scored.size() && i < 5; ++i) names.push_back(scored[i].second);
  return names;
}

// Architectures recognised from key names, for files without metadata.
std::string infer_architecture(const SafetensorsFile& file) {
  if (file.contains("conv1.conv2d.weight")) return "pytorch-examples";
  if (file.contains("conv1.norm.scale")) return "engstrom";
  return infer_vgg_architecture(file);
}

ModelStore::Entry describe(const fs::path& path, const std::string& dir) {
  ModelStore::Entry entry;
  // Lexically: fs::relative would follow a symlinked file to its target.
  entry.name = path.lexically_relative(dir).replace_extension().string();
  entry.path = path.string();
  std::error_code error;
  entry.bytes = fs::file_size(path, error);
  if (error) entry.bytes = 0;
  try {
    const SafetensorsFile file = SafetensorsFile::open(entry.path);
    // The key names give a short, reliable name; metadata covers the rest.
    entry.architecture = infer_architecture(file);
    if (entry.architecture.empty() || entry.architecture == "vgg (partial)")
      entry.architecture = file.metadata_value("architecture", entry.architecture);
    entry.preprocess = file.metadata_value("preprocess");
    entry.title = file.metadata_value(kTitleKey);
    if (entry.title.empty()) entry.title = readable_name(file.metadata_value("style"));
    std::replace(entry.title.begin(), entry.title.end(), '/', '-');  // a label, never a path
    entry.artist = file.metadata_value(kArtistKey);
    entry.family = file.metadata_value(kFamilyKey, entry.architecture);
  } catch (const Error& failure) {
    entry.problem = failure.what();
  }
  if (entry.title.empty()) entry.title = readable_name(path.stem().string());
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

// Weights files below `dir` (subfolders included, a few levels deep) whose
// name without extension is `stem`.
std::vector<fs::path> nested_files_named(const std::string& dir, const std::string& stem) {
  std::vector<fs::path> found;
  std::error_code error;
  fs::recursive_directory_iterator it(dir, error), end;
  for (; !error && it != end; it.increment(error)) {
    if (it.depth() > 3) it.disable_recursion_pending();
    const fs::path& path = it->path();
    if (path.extension() == kExtension && path.stem() == stem && it->is_regular_file(error)) found.push_back(path);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string ModelStore::resolve(const std::string& name_or_path) const {
  std::error_code error;
  if (ends_with(name_or_path, kExtension) || fs::is_regular_file(name_or_path, error)) {
    if (!fs::is_regular_file(name_or_path, error)) throw Error("weights file not found: " + name_or_path);
    return name_or_path;
  }
  const bool qualified = name_or_path.find('/') != std::string::npos;  // e.g. "engstrom/udnie"
  const std::string exact = name_or_path + kExtension;
  const std::string prefix = name_or_path + "-";
  for (const std::string& dir : search_path_) {
    const fs::path candidate = fs::path(dir) / exact;
    if (fs::is_regular_file(candidate, error)) return candidate.string();
    if (!qualified) {
      for (const fs::path& file : weight_files_in(dir)) {
        if (file.filename().string().rfind(prefix, 0) == 0) return file.string();
      }
    }
    // Styles are often kept in subfolders (per family): a unique name, or
    // the end of its path ("engstrom/udnie"), is enough.
    std::vector<std::string> matches;
    for (const auto& file : nested_files_named(dir, fs::path(name_or_path).filename().string())) {
      const std::string name = fs::relative(file, dir).replace_extension().string();
      if (name == name_or_path || ends_with(name, "/" + name_or_path)) matches.push_back(name);
    }
    if (matches.size() == 1) return (fs::path(dir) / (matches.front() + kExtension)).string();
    if (matches.size() > 1)
      throw Error("\"" + name_or_path + "\" is ambiguous in " + dir + ": say which, one of " + join(matches, ", "));
  }
  std::vector<std::string> installed;
  for (const Entry& entry : list()) installed.push_back(entry.name);
  const auto similar = close_matches(name_or_path, installed);
  const std::string hint = similar.empty() ? not_found_hint(name_or_path) : "did you mean: " + join(similar, ", ");
  throw Error("no weights named \"" + name_or_path + "\" in: " + join(search_path_, ", ") + " (" + hint + ")");
}

std::vector<ModelStore::Entry> ModelStore::list() const {
  std::vector<Entry> entries;
  std::set<std::string> seen;  // names already listed from an earlier directory
  for (const std::string& dir : search_path_) {
    std::vector<fs::path> files;
    std::error_code error;
    fs::recursive_directory_iterator it(dir, error), end;
    for (; !error && it != end; it.increment(error)) {
      if (it.depth() > 3) it.disable_recursion_pending();
      if (it->path().extension() == kExtension && it->is_regular_file(error)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      Entry entry = describe(file, dir);
      if (seen.insert(entry.name).second) entries.push_back(std::move(entry));
    }
  }
  assign_display_names(entries);
  return entries;
}

}  // namespace atelier
