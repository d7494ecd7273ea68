// The painting methods as Python classes: FastStyle, Gatys, Magenta (with
// its style vectors) and AdaIN. Each loads its networks once and paints any
// number of photos through the same library calls as the CLI: the photo
// loaded and resized as --size says, the painter, then finish().
#include <pybind11/functional.h>

#include <memory>

#include "atelier/adain_style.hpp"
#include "atelier/arbitrary_style.hpp"
#include "atelier/finish.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/postprocess.hpp"
#include "atelier/regions.hpp"
#include "bindings.hpp"

namespace atelier::python {
namespace {

// What every method does around its painter, as the CLI's one-pass batch:
// the photo at --size, and the finishing options.
struct Finishing {
  std::optional<int> size;
  bool original_colors = false;
  std::vector<std::string> post;
  std::int64_t max_pixels = default_max_pixels();

  Image load(py::handle photo) const {
    if (size && (*size < 16 || *size > 16384)) throw Error("size: " + std::to_string(*size) + " is out of range [16..16384]");
    const Image image = picture_from_python(photo, "photo", max_pixels);
    return size ? without_gil([&] { return resize_longest_side(image, *size); }) : image;
  }
  FinishOptions options(bool has_style, double strength = 1.0) const {
    FinishOptions finishing;
    finishing.strength = strength;
    finishing.original_colors = original_colors;
    finishing.post = parse_post_steps(post, has_style);
    return finishing;
  }
};

void check_strength(double strength) {
  if (!(strength >= 0 && strength <= 1)) throw Error("strength must be in [0,1], not " + std::to_string(strength));
}

std::string resolve(const std::string& name, py::handle models_dir) {
  return ModelStore(path_or_empty(models_dir)).resolve(name);
}

// The keyword arguments every __call__ shares, documented once.
constexpr const char* kFinishingDoc =
    "size: longest side the photo is painted at (None: its own size; Gatys: 512 unless scales say)\n"
    "original_colors: keep the photo's colours (luminance-only transfer)\n"
    "post: post-processing steps in order, as the CLI's --post ('hist:content', 'lab:style', 'unsharp:0.5', ...)\n"
    "precision: 'fp32', 'bf16' or 'auto' (None: $ATELIER_PRECISION, else 'auto', as the CLI)\n"
    "max_memory: bytes or '4G' to stay within (larger pictures run in tiles); None: 90% of free memory\n"
    "max_pixels: refuse photos with more pixels (0: no limit)\n"
    "Returns a uint8 numpy array, H x W x 3, or x 4 when the photo has alpha.";

// ---- Fast styles -----------------------------------------------------------

struct FastStyle {
  std::string path, device;
  std::shared_ptr<const FastStylePainter> painter;
};

// ---- Gatys -----------------------------------------------------------------

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

void set_init(GatysOptions& options, py::handle init) {
  if (py::isinstance<py::str>(init) && init.cast<std::string>() == "content") {
    options.init = GatysOptions::Init::Content;
  } else if (py::isinstance<py::str>(init) && init.cast<std::string>() == "noise") {
    options.init = GatysOptions::Init::Noise;
  } else {  // a picture (path, array, PIL), as the CLI's --init FILE
    options.init = GatysOptions::Init::Image;
    options.init_image = picture_from_python(init, "init", default_max_pixels()).rgb;
  }
}

// The Python callback as the library's callbacks: progress after every
// iteration, "stop" or False stopping the run; an exception in the callback
// stops the run too and is raised once the painter returns.
struct GatysWatch {
  py::object callback;
  bool stop = false;
  std::optional<py::error_already_set> failure;

  GatysCallbacks callbacks() {
    GatysCallbacks result;
    if (callback.is_none()) return result;
    result.on_progress = [this](const GatysProgress& step) {
      py::gil_scoped_acquire locked;
      if (stop) return;
      try {
        stop = says_stop(callback(step));
      } catch (py::error_already_set& error) {
        failure.emplace(std::move(error));
        stop = true;
      }
    };
    result.stop_requested = [this] { return stop; };
    return result;
  }
};

// ---- Magenta ----------------------------------------------------------------

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

// ---- AdaIN ------------------------------------------------------------------

struct Adain {
  std::string device;
  std::shared_ptr<const AdainPainter> painter;
};

}  // namespace

void add_painters(py::module_& m) {
  // ---- FastStyle
  py::class_<FastStyle>(m, "FastStyle",
                        "A trained feed-forward style (Johnson et al.): one pass per photo.\n\n"
                        "    candy = atelier.FastStyle('candy')      # a name in the model search path, or a file\n"
                        "    painted = candy(photo, strength=0.8)")
      .def(py::init([](py::handle model, const std::string& device, py::handle models_dir) {
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
          [](const FastStyle& self, py::handle photo, double strength, std::optional<int> size, bool original_colors,
             std::vector<std::string> post, std::optional<std::string> precision, py::handle max_memory,
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
                       "strength: blend with the photo, 0..1 (1: the painting alone)\n") + kFinishingDoc).c_str())
      .def("__repr__", [](const FastStyle& self) { return "atelier.FastStyle('" + self.path + "')"; });

  // ---- Gatys
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
      .def_readwrite("iterations", &GatysOptions::iterations, "per scale")
      .def_readwrite("scales", &GatysOptions::scales, "longest sides, coarse to fine; the last is the output's")
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
      .def(py::init([](py::handle weights, std::optional<std::string> preprocess,
                       std::optional<std::string> pooling, const std::string& device, py::handle models_dir) {
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
          [](const Gatys& self, py::handle photo, py::handle style, std::optional<int> size, py::object progress,
             bool original_colors, std::vector<std::string> post, std::optional<std::string> precision,
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
            GatysWatch watch{progress};
            const GatysCallbacks callbacks = watch.callbacks();
            const auto [result, finished] = without_gil([&] {
              content = resize_longest_side(content, side);
              GatysResult painted = self.painter->paint(content.rgb, styles, options, callbacks);
              Image done = painted.stopped ? Image{} : finish(painted.rgb, content, styles.front(), finish_options);
              return std::make_pair(painted, done);
            });
            if (watch.failure) throw std::move(*watch.failure);
            if (result.stopped) throw Stopped("Gatys: " + result.message + " (the progress callback said stop)");
            if (!result.finite) throw Error("Gatys: " + result.message);
            return picture_to_python(finished);
          },
          py::arg("photo"), py::arg("style"), py::kw_only(), py::arg("size") = py::none(),
          py::arg("progress") = py::none(), py::arg("original_colors") = false,
          py::arg("post") = std::vector<std::string>{}, py::arg("precision") = py::none(),
          py::arg("max_pixels") = default_max_pixels(), py::arg("options") = py::none(),
          (std::string("Paints a photo in the manner of one style picture or a list of them (blended by\n"
                       "style_blend). Any atelier.GatysOptions field may be given as a keyword (iterations=50,\n"
                       "style_weight=1e4, scales=[256, 512] ...), or a whole `options`.\n\n"
                       "progress: called after every iteration with an atelier.GatysProgress; returning 'stop'\n"
                       "or False ends the run with atelier.Stopped.\n") + kFinishingDoc).c_str())
      .def("__repr__", [](const Gatys& self) { return "atelier.Gatys('" + self.path + "')"; });

  // ---- Magenta
  py::class_<StyleVector>(m, "StyleVector",
                          "A Magenta style: 100 numbers predicted from a painting (Magenta.style_vector).\n"
                          "Predict once, reuse for any number of photos; blend, save and load as JSON.")
      .def_property_readonly("values", [](const StyleVector& v) {
        return py::array_t<float>(static_cast<py::ssize_t>(v.values.size()), v.values.data());
      }, "A copy of the numbers (float32 numpy array).")
      .def_readonly("model", &StyleVector::model)
      .def("to_json", &style_vector_json, "The JSON text style-vector writes.")
      .def_static("from_json", [](const std::string& text) { return parse_style_vector_json(text, "the JSON text"); })
      .def("save", [](const StyleVector& v, py::handle path) { save_style_vector(v, path_or_empty(path)); },
           py::arg("path"), "Writes the vector as JSON, atomically (what `atelier style-vector` writes).")
      .def_static("load", [](py::handle path) { return load_style_vector(path_or_empty(path)); }, py::arg("path"),
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
      .def(py::init([](const std::string& device, py::handle models_dir) {
             ensure_runtime();
             check_device(device);
             const std::string dir = path_or_empty(models_dir);
             return Magenta{device, without_gil([&] { return std::make_shared<const MagentaPainter>(load_magenta_painter(dir, device)); })};
           }),
           py::kw_only(), py::arg("device") = "cpu", py::arg("models_dir") = py::none(),
           "Loads the predictor and transfer networks (magenta-arbitrary/style_predict and style_transfer).")
      .def(
          "style_vector",
          [](const Magenta& self, py::handle painting, const std::string& fit, int style_size, std::int64_t max_pixels) {
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
          [](const Magenta& self, py::handle photo, py::handle style, py::handle blend, double strength,
             const std::string& fit, int style_size, std::optional<int> size, bool original_colors,
             std::vector<std::string> post, std::optional<std::string> precision, py::handle max_memory,
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
           kFinishingDoc).c_str());

  // ---- AdaIN
  py::class_<AdainStyle>(m, "AdainStyle", "An AdaIN style: the per-channel mean and std of a painting's features.")
      .def_readonly("level", &AdainStyle::level)
      .def_property_readonly("mean", [](const AdainStyle& s) { return py::array_t<float>(static_cast<py::ssize_t>(s.mean.size()), s.mean.data()); })
      .def_property_readonly("std", [](const AdainStyle& s) { return py::array_t<float>(static_cast<py::ssize_t>(s.std.size()), s.std.data()); });

  py::class_<Adain>(m, "AdaIN",
                    "AdaIN arbitrary style transfer (Huang & Belongie 2017): a VGG encoder, adaptive instance\n"
                    "normalisation and a decoder (naoto0804's, imported, or one from train_arbitrary).")
      .def(py::init([](py::handle encoder, py::handle decoder, const std::string& device, py::handle models_dir) {
             ensure_runtime();
             check_device(device);
             const std::string encoder_path = resolve(path_or_empty(encoder), models_dir);
             const std::string decoder_path = resolve(path_or_empty(decoder), models_dir);
             return Adain{device, without_gil([&] { return std::make_shared<const AdainPainter>(encoder_path, decoder_path, device); })};
           }),
           py::kw_only(), py::arg("encoder") = kAdainEncoderName, py::arg("decoder") = kAdainDecoderName,
           py::arg("device") = "cpu", py::arg("models_dir") = py::none(),
           "Loads the encoder and decoder: names in the model search path or files.")
      .def_property_readonly("level", [](const Adain& self) { return self.painter->level(); }, "'relu3_1' or 'relu4_1'")
      .def(
          "style",
          [](const Adain& self, py::handle painting, int style_size, std::optional<std::string> precision) {
            const Precision chosen = precision_for(precision, self.device);
            const cv::Mat picture = picture_from_python(painting, "style", default_max_pixels()).rgb;
            return without_gil([&] { return self.painter->style(picture, style_size, chosen); });
          },
          py::arg("painting"), py::kw_only(), py::arg("style_size") = kAdainStyleSize, py::arg("precision") = py::none(),
          "A painting's statistics, computed once (its shorter side shrunk to style_size; 0: as it is).")
      .def(
          "__call__",
          [](const Adain& self, py::handle photo, py::handle style, py::handle weights, double strength,
             py::handle mask, bool preserve_color, std::optional<int> size, bool original_colors,
             std::vector<std::string> post, std::optional<std::string> precision, py::handle max_memory,
             std::int64_t max_pixels) {
            check_strength(strength);
            const Finishing finishing{size, original_colors, post, max_pixels};
            const FinishOptions finish_options = finishing.options(/*has_style=*/true);
            AdainOptions options;
            options.alpha = strength;
            options.precision = precision_for(precision, self.device);
            options.max_memory = memory_budget(max_memory);
            const std::vector<py::handle> items = as_list(style);
            if (items.empty()) throw Error("AdaIN: a style is required (a painting or an AdainStyle)");
            options.weights = weights.is_none() ? std::vector<double>(items.size(), 1.0) : weights.cast<std::vector<double>>();
            const Image content = finishing.load(photo);
            if (!mask.is_none()) {
              if (items.size() != 2) throw Error("mask takes two styles (white: the first, black: the second), not " + std::to_string(items.size()));
              options.mask = grey_mask_weights(mask_picture_from_python(mask), content.rgb.size(), 1).weights[0];
              options.weights.clear();
            }
            std::vector<cv::Mat> pictures;
            std::vector<AdainStyle> styles;
            for (py::handle item : items) {
              if (py::isinstance<AdainStyle>(item)) {
                if (preserve_color) throw Error("preserve_color recolours style pictures: give paintings, not AdainStyle");
                styles.push_back(item.cast<AdainStyle>());
              } else {
                pictures.push_back(picture_from_python(item, "style", max_pixels).rgb);
              }
            }
            return picture_to_python(without_gil([&] {
              for (const cv::Mat& picture : pictures) {
                const cv::Mat recoloured = preserve_color ? match_color_covariance(picture, content.rgb) : picture;
                styles.push_back(self.painter->style(recoloured, kAdainStyleSize, options.precision));
              }
              const cv::Mat painted = self.painter->paint(content.rgb, styles, options);
              return finish(painted, content, pictures.empty() ? cv::Mat() : pictures.front(), finish_options);
            }));
          },
          py::arg("photo"), py::arg("style"), py::kw_only(), py::arg("weights") = py::none(),
          py::arg("strength") = AdainOptions{}.alpha, py::arg("mask") = py::none(), py::arg("preserve_color") = false,
          py::arg("size") = py::none(), py::arg("original_colors") = false,
          py::arg("post") = std::vector<std::string>{}, py::arg("precision") = py::none(),
          py::arg("max_memory") = py::none(), py::arg("max_pixels") = default_max_pixels(),
          (std::string("Paints a photo with a painting, an AdainStyle, or a list of them blended by `weights`.\n\n"
                       "strength: AdaIN's alpha, 0 (the photo's features) .. 1 (the style's)\n"
                       "mask: with two styles, a grey picture: white takes the first, black the second\n"
                       "preserve_color: recolour each painting to the photo's colours first\n") +
           kFinishingDoc).c_str());
}

}  // namespace atelier::python
