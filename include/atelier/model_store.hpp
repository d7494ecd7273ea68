// Where weights live and how names resolve to files.
//
// Search path, in order: the --models-dir flag, $ATELIER_MODELS (a
// colon-separated list), then the per-user data directory
// ($XDG_DATA_HOME/atelier/models, else ~/.local/share/atelier/models).
// A name such as "vgg19" resolves, directory by directory, to
// "vgg19.safetensors", else the first "vgg19-*.safetensors" (sorted), else the
// one "vgg19.safetensors" in a subfolder (several: an error naming them, to be
// told apart as "family/vgg19"). An existing file, or a value ending in
// ".safetensors", is taken as a path.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace atelier {

class SafetensorsFile;

// "vgg16" or "vgg19" from torchvision `features.N.weight` keys (features.17
// is a conv only in VGG16, features.16 only in VGG19), "vgg (partial)" when
// just the first layers are there, else "".
std::string infer_vgg_architecture(const SafetensorsFile& file);

class ModelStore {
 public:
  // `models_dir` is the --models-dir flag (may be empty).
  explicit ModelStore(const std::string& models_dir = "");

  const std::vector<std::string>& search_path() const { return search_path_; }
  // Directory `models fetch` installs into: the first search-path entry.
  std::string install_dir() const;

  // Throws atelier::Error listing the directories searched when not found.
  std::string resolve(const std::string& name_or_path) const;

  struct Entry {
    std::string name;          // path below its directory, without extension
    std::string path;
    std::string architecture;  // metadata "architecture", else inferred, else ""
    std::string preprocess;    // metadata "preprocess", else ""
    std::uint64_t bytes = 0;
    std::string problem;       // non-empty when the file failed validation
    // What people read (model_names.hpp): metadata "title", else the
    // metadata "style" or the file name made readable; "artist"; "family",
    // else the architecture; and the name shown, unique in the list.
    std::string title, artist, family, display_name;
  };
  // Every *.safetensors in the search path, subfolders included (earlier
  // directories shadow later ones with the same name), with display names.
  std::vector<Entry> list() const;

  static std::string user_data_dir();

 private:
  std::vector<std::string> search_path_;
};

// A published weights file that `atelier models fetch NAME` can download.
// A model made of several files (Magenta's two networks) has one entry per
// file, all with the same name.
struct CatalogEntry {
  std::string name;
  std::string url;
  std::string sha256;  // lowercase hex
  std::uint64_t bytes = 0;
  std::string file_name;  // installed as <install_dir>/<file_name>
  std::string description;
  // Not empty: the download is a source file (e.g. TFLite) that `models
  // import` converts into <install_dir>/<imported_as>.safetensors, the name
  // the model store then resolves; the source is kept, for checking.
  std::string imported_as;
};
const std::vector<CatalogEntry>& model_catalog();
// Every file of `name`. Throws atelier::Error listing the known names.
std::vector<CatalogEntry> catalog_entries(const std::string& name);
// The catalogue's names, each once, in order.
std::vector<std::string> catalog_names();

// Lowercase hex sha256 of a file's contents.
std::string sha256_file(const std::string& path);
// Lowercase hex sha256 of bytes in memory.
std::string sha256_hex(const std::string& bytes);

}  // namespace atelier
