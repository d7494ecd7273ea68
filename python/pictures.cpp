// Pictures in and out of Python, load_image/save_image, finish() and the
// post-processing steps.
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdlib>
#include <mutex>

#include "atelier/finish.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/postprocess.hpp"
#include "bindings.hpp"

namespace atelier::python {
namespace {

bool is_path(py::handle object) { return py::isinstance<py::str>(object) || py::hasattr(object, "__fspath__"); }

bool is_pil_image(py::handle object) {
  return py::hasattr(object, "getbands") && py::hasattr(object, "mode") && py::hasattr(object, "convert");
}

// PIL's modes other than grey, RGB and RGBA (palettes, CMYK, 16-bit grey...)
// become RGB, or RGBA when they carry transparency.
py::object pil_as_array(py::handle image) {
  py::object pil = py::reinterpret_borrow<py::object>(image);
  const std::string mode = pil.attr("mode").cast<std::string>();
  if (mode != "L" && mode != "RGB" && mode != "RGBA") {
    const bool alpha = mode.find('A') != std::string::npos || mode == "PA" ||
                       py::bool_(pil.attr("info").attr("__contains__")("transparency"));
    pil = pil.attr("convert")(alpha ? "RGBA" : "RGB");
  }
  return py::module_::import("numpy").attr("asarray")(pil);
}

template <typename T>
cv::Mat wrap(const py::array& array, int depth) {
  auto contiguous = py::array_t<T, py::array::c_style>::ensure(array);
  const int channels = array.ndim() == 2 ? 1 : static_cast<int>(array.shape(2));
  cv::Mat view(static_cast<int>(array.shape(0)), static_cast<int>(array.shape(1)), CV_MAKETYPE(depth, channels),
               const_cast<T*>(contiguous.data()));
  return view.clone();
}

// The samples as float in [0,1], scaled exactly as the library's
// load_image scales a file's (convertTo by 1/255 or 1/65535).
cv::Mat to_float(const py::array& array, const std::string& what) {
  const char kind = array.dtype().kind();
  const auto size = array.dtype().itemsize();
  cv::Mat values;
  if (kind == 'u' && size == 1) {
    wrap<std::uint8_t>(array, CV_8U).convertTo(values, CV_32F, 1.0 / 255.0);
    return values;
  }
  if (kind == 'u' && size == 2) {
    wrap<std::uint16_t>(array, CV_16U).convertTo(values, CV_32F, 1.0 / 65535.0);
    return values;
  }
  if (kind == 'f' && (size == 4 || size == 8)) {
    if (size == 4) values = wrap<float>(array, CV_32F);
    else wrap<double>(array, CV_64F).convertTo(values, CV_32F);
    double lo = 0, hi = 0;
    cv::minMaxIdx(values.reshape(1), &lo, &hi);
    if (!std::isfinite(lo) || !std::isfinite(hi) || cv::checkRange(values) == false)
      throw Error(what + ": the picture holds values that are not finite numbers");
    if (lo < 0 || hi > 1) {
      char range[64];
      std::snprintf(range, sizeof range, "%g..%g", lo, hi);
      throw Error(what + ": float pictures take values in [0,1], this one has " + range +
                  (hi > 1 ? " (divide by 255, or give uint8)" : ""));
    }
    return values;
  }
  throw Error(what + ": pictures are uint8, uint16 or float arrays, not " +
              py::str(array.dtype()).cast<std::string>());
}

}  // namespace

Image picture_from_python(py::handle picture, const std::string& what, std::int64_t max_pixels) {
  if (picture.is_none()) throw Error(what + ": a picture is required (a path, a numpy array or a PIL image)");
  if (is_path(picture)) {
    const std::string path = py::str(py::module_::import("os").attr("fspath")(picture)).cast<std::string>();
    return without_gil([&] { return load_image(path, LoadOptions{max_pixels}); });
  }
  py::object source = is_pil_image(picture) ? pil_as_array(picture) : py::reinterpret_borrow<py::object>(picture);
  if (!py::isinstance<py::array>(source) && !py::hasattr(source, "__array__"))
    throw Error(what + ": expected a path, a numpy array or a PIL image, not " +
                py::str(py::type::handle_of(picture).attr("__name__")).cast<std::string>());
  const py::array array = py::array::ensure(source);
  if (!array) throw Error(what + ": cannot read it as an array");
  const bool shaped = array.ndim() == 2 || (array.ndim() == 3 && (array.shape(2) == 1 || array.shape(2) == 3 ||
                                                                   array.shape(2) == 4));
  if (!shaped) {
    std::string shape;
    for (py::ssize_t i = 0; i < array.ndim(); ++i) shape += (i ? " x " : "") + std::to_string(array.shape(i));
    throw Error(what + ": pictures are H x W, H x W x 3 or H x W x 4 arrays, not " + (shape.empty() ? "a scalar" : shape));
  }
  if (array.shape(0) == 0 || array.shape(1) == 0) throw Error(what + ": the picture is empty");
  if (max_pixels > 0 && array.shape(0) * array.shape(1) > max_pixels)
    throw Error(what + ": " + std::to_string(array.shape(1)) + "x" + std::to_string(array.shape(0)) +
                " has more pixels than max_pixels (" + std::to_string(max_pixels) + ")");
  const cv::Mat values = to_float(array, what);
  Image image;
  if (values.channels() == 1) {
    cv::cvtColor(values, image.rgb, cv::COLOR_GRAY2RGB);
  } else if (values.channels() == 3) {
    image.rgb = values;
  } else {
    cv::cvtColor(values, image.rgb, cv::COLOR_RGBA2RGB);
    cv::extractChannel(values, image.alpha, 3);
  }
  return image;
}

std::vector<py::handle> as_list(py::handle one_or_many) {
  std::vector<py::handle> items;
  if (py::isinstance<py::list>(one_or_many) || py::isinstance<py::tuple>(one_or_many)) {
    for (py::handle item : one_or_many) items.push_back(item);
  } else if (!one_or_many.is_none()) {
    items.push_back(one_or_many);
  }
  return items;
}

cv::Mat mask_picture_from_python(py::handle mask) { return picture_from_python(mask, "mask", 0).rgb; }

py::array picture_to_python(const Image& image) {
  cv::Mat merged = image.rgb;
  if (image.has_alpha()) {
    const cv::Mat planes[] = {image.rgb, image.alpha};
    cv::merge(planes, 2, merged);
  }
  const int channels = merged.channels();
  py::array_t<std::uint8_t> out({merged.rows, merged.cols, channels});
  cv::Mat target(merged.rows, merged.cols, CV_MAKETYPE(CV_8U, channels), out.mutable_data());
  merged.convertTo(target, CV_MAKETYPE(CV_8U, channels), 255.0);  // as save_image: saturate and round
  return std::move(out);
}

std::int64_t default_max_pixels() { return LoadOptions{}.max_pixels; }

std::int64_t memory_budget(py::handle max_memory) {
  if (max_memory.is_none()) return default_memory_budget();
  if (py::isinstance<py::str>(max_memory)) return parse_memory_size(max_memory.cast<std::string>());
  const auto bytes = max_memory.cast<std::int64_t>();
  if (bytes < 0) throw Error("max_memory: a number of bytes, or \"4G\"; not " + std::to_string(bytes));
  return bytes;
}

Precision precision_for(const std::optional<std::string>& name, const std::string& device) {
  const char* environment = std::getenv("ATELIER_PRECISION");
  const std::string chosen = name ? *name : environment && *environment ? environment : "auto";
  return parse_precision(chosen, device);
}

namespace {
std::once_flag runtime_once;
}

void ensure_runtime() {
  std::call_once(runtime_once, [] { configure_runtime(0); });
}

std::string path_or_empty(py::handle path) {
  if (path.is_none()) return "";
  return py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
}

bool says_stop(py::handle answer) {
  if (py::isinstance<py::bool_>(answer)) return !answer.cast<bool>();
  return py::isinstance<py::str>(answer) && answer.cast<std::string>() == "stop";
}

void add_pictures(py::module_& m) {
  m.def(
      "load_image",
      [](py::object path, std::int64_t max_pixels) { return picture_to_python(picture_from_python(path, "load_image", max_pixels)); },
      py::arg("path"), py::arg("max_pixels") = default_max_pixels(),
      "Reads a JPEG, PNG, WebP, TIFF or BMP file (EXIF orientation applied) as the library does.\n\n"
      "Returns a uint8 numpy array, H x W x 3 (RGB) or H x W x 4 (RGBA when the file has alpha).\n"
      "Raises atelier.Error with a one-line reason for a missing, corrupt or oversized file\n"
      "(more than max_pixels pixels; 0: no limit).");
  m.def(
      "save_image",
      [](py::object picture, py::object path, int quality, int bit_depth) {
        const Image image = picture_from_python(picture, "save_image", 0);
        const std::string where = path_or_empty(path);
        without_gil([&] { save_image(image, where, SaveOptions{quality, bit_depth}); });
      },
      py::arg("picture"), py::arg("path"), py::arg("quality") = SaveOptions{}.quality,
      py::arg("bit_depth") = SaveOptions{}.bit_depth,
      "Writes a picture (array or PIL image) by the path's extension (.png .jpg .webp .tif .bmp), atomically:\n"
      "a failed write leaves no partial file. Alpha is kept for PNG, WebP and TIFF. The bytes are those\n"
      "the CLI writes for the same picture.");
  m.def(
      "resize",
      [](py::object picture, int longest_side) {
        if (longest_side < 1) throw Error("resize: longest_side must be at least 1, not " + std::to_string(longest_side));
        return picture_to_python(resize_longest_side(picture_from_python(picture, "resize", 0), longest_side));
      },
      py::arg("picture"), py::arg("longest_side"),
      "The picture scaled so that its longest side is `longest_side` (aspect kept; area filter when shrinking,\n"
      "cubic when enlarging), as --size resizes photos.");
  // The colour steps on their own (postprocess.hpp), for pictures painted elsewhere.
  const auto colour_step = [&m](const char* name, cv::Mat (*step)(const cv::Mat&, const cv::Mat&), const char* doc) {
    m.def(
        name,
        [step](py::object picture, py::object reference) {
          const cv::Mat rgb = picture_from_python(picture, "picture", 0).rgb;
          const cv::Mat other = picture_from_python(reference, "reference", 0).rgb;
          return picture_to_python(Image{without_gil([&] { return step(rgb, other); }), {}});
        },
        py::arg("picture"), py::arg("reference"), doc);
  };
  colour_step("match_histograms", &match_histograms,
              "Each channel of `picture` given the histogram of `reference`'s (post step 'hist:...').");
  colour_step("transfer_colors", &transfer_lab_statistics,
              "`picture` given the mean and spread of `reference`'s colours in LAB (Reinhard et al.; post step 'lab:...').");
  colour_step("keep_original_colors", &keep_original_colors,
              "The luminance of `picture` (a painting) with the colours of `reference` (its photo), as\n"
              "original_colors=True does.");
  m.def(
      "finish",
      [](py::object painted, py::object photo, py::object style, double strength, bool original_colors,
         const std::vector<std::string>& post) {
        FinishOptions options;
        options.strength = strength;
        options.original_colors = original_colors;
        options.post = parse_post_steps(post, !style.is_none());
        const Image painting = picture_from_python(painted, "painted", 0);
        const Image content = picture_from_python(photo, "photo", 0);
        const cv::Mat style_rgb = style.is_none() ? cv::Mat() : picture_from_python(style, "style", 0).rgb;
        if (strength < 0 || strength > 1) throw Error("strength must be in [0,1], not " + std::to_string(strength));
        return picture_to_python(without_gil([&] { return finish(painting.rgb, content, style_rgb, options); }));
      },
      py::arg("painted"), py::arg("photo"), py::arg("style") = py::none(), py::kw_only(),
      py::arg("strength") = FinishOptions{}.strength, py::arg("original_colors") = FinishOptions{}.original_colors,
      py::arg("post") = std::vector<std::string>{},
      "The finishing every method shares (the library's finish()): blend with the photo by `strength`\n"
      "(1: the painting alone, 0: the photo), keep the photo's colours (`original_colors`, luminance-only\n"
      "transfer), then the `post` steps in order, then the photo's alpha.\n\n"
      "post: CLI --post specs: 'hist:content', 'hist:style', 'lab:content', 'lab:style',\n"
      "'unsharp[:AMOUNT[:SIGMA]]', 'guided[:RADIUS[:EPS]]', 'denoise[:STRENGTH]' (the ':style' ones need\n"
      "`style`). `painted` and `photo` are pictures of the same size (`photo` may differ when strength is 1).");
}

}  // namespace atelier::python
