// atelier.FastStyle: a trained feed-forward style, loaded once, one pass per photo.
#include <memory>

#include "atelier/painters.hpp"
#include "painting.hpp"

namespace atelier::python {
namespace {

struct FastStyle {
  std::string path, device;
  std::shared_ptr<const FastStylePainter> painter;
};

}  // namespace

void add_fast_style(py::module_& m) {
  py::class_<FastStyle>(m, "FastStyle",
                        "A trained feed-forward style (Johnson et al.): one pass per photo.\n\n"
                        "    candy = atelier.FastStyle('candy')      # a name in the model search path, or a file\n"
                        "    painted = candy(photo, strength=0.8)")
      .def(py::init([](py::object model, const std::string& device, py::object models_dir) {
             ensure_runtime();
             check_device(device);
             const std::string path = resolve(path_or_empty(model), models_dir);
             auto painter = without_gil([&] { return std::make_shared<const FastStylePainter>(path, device); });
             return FastStyle{path, device, painter};
           }),
           py::arg("model"), py::kw_only(), py::arg("device") = "cpu", py::arg("models_dir") = py::none(),
           "Loads a style network (.safetensors or .pth, either architecture) by name or path. Names resolve\n"
           "through the model search path: models_dir, then $ATELIER_MODELS, then ~/.local/share/atelier/models.")
      .def_readonly("path", &FastStyle::path, "The weights file in use.")
      .def_property_readonly("architecture", [](const FastStyle& self) { return self.painter->architecture(); },
                             "'pytorch-examples' or 'engstrom'.")
      .def(
          "__call__",
          [](const FastStyle& self, py::object photo, double strength, std::optional<int> size, bool original_colors,
             std::vector<std::string> post, std::optional<std::string> precision, py::object max_memory,
             std::int64_t max_pixels) {
            check_strength(strength);
            const Finishing finishing{size, original_colors, post, max_pixels};
            const FinishOptions options = finishing.options(/*has_style=*/false, strength);
            const Precision chosen = precision_for(precision, self.device);
            const std::int64_t budget = memory_budget(max_memory);
            const Image content = finishing.load(photo);
            return picture_to_python(without_gil([&] {
              return finish(self.painter->paint(content.rgb, chosen, budget), content, {}, options);
            }));
          },
          py::arg("photo"), py::kw_only(), py::arg("strength") = FinishOptions{}.strength, py::arg("size") = py::none(),
          py::arg("original_colors") = false, py::arg("post") = std::vector<std::string>{},
          py::arg("precision") = py::none(), py::arg("max_memory") = py::none(),
          py::arg("max_pixels") = default_max_pixels(),
          (std::string("Paints a photo (path, numpy array or PIL image) with this style.\n\n"
                       "strength: blend with the photo, 0..1 (1: the painting alone)\n") + kMemoryDoc + kFinishingDoc).c_str())
      .def("__repr__", [](const FastStyle& self) { return "atelier.FastStyle('" + self.path + "')"; });
}

}  // namespace atelier::python
