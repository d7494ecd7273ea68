// atelier.AdaIN and AdainStyle: any painting as a style through AdaIN.
#include <memory>

#include "atelier/adain_style.hpp"

#include "atelier/postprocess.hpp"

#include "atelier/regions.hpp"
#include "painting.hpp"

namespace atelier::python {
namespace {

struct Adain {
  std::string device;
  std::shared_ptr<const AdainPainter> painter;
};

}  // namespace

void add_adain(py::module_& m) {
  py::class_<AdainStyle>(m, "AdainStyle", "An AdaIN style: the per-channel mean and std of a painting's features.")
      .def_readonly("level", &AdainStyle::level)
      .def_property_readonly("mean", [](const AdainStyle& s) { return py::array_t<float>(static_cast<py::ssize_t>(s.mean.size()), s.mean.data()); })
      .def_property_readonly("std", [](const AdainStyle& s) { return py::array_t<float>(static_cast<py::ssize_t>(s.std.size()), s.std.data()); });

  py::class_<Adain>(m, "AdaIN",
                    "AdaIN arbitrary style transfer (Huang & Belongie 2017): a VGG encoder, adaptive instance\n"
                    "normalisation and a decoder (naoto0804's, imported, or one from train_arbitrary).")
      .def(py::init([](py::object encoder, py::object decoder, const std::string& device, py::object models_dir) {
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
          [](const Adain& self, py::object painting, int style_size, std::optional<std::string> precision) {
            const Precision chosen = precision_for(precision, self.device);
            const cv::Mat picture = picture_from_python(painting, "style", default_max_pixels()).rgb;
            return without_gil([&] { return self.painter->style(picture, style_size, chosen); });
          },
          py::arg("painting"), py::kw_only(), py::arg("style_size") = kAdainStyleSize, py::arg("precision") = py::none(),
          "A painting's statistics, computed once (its shorter side shrunk to style_size; 0: as it is).")
      .def(
          "__call__",
          [](const Adain& self, py::object photo, py::object style, py::object weights, double strength,
             py::object mask, bool preserve_color, std::optional<int> size, bool original_colors,
             std::vector<std::string> post, std::optional<std::string> precision, py::object max_memory,
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
           kMemoryDoc + kFinishingDoc).c_str());
}

}  // namespace atelier::python
