// atelier models list|fetch|import|export: what weights are installed,
// downloading the published ones (only ever on request), converting
// checkpoints in, and writing networks out as ONNX models.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/fetch.hpp"
#include "atelier/model_names.hpp"
#include "atelier/model_store.hpp"
#include "atelier/model_tools.hpp"
#include "atelier/onnx_export.hpp"
#include "commands.hpp"
#include "common_flags.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct ModelsArgs {
  std::string models_dir;
  OutputFlags flags;
  std::string name, url, mirror, sha256;
  bool force = false;
  std::string input, output;  // import, export
  bool half = false;
};

std::string megabytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  return text;
}

// Characters as a terminal shows them: UTF-8 continuation bytes take no column.
std::size_t text_width(const std::string& text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::string pad(const std::string& text, std::size_t width) {
  return text + std::string(width - std::min(width, text_width(text)), ' ');
}

int run_list(const ModelsArgs& args) {
  ModelStore store(args.models_dir);
  const auto entries = store.list();
  if (args.flags.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& entry : entries)
      list.push_back({{"name", entry.name}, {"display_name", entry.display_name}, {"title", entry.title},
                      {"artist", entry.artist}, {"family", entry.family}, {"family_name", family_name(entry.family)},
                      {"path", entry.path}, {"architecture", entry.architecture}, {"preprocess", entry.preprocess},
                      {"bytes", entry.bytes}, {"problem", entry.problem}});
    std::cout << nlohmann::json{{"search_path", store.search_path()}, {"models", list}}.dump(2) << std::endl;
    return kExitOk;
  }
  std::cout << "search path:";
  for (const auto& dir : store.search_path()) std::cout << "\n  " << dir << (fs::is_directory(dir) ? "" : "  (missing)");
  std::cout << "\n\n";
  if (entries.empty()) std::cout << "no weights installed (try: atelier models fetch vgg19)\n";
  // Columns: the stable name (what commands take), then the name people read.
  std::size_t name_width = 0, display_width = 0;
  for (const auto& entry : entries) {
    name_width = std::max(name_width, entry.name.size());
    display_width = std::max(display_width, text_width(entry.display_name));
  }
  for (const auto& entry : entries) {
    std::cout << pad(entry.name, name_width) << "  " << pad(entry.display_name, display_width) << "  "
              << (entry.architecture.empty() ? "?" : entry.architecture) << "  "
              << (entry.preprocess.empty() ? "-" : entry.preprocess) << "  " << megabytes(entry.bytes) << "  "
              << entry.path;
    if (!entry.problem.empty()) std::cout << "  INVALID: " << entry.problem;
    std::cout << '\n';
  }
  std::cout << "\nfetchable:";
  for (const auto& item : model_catalog())
    if (!item.description.empty()) std::cout << "\n  " << item.name << "  " << item.description;
  std::cout << std::endl;
  return kExitOk;
}

// Names become file names in the models directory: keep them plain.
void check_model_name(const std::string& name) {
  const bool plain = !name.empty() && name[0] != '.' &&
                     name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                         std::string::npos;
  if (!plain) throw Error("model name \"" + name + "\" must use only letters, digits, '.', '_' and '-'");
}

// The file name at the end of a URL ("https://host/a/b.tflite" -> "b.tflite").
std::string url_file_name(const std::string& url) { return url.substr(url.find_last_of('/') + 1); }

// What `name` downloads: the catalogue's files (from --mirror's folder when
// given), or the one file at --url.
std::vector<CatalogEntry> fetch_plan(const ModelsArgs& args) {
  if (!args.url.empty()) {
    if (!args.mirror.empty()) throw Error("give --url (one file) or --mirror (a folder), not both");
    check_model_name(args.name);
    CatalogEntry entry;
    entry.name = args.name;
    entry.url = args.url;
    entry.file_name = args.name + ".safetensors";
    entry.sha256 = args.sha256;
    return {entry};
  }
  std::vector<CatalogEntry> entries = catalog_entries(args.name);
  if (!args.sha256.empty() && entries.size() > 1)
    throw Error(args.name + " is " + std::to_string(entries.size()) + " files, each with its catalogued sha256: drop --sha256");
  for (CatalogEntry& entry : entries) {
    if (!args.mirror.empty()) entry.url = args.mirror + (args.mirror.back() == '/' ? "" : "/") + url_file_name(entry.url);
    if (!args.sha256.empty()) entry.sha256 = args.sha256;
  }
  return entries;
}

// Downloads one file unless it is already there with the expected sha256.
void fetch_one(CatalogEntry entry, const std::string& destination, bool force, Progress& progress) {
  std::transform(entry.sha256.begin(), entry.sha256.end(), entry.sha256.begin(), ::tolower);
  if (fs::exists(destination) && !force) {
    // Installed before: trust it only if it is what was asked for.
    if (!entry.sha256.empty() && sha256_file(destination) != entry.sha256)
      throw Error(destination + " exists but its sha256 differs from the expected one (use --force to replace it)");
    progress.info(destination + " is already installed (--force downloads it again)", {{"path", destination}});
    return;
  }
  fs::create_directories(fs::path(destination).parent_path());
  progress.info("fetching " + entry.url + " -> " + destination, {{"url", entry.url}, {"destination", destination}});
  // Counted in MB, or kB for small files; reported when the count moves.
  std::uint64_t unit = 0;
  long long shown = -1;
  fetch_file(entry.url, entry.sha256, destination, [&](const FetchProgress& step) {
    if (unit == 0) {
      unit = step.total >= 10'000'000 || step.total == 0 ? 1'000'000 : 1'000;
      progress.start(static_cast<long long>(step.total / unit), unit == 1'000 ? "kB" : "MB");
    }
    const auto done = static_cast<long long>(step.received / unit);
    if (done == shown) return;
    shown = done;
    progress.update(done, unit == 1'000 ? "kB" : "MB", {{"bytes", step.received}});
  });
  progress.finish();
  progress.info("installed " + destination + " (sha256 verified)", {{"path", destination}});
}

int run_fetch(const ModelsArgs& args) {
  const ModelStore store(args.models_dir);
  Progress progress(args.flags.mode());
  for (const CatalogEntry& entry : fetch_plan(args)) {
    const fs::path install_dir = store.install_dir();
    const std::string source = (install_dir / entry.file_name).string();
    fetch_one(entry, source, args.force, progress);
    if (entry.imported_as.empty()) continue;
    // A source format (TFLite) becomes the safetensors the painters load.
    const std::string imported = (install_dir / (entry.imported_as + ".safetensors")).string();
    if (fs::exists(imported) && !args.force) continue;
    const std::string architecture = import_magenta_tflite(source, imported);
    progress.info("imported " + imported + " (" + architecture + ")", {{"path", imported}, {"architecture", architecture}});
  }
  return kExitOk;
}

// A PyTorch checkpoint of a fast style network, or one of Magenta's TFLite
// files, to safetensors (model_tools.hpp), chosen by the input's extension.
int run_import(const ModelsArgs& args) {
  refuse_overwriting_input(args.input, args.output);  // even with --force
  if (fs::exists(args.output) && !args.force)
    throw Error(args.output + " exists: add --force to replace it");
  std::string extension = fs::path(args.input).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), ::tolower);
  if (extension == ".tflite" && args.half)
    throw Error("--half applies to .pth checkpoints; " + args.input + " is imported as float32");
  const std::string architecture = extension == ".tflite"
                                       ? import_magenta_tflite(args.input, args.output)
                                       : import_pytorch_checkpoint(args.input, args.output, args.half);
  if (!args.flags.quiet) std::cerr << "wrote " << args.output << " (" << architecture << ")" << std::endl;
  return kExitOk;
}

// A fast style or one of Magenta's or AdaIN's networks, by name or path, as
// an ONNX model (onnx_export.hpp).
int run_export(const ModelsArgs& args) {
  const std::string weights = ModelStore(args.models_dir).resolve(args.name);
  refuse_overwriting_input(weights, args.output);  // even with --force
  if (fs::exists(args.output) && !args.force) throw Error(args.output + " exists: add --force to replace it");
  const OnnxExportSummary summary = export_onnx(weights, args.output);
  if (args.flags.json)
    std::cout << nlohmann::json{{"output", args.output},        {"weights", weights},
                                {"kind", summary.kind},         {"architecture", summary.architecture},
                                {"opset", summary.opset},       {"nodes", summary.nodes},
                                {"bytes", summary.bytes}}
                     .dump()
              << std::endl;
  else if (!args.flags.quiet)
    std::cerr << "wrote " << args.output << " (" << summary.kind << ", " << summary.architecture << ", ONNX opset "
              << summary.opset << ", "
              << megabytes(summary.bytes) << ")" << std::endl;
  return kExitOk;
}

}  // namespace

Runner add_models_command(CLI::App& app) {
  CLI::App* models = app.add_subcommand("models", "List installed weights, or fetch published ones");
  models->require_subcommand(1);
  auto args = std::make_shared<ModelsArgs>();
  add_models_dir_flag(models, &args->models_dir, "Directory searched first (and installed into by fetch)");
  CLI::App* list = models->add_subcommand("list", "Show the model search path and every weights file in it");
  list->add_flag("--json", args->flags.json, "Print JSON");
  CLI::App* fetch = models->add_subcommand("fetch", "Download weights, verify their sha256 and install them");
  fetch->add_option("name", args->name, "vgg19, vgg16 or magenta (or any name with --url)")->required();
  fetch->add_option("--url", args->url, "Download this one file instead of the catalogue's");
  fetch->add_option("--mirror", args->mirror,
                    "Download the catalogue's files from this folder URL instead (the same file names, the same sha256)");
  fetch->add_option("--sha256", args->sha256, "Expected sha256 (required with --url)");
  fetch->add_flag("--force", args->force, "Download even when already installed");
  add_output_flags(fetch, &args->flags, "Machine-readable progress");
  CLI::App* import = models->add_subcommand(
      "import",
      "Convert a PyTorch checkpoint (.pth) of a style network or of AdaIN, or a Magenta .tflite file, to safetensors");
  import->add_option("checkpoint", args->input,
                     "The .pth file (torch.save of a state_dict: a fast style network, or naoto0804/pytorch-AdaIN's "
                     "vgg_normalised.pth or decoder.pth), or the .tflite file of Magenta's arbitrary style "
                     "predictor or transfer network")
      ->required();
  import->add_option("--output,-o", args->output, "The .safetensors file to write")->required();
  import->add_flag("--half", args->half, "Store convolution kernels as F16 (half the size)");
  import->add_flag("--force", args->force, "Replace OUTPUT when it exists");
  import->add_flag("--quiet,-q", args->flags.quiet, "No output");
  CLI::App* export_onnx = models->add_subcommand(
      "export",
      "Write a fast style network (pytorch-examples or Engstrom), Magenta's style predictor or transfer network, or "
      "AdaIN's encoder or decoder as an ONNX model for other runtimes");
  export_onnx->add_option("model", args->name,
                          "The network's name (as `models list` shows it: candy, magenta-arbitrary/style_predict, ...) "
                          "or its .safetensors file")
      ->required();
  export_onnx->add_option("--output,-o", args->output,
                          "The .onnx file to write (a fast style: input \"image\", output \"stylized\", float32 NCHW "
                          "RGB 0..255, any height and width; the conventions are in its metadata)")
      ->required();
  export_onnx->add_flag("--force", args->force, "Replace OUTPUT when it exists");
  add_output_flags(export_onnx, &args->flags, "Print what was written as one JSON object", "No output but errors");
  for (CLI::App* sub : {list, fetch, export_onnx})
    add_models_dir_flag(sub, &args->models_dir, "Directory searched first");
  return [args, list, import, export_onnx] {
    if (list->parsed()) return run_list(*args);
    if (export_onnx->parsed()) return run_export(*args);
    return import->parsed() ? run_import(*args) : run_fetch(*args);
  };
}

}  // namespace atelier::cli
