// atelier.Gatys, GatysOptions and GatysProgress: style transfer by optimisation, with
// a progress callback that can stop it.
#include <pybind11/functional.h>

#include <cmath>
#include <memory>
#include <utility>

#include "atelier/painters.hpp"
#include "painting.hpp"

namespace atelier::python {
namespace {

struct Gatys {
  std::string path, device;
  std::shared_ptr<const GatysPainter> painter;
};

std::string init_name(const GatysOptions& options) {
  switch (options.init) {
    case GatysOptions::Init::Content: return "content";
    case GatysOptions::Init::Noise: return "noise";
    default: return "image";
  }
}

void set_init(GatysOptions& options, py::object init) {
  if (py::isinstance<py::str>(init) && init.cast<std::string>() == "content") {
    options.init = GatysOptions::Init::Content;
  } else if (py::isinstance<py::str>(init) && init.cast<std::string>() == "noise") {
    options.init = GatysOptions::Init::Noise;
  } else {  // a picture (path, array, PIL), as the CLI's --init FILE
    options.init = GatysOptions::Init::Image;
    options.init_image = picture_from_python(init, "init", default_max_pixels()).rgb;
  }
}

// The Python callbacks as the library's: progress after every iteration,
// previews every few; either may stop the run, as may Ctrl-C (RunGuard).
struct GatysWatch {
  py::object progress, preview;
  int preview_every = 0;
  RunGuard guard;

  GatysCallbacks callbacks() {
    GatysCallbacks result;
    if (!progress.is_none())
      result.on_progress = [this](const GatysProgress& step) { guard.call([&] { return progress(step); }); };
    if (!preview.is_none()) {
      result.snapshot_every = preview_every;
      result.on_snapshot = [this](const cv::Mat& rgb, const GatysProgress& step) {
        guard.call([&] { return preview(picture_to_python(Image{rgb, {}}), step); });
      };
    }
    result.stop_requested = [this] { return guard.stop_requested(); };
    return result;
  }
};

// The CLI's bounds on the weights and the learning rate: finite, not negative.
void check_weights(const GatysOptions& options) {
  const std::pair<const char*, double> values[] = {{"content_weight", options.content_weight},
                                                   {"style_weight", options.style_weight},
                                                   {"tv_weight", options.tv_weight},
                                                   {"learning_rate", options.learning_rate}};
  for (const auto& [name, value] : values)
    if (!std::isfinite(value) || value < 0)
      throw Error(std::string(name) + ": a finite number, 0 or more; not " + std::to_string(value));
}

// atelier.Stopped, carrying the picture painted so far as its `image`.
[[noreturn]] void raise_stopped(const std::string& message, const Image& painted) {
  py::object error = py::module_::import("atelier").attr("Stopped")(message);
  error.attr("image") = picture_to_python(painted);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  throw py::error_already_set();
}

}  // namespace

void add_gatys(py::module_& m) {
  py::class_<GatysProgress>(m, "GatysProgress", "Where a Gatys run stands, given to the progress callback.")
      .def_property_readonly("scale", [](const GatysProgress& p) { return p.scale_index + 1; }, "1-based scale")
      .def_readonly("scales", &GatysProgress::scale_count)
      .def_readonly("iteration", &GatysProgress::iteration, "1-based, within this scale")
      .def_readonly("iterations", &GatysProgress::iterations, "per scale")
      .def_readonly("width", &GatysProgress::width)
      .def_readonly("height", &GatysProgress::height)
      .def_readonly("loss", &GatysProgress::total, "the weighted total")
      .def_readonly("content", &GatysProgress::content)
      .def_readonly("style", &GatysProgress::style)
      .def_readonly("tv", &GatysProgress::tv)
      .def("__repr__", [](const GatysProgress& p) {
        return "GatysProgress(scale=" + std::to_string(p.scale_index + 1) + "/" + std::to_string(p.scale_count) +
               ", iteration=" + std::to_string(p.iteration) + "/" + std::to_string(p.iterations) +
               ", loss=" + std::to_string(p.total) + ")";
      });

  py::class_<GatysOptions>(m, "GatysOptions",
                           "The settings of a Gatys optimisation, with the library's defaults (GatysOptions in\n"
                           "gatys_options.hpp, the CLI's too). Any of them may also be given to Gatys.__call__ and\n"
                           "atelier.stylize as keywords.")
      .def(py::init<>())
      .def_readwrite("content_layers", &GatysOptions::content_layers, "empty: the network's default (relu4_2, or relu3_2)")
      .def_readwrite("style_layers", &GatysOptions::style_layers, "empty: relu1_1..relu5_1, those the network has")
      .def_readwrite("content_weight", &GatysOptions::content_weight)
      .def_readwrite("style_weight", &GatysOptions::style_weight, "higher paints more")
      .def_readwrite("tv_weight", &GatysOptions::tv_weight, "total-variation smoothing")
      .def_readwrite("style_blend", &GatysOptions::style_blend, "one weight per style; empty: equal")
      .def_readwrite("style_scale", &GatysOptions::style_scale, "style pictures' size relative to the photo's")
      .def_property("init", &init_name, &set_init, "'content', 'noise', or a picture to start from")
      .def_readwrite("seed", &GatysOptions::seed, "for noise initialisation")
      .def_property(
          "optimizer",
          [](const GatysOptions& o) { return o.optimizer == GatysOptions::Optimizer::Adam ? "adam" : "lbfgs"; },
          [](GatysOptions& o, const std::string& name) {
            if (name != "lbfgs" && name != "adam") throw Error("optimizer: lbfgs or adam, not \"" + name + "\"");
            o.optimizer = name == "adam" ? GatysOptions::Optimizer::Adam : GatysOptions::Optimizer::LBFGS;
          },
          "'lbfgs' or 'adam'")
      .def_readwrite("learning_rate", &GatysOptions::learning_rate, "Adam's, in [0,1] pixel units")
      .def_readwrite("history", &GatysOptions::history, "L-BFGS correction pairs kept (1..1000)")
      .def_readwrite("pyramid", &GatysOptions::pyramid,
                     "levels the picture is optimised as (1: pixels; 0: the default, a pyramid with L-BFGS)")
      .def_readwrite("iterations", &GatysOptions::iterations, "per scale")
      .def_readwrite("coarse_iterations", &GatysOptions::coarse_iterations,
                     "at each scale before the last (0: iterations)")
      .def_readwrite("scales", &GatysOptions::scales,
                     "longest sides, coarse to fine; the last is the output's (gatys_auto_scales(side): auto)")
      .def("__repr__", [](const GatysOptions& o) {
        return "GatysOptions(iterations=" + std::to_string(o.iterations) + ", style_weight=" +
               std::to_string(o.style_weight) + ", content_weight=" + std::to_string(o.content_weight) +
               ", tv_weight=" + std::to_string(o.tv_weight) + ", optimizer='" +
               (o.optimizer == GatysOptions::Optimizer::Adam ? "adam" : "lbfgs") + "')";
      });

  py::class_<Gatys>(m, "Gatys",
                    "Style transfer by optimisation (Gatys et al.) through a VGG feature network: minutes, finer.\n\n"
                    "    gatys = atelier.Gatys()                  # vgg19 from the model search path\n"
                    "    painted = gatys(photo, 'starry.jpg', iterations=100, progress=print)")
      .def(py::init([](py::object weights, std::optional<std::string> preprocess,
                       std::optional<std::string> pooling, const std::string& device, py::object models_dir) {
             ensure_runtime();
             check_device(device);
             GatysPainter::Network network;
             network.weights_path = resolve(path_or_empty(weights), models_dir);
             if (preprocess) network.preprocess = *preprocess;
             if (pooling) network.pooling = *pooling;
             network.device = device;
             auto painter = without_gil([&] { return std::make_shared<const GatysPainter>(network); });
             return Gatys{network.weights_path, device, painter};
           }),
           py::arg("weights") = kGatysDefaultWeights, py::kw_only(), py::arg("preprocess") = py::none(),
           py::arg("pooling") = py::none(), py::arg("device") = "cpu", py::arg("models_dir") = py::none(),
           "Loads the feature network: a name in the model search path or a .safetensors file.\n"
           "preprocess: 'caffe' or 'torchvision' (None: the file's metadata); pooling: 'max' or 'avg'.")
      .def_readonly("path", &Gatys::path, "The weights file in use.")
      .def_property_readonly("architecture", [](const Gatys& self) { return self.painter->architecture(); })
      .def("default_options",
           [](const Gatys& self) { return self.painter->with_default_layers(GatysOptions{}); },
           "The library's GatysOptions with this network's default layers filled in.")
      .def(
          "__call__",
          [](const Gatys& self, py::object photo, py::object style, std::optional<int> size, py::object progress,
             py::object preview, int preview_every, bool original_colors, std::vector<std::string> post, std::optional<std::string> precision,
             std::int64_t max_pixels, std::optional<GatysOptions> given, py::kwargs overrides) {
            GatysOptions options = given ? *given : GatysOptions{};
            py::object holder = py::cast(options);
            for (auto item : overrides) {
              const std::string key = py::str(item.first);
              if (!py::hasattr(holder, key.c_str()))
                throw py::type_error("Gatys: unknown option '" + key + "' (see atelier.GatysOptions)");
              holder.attr(key.c_str()) = item.second;
            }
            options = holder.cast<GatysOptions>();
            check_weights(options);
            const Finishing finishing{std::nullopt, original_colors, post, max_pixels};
            const FinishOptions finish_options = finishing.options(/*has_style=*/true);
            options.precision = precision_for(precision, self.device);
            std::vector<cv::Mat> styles;
            for (py::handle item : as_list(style)) styles.push_back(picture_from_python(item, "style", max_pixels).rgb);
            if (styles.empty()) throw Error("Gatys: a style picture is required");
            Image content = picture_from_python(photo, "photo", max_pixels);
            const int side = gatys_output_side(options, size.value_or(0));
            if (side < 16 || side > 16384) throw Error("size: " + std::to_string(side) + " is out of range [16..16384]");
            options = self.painter->with_default_layers(options);
            if (preview_every < 1) throw Error("preview_every must be at least 1, not " + std::to_string(preview_every));
            GatysWatch watch{progress, preview, preview_every};
            const GatysCallbacks callbacks = watch.callbacks();
            const auto [result, finished] = without_gil([&] {
              content = resize_longest_side(content, side);
              GatysResult painted = self.painter->paint(content.rgb, styles, options, callbacks);
              Image done = finish(painted.rgb, content, styles.front(), finish_options);
              return std::make_pair(painted, done);
            });
            watch.guard.raise_failure();
            if (result.stopped) raise_stopped("Gatys: " + result.message + " (a callback said stop)", finished);
            if (!result.finite) throw Error("Gatys: " + result.message);
            return picture_to_python(finished);
          },
          py::arg("photo"), py::arg("style"), py::kw_only(), py::arg("size") = py::none(),
          py::arg("progress") = py::none(), py::arg("preview") = py::none(), py::arg("preview_every") = 10,
          py::arg("original_colors") = false,
          py::arg("post") = std::vector<std::string>{}, py::arg("precision") = py::none(),
          py::arg("max_pixels") = default_max_pixels(), py::arg("options") = py::none(),
          (std::string("Paints a photo in the manner of one style picture or a list of them (blended by\n"
                       "style_blend). Any atelier.GatysOptions field may be given as a keyword (iterations=50,\n"
                       "style_weight=1e4, scales=[256, 512] ...), or a whole `options`.\n\n"
                       "progress: called after every iteration with an atelier.GatysProgress; returning 'stop'\n"
                       "or False ends the run with atelier.Stopped, whose `image` is the painting so far\n"
                       "(finished as the result would be).\n"
                       "preview: called every preview_every iterations with the picture as it stands (uint8,\n"
                       "unfinished) and the GatysProgress; it may say 'stop' too.\n") + kFinishingDoc).c_str())
      .def("__repr__", [](const Gatys& self) { return "atelier.Gatys('" + self.path + "')"; });
}

}  // namespace atelier::python
