// atelier.stylize: one entry point for every method, as `atelier stylize`
// is. It picks the method, loads (or reuses) that method's painter and calls
// it; the painters hold every default.
#include <algorithm>
#include <set>

#include "bindings.hpp"

namespace atelier::python {
namespace {

// The keywords that go to each class's constructor (the rest go to __call__).
const std::vector<std::string>& constructor_keys(const std::string& method) {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"fast", {"device", "models_dir"}},
      {"gatys", {"weights", "preprocess", "pooling", "device", "models_dir"}},
      {"magenta", {"device", "models_dir"}},
      {"adain", {"encoder", "decoder", "device", "models_dir"}}};
  return keys.at(method);
}

// Settings that only optimisation uses: with no method, any of them picks
// Gatys (as the CLI's resolve_method does).
bool has_gatys_setting(py::module_& m, const py::kwargs& options) {
  const py::object fields = m.attr("GatysOptions")();
  for (auto item : options) {
    const std::string key = py::str(item.first);
    if (key == "weights" || key == "preprocess" || key == "pooling" || key == "progress" || key == "options" ||
        py::hasattr(fields, key.c_str()))
      return true;
  }
  return false;
}

// A trained network rather than a picture: a name in the model search path
// (no such file), or a weights file.
bool names_a_network(py::handle style) {
  if (!py::isinstance<py::str>(style) && !py::hasattr(style, "__fspath__")) return false;
  const std::string path = path_or_empty(style);
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".safetensors") || ends_with(".pth")) return true;
  static const char* kPictures[] = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".json"};
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* extension : kPictures) {
    const std::string suffix = extension;
    if (lower.size() >= suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0)
      return false;
  }
  return !py::module_::import("os").attr("path").attr("exists")(path).cast<bool>();
}

std::string choose_method(py::module_& m, py::handle style, const py::kwargs& options) {
  if (has_gatys_setting(m, options)) return "gatys";
  if (names_a_network(style)) return "fast";
  return "magenta";
}

}  // namespace

void add_stylize(py::module_& m) {
  // Painters loaded by stylize(), by method and settings, so that a notebook
  // calling it again does not load the networks again.
  m.attr("_painters") = py::dict();
  m.def(
      "stylize",
      [m](py::object photo, py::object style, std::optional<std::string> method, py::kwargs options) mutable {
        const std::string chosen = method ? *method : choose_method(m, style, options);
        if (chosen != "fast" && chosen != "gatys" && chosen != "magenta" && chosen != "adain")
          throw Error("method: fast, gatys, magenta or adain, not \"" + chosen + "\"");
        if (style.is_none()) throw Error("stylize: a style is required (a painting, or a trained network's name for method='fast')");
        py::dict constructor, call;
        for (auto item : options) {
          const std::string key = py::str(item.first);
          const auto& keys = constructor_keys(chosen);
          (std::find(keys.begin(), keys.end(), key) != keys.end() ? constructor : call)[item.first] = item.second;
        }
        const char* class_name = chosen == "fast" ? "FastStyle" : chosen == "gatys" ? "Gatys" : chosen == "magenta" ? "Magenta" : "AdaIN";
        py::tuple arguments = chosen == "fast" ? py::make_tuple(style) : py::make_tuple();
        const py::object key = py::make_tuple(chosen, chosen == "fast" ? py::str(path_or_empty(style)) : py::str(""),
                                              py::str(py::repr(constructor)));
        py::dict cache = m.attr("_painters");
        if (!cache.contains(key)) {
          if (py::len(cache) >= 4) cache.clear();  // a few networks at most
          cache[key] = m.attr(class_name)(*arguments, **constructor);
        }
        const py::object painter = cache[key];
        return chosen == "fast" ? painter(photo, **call) : painter(photo, style, **call);
      },
      py::arg("photo"), py::arg("style") = py::none(), py::arg("method") = py::none(),
      "Paints a photo (path, numpy array H x W x 3 or 4, uint8 or float in [0,1], or PIL image) in a style.\n"
      "Returns a uint8 numpy array (RGB, or RGBA when the photo has alpha).\n\n"
      "method:\n"
      "  'fast'    style is a trained network: a name in the model search path ('candy') or a file\n"
      "  'magenta' style is any painting, a StyleVector or a .json vector (one pass, about a second)\n"
      "  'gatys'   style is a painting (or a list): optimisation, minutes, finer\n"
      "  'adain'   style is any painting (AdaIN networks needed)\n"
      "  None: 'gatys' when a Gatys setting is given (iterations=..., style_weight=..., progress=...),\n"
      "        'fast' when style names a network, else 'magenta' (as the CLI's `atelier stylize`)\n\n"
      "Keywords are those of the method's class (FastStyle, Gatys, Magenta, AdaIN: constructor and call),\n"
      "e.g. size=512, strength=0.8, original_colors=True, post=['hist:content'], device='cpu',\n"
      "models_dir=..., precision='fp32', iterations=100, progress=callback. Every default is the\n"
      "library's (the CLI's). The networks are loaded once and kept for later calls (atelier.clear_cache()).");
  m.def("clear_cache", [m]() mutable { py::dict(m.attr("_painters")).clear(); },
        "Forgets the networks atelier.stylize keeps loaded.");
}

}  // namespace atelier::python
