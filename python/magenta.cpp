// atelier.Magenta and StyleVector: any painting as a style (Magenta), vectors predicted
// once and reused, blended, saved.
#include <memory>

#include "atelier/arbitrary_style.hpp"
#include "painting.hpp"

namespace atelier::python {
namespace {

struct Magenta {
  std::string device;
  std::shared_ptr<const MagentaPainter> painter;
};

StylePictureOptions fit_options(const std::string& fit, int style_size) { return {parse_style_fit(fit), style_size}; }

bool is_vector_file(py::handle style) {
  if (!py::isinstance<py::str>(style) && !py::hasattr(style, "__fspath__")) return false;
  const std::string path = path_or_empty(style);
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

// The style as one vector, as the CLI's predict_style: vectors and .json
// files as they are, pictures predicted, blended by `blend` (equal weights
// when None); `first_picture` the first style picture (for --post steps).
StyleVector magenta_style(const MagentaPainter& painter, py::handle style, py::handle blend,
                          const StylePictureOptions& fit, std::int64_t max_pixels, cv::Mat& first_picture) {
  const std::vector<py::handle> styles = as_list(style);
  if (styles.empty()) throw Error("Magenta: a style is required (a picture, a StyleVector or a .json vector file)");
  std::vector<double> weights = blend.is_none() ? std::vector<double>(styles.size(), 1.0) : blend.cast<std::vector<double>>();
  if (weights.size() != styles.size())
    throw Error("blend: " + std::to_string(weights.size()) + " weights for " + std::to_string(styles.size()) + " styles");
  std::vector<StyleVector> vectors;
  for (py::handle item : styles) {
    if (py::isinstance<StyleVector>(item)) {
      vectors.push_back(item.cast<StyleVector>());
    } else if (is_vector_file(item)) {
      const std::string path = path_or_empty(item);
      vectors.push_back(without_gil([&] { return load_style_vector(path); }));
    } else {
      const cv::Mat picture = picture_from_python(item, "style", max_pixels).rgb;
      if (first_picture.empty()) first_picture = picture;
      vectors.push_back(without_gil([&] { return painter.style_vector(picture, fit); }));
    }
  }
  return blend_style_vectors(vectors, weights);
}

}  // namespace

void add_magenta(py::module_& m) {
  py::class_<StyleVector>(m, "StyleVector",
                          "A Magenta style: 100 numbers predicted from a painting (Magenta.style_vector).\n"
                          "Predict once, reuse for any number of photos; blend, save and load as JSON.")
      .def_property_readonly("values", [](const StyleVector& v) {
        return py::array_t<float>(static_cast<py::ssize_t>(v.values.size()), v.values.data());
      }, "A copy of the numbers (float32 numpy array).")
      .def_readonly("model", &StyleVector::model)
      .def("to_json", &style_vector_json, "The JSON text style-vector writes.")
      .def_static("from_json", [](const std::string& text) { return parse_style_vector_json(text, "the JSON text"); })
      .def("save", [](const StyleVector& v, py::object path) { save_style_vector(v, path_or_empty(path)); },
           py::arg("path"), "Writes the vector as JSON, atomically (what `atelier style-vector` writes).")
      .def_static("load", [](py::object path) { return load_style_vector(path_or_empty(path)); }, py::arg("path"),
                  "Reads a .json style vector (refusing another format, model or length in one line).")
      .def(py::pickle([](const StyleVector& v) { return style_vector_json(v); },
                      [](const std::string& text) { return parse_style_vector_json(text, "a pickled StyleVector"); }))
      .def("__len__", [](const StyleVector& v) { return v.values.size(); })
      .def("__repr__", [](const StyleVector&) { return std::string("atelier.StyleVector(100 values)"); });
  m.def("blend_style_vectors", &blend_style_vectors, py::arg("styles"), py::arg("weights"),
        "sum(w * v) / sum(w): one style from several.");
  m.def("interpolate_style_vectors", &interpolate_style_vectors, py::arg("style"), py::arg("own"), py::arg("strength"),
        "strength * style + (1 - strength) * own.");

  py::class_<Magenta>(m, "Magenta",
                      "Arbitrary style transfer (Magenta, Ghiasi et al. 2017): any painting as a style, one pass.\n\n"
                      "    magenta = atelier.Magenta()               # magenta-arbitrary/ in the model search path\n"
                      "    starry = magenta.style_vector('starry.jpg')\n"
                      "    painted = magenta(photo, starry, strength=0.8)")
      .def(py::init([](const std::string& device, py::object models_dir) {
             ensure_runtime();
             check_device(device);
             const std::string dir = path_or_empty(models_dir);
             return Magenta{device, without_gil([&] { return std::make_shared<const MagentaPainter>(load_magenta_painter(dir, device)); })};
           }),
           py::kw_only(), py::arg("device") = "cpu", py::arg("models_dir") = py::none(),
           "Loads the predictor and transfer networks (magenta-arbitrary/style_predict and style_transfer).")
      .def(
          "style_vector",
          [](const Magenta& self, py::object painting, const std::string& fit, int style_size, std::int64_t max_pixels) {
            const StylePictureOptions options = fit_options(fit, style_size);
            const cv::Mat picture = picture_from_python(painting, "style", max_pixels).rgb;
            return without_gil([&] { return self.painter->style_vector(picture, options); });
          },
          py::arg("painting"), py::kw_only(), py::arg("fit") = "crop", py::arg("style_size") = StylePictureOptions{}.size,
          py::arg("max_pixels") = default_max_pixels(),
          "The style vector of a painting. fit: 'crop' (its centred square) or 'whole' (squeezed);\n"
          "style_size: side of the square the predictor sees.")
      .def(
          "__call__",
          [](const Magenta& self, py::object photo, py::object style, py::object blend, double strength,
             const std::string& fit, int style_size, std::optional<int> size, bool original_colors,
             std::vector<std::string> post, std::optional<std::string> precision, py::object max_memory,
             std::int64_t max_pixels) {
            check_strength(strength);
            const Finishing finishing{size, original_colors, post, max_pixels};
            const StylePictureOptions options = fit_options(fit, style_size);
            const Precision chosen = precision_for(precision, self.device);
            const std::int64_t budget = memory_budget(max_memory);
            const std::vector<py::handle> styles = as_list(style);
            const FinishOptions finish_options =
                finishing.options(!styles.empty() && !py::isinstance<StyleVector>(styles.front()) && !is_vector_file(styles.front()));
            cv::Mat first_picture;
            const StyleVector vector = magenta_style(*self.painter, style, blend, options, max_pixels, first_picture);
            const Image content = finishing.load(photo);
            return picture_to_python(without_gil([&] {
              const cv::Mat painted = self.painter->paint(content.rgb, vector, strength, chosen, options, budget);
              return finish(painted, content, first_picture, finish_options);
            }));
          },
          py::arg("photo"), py::arg("style"), py::kw_only(), py::arg("blend") = py::none(),
          py::arg("strength") = 1.0, py::arg("fit") = "crop", py::arg("style_size") = StylePictureOptions{}.size,
          py::arg("size") = py::none(), py::arg("original_colors") = false,
          py::arg("post") = std::vector<std::string>{}, py::arg("precision") = py::none(),
          py::arg("max_memory") = py::none(), py::arg("max_pixels") = default_max_pixels(),
          (std::string("Paints a photo with a style: a StyleVector, a painting (path, array, PIL), a .json vector\n"
                       "file, or a list of them blended by `blend` (weights; None: equal).\n\n"
                       "strength: from the photo's own style (0) to the painting's (1), on the vector\n"
                       "fit, style_size: how paintings become the predictor's square (see style_vector)\n") +
           kMemoryDoc + kFinishingDoc).c_str());
}

}  // namespace atelier::python
