#include "atelier/arbitrary_style.hpp"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"
#include "models/magenta.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace arbitrary_detail {

constexpr int kMinimumStyleSide = 16;

// Peak memory of the transfer network, measured (bench/bench_magenta_tiles,
// fp32, 1000x752 to 4000x3000): a whole pass holds 360-430 bytes a pixel
// over the process and the picture (the upsampled, padded full-size maps of
// the last stages; 4806 MiB at 4000x3000); tiled, 60-95 bytes a pixel (the
// picture padded, the quarter-size trunk, the blended output) plus the
// tile's own working set. The halos: 4 + 4 quarter-size pixels, both sides.
constexpr TilingCosts kMagentaCosts{int64_t{300} << 20, 450, 100, 64};
constexpr const char* kFormat = "atelier-style-vector";

// json[key] when it is a string, else "".
std::string text_field(const nlohmann::json& json, const char* key) {
  const auto found = json.find(key);
  return found != json.end() && found->is_string() ? found->get<std::string>() : std::string();
}

void check_length(const StyleVector& style, const std::string& what) {
  if (style.values.size() != static_cast<size_t>(kMagentaStyleLength))
    throw Error(what + " holds " + std::to_string(style.values.size()) + " numbers; a Magenta style vector has " +
                std::to_string(kMagentaStyleLength));
}

torch::Tensor to_tensor(const StyleVector& style) {
  check_length(style, "the style vector");
  return torch::from_blob(const_cast<float*>(style.values.data()), {1, kMagentaStyleLength}, torch::kFloat32).clone();
}

StyleVector from_tensor(const torch::Tensor& tensor) {
  const auto values = tensor.to(torch::kCPU, torch::kFloat32).contiguous().reshape({-1});
  StyleVector style;
  style.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
  return style;
}

// Up to the next multiple of 4 (and at least 8), the extra split evenly
// before and after.
int padded_side(int n) { return std::max<int>(8, (n + kMagentaMultiple - 1) / kMagentaMultiple * kMagentaMultiple); }

}  // namespace arbitrary_detail

namespace ad = arbitrary_detail;

StyleFit parse_style_fit(const std::string& name) {
  if (name == "crop") return StyleFit::CentreCrop;
  if (name == "whole") return StyleFit::Whole;
  throw Error("unknown style fit \"" + name + "\" (crop or whole)");
}

cv::Mat style_picture_input(const cv::Mat& rgb, const StylePictureOptions& options) {
  if (options.size < ad::kMinimumStyleSide || options.size > 1024)
    throw Error("the style picture size must be 16..1024, not " + std::to_string(options.size));
  if (rgb.empty() || rgb.type() != CV_32FC3) throw Error("internal: style pictures are CV_32FC3 RGB");
  if (rgb.cols < ad::kMinimumStyleSide || rgb.rows < ad::kMinimumStyleSide)
    throw Error("a style picture of " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
                " is too small (at least " + std::to_string(ad::kMinimumStyleSide) + " pixels a side)");
  cv::Mat square = rgb;
  if (options.fit == StyleFit::CentreCrop) {
    const int side = std::min(rgb.cols, rgb.rows);
    square = rgb(cv::Rect((rgb.cols - side) / 2, (rgb.rows - side) / 2, side, side));
  }
  return resize_plane(square, {options.size, options.size});
}

MagentaPainter::MagentaPainter(const std::string& predictor_path, const std::string& transfer_path,
                               const std::string& device)
    : predictor_(std::make_shared<const MagentaPredictor>(load_magenta_predictor(predictor_path, parse_device(device)))),
      transfer_(std::make_shared<const MagentaTransfer>(load_magenta_transfer(transfer_path, parse_device(device)))) {}

MagentaPainter load_magenta_painter(const std::string& models_dir, const std::string& device) {
  const ModelStore store(models_dir);
  return MagentaPainter(store.resolve(kMagentaPredictorName), store.resolve(kMagentaTransferName), device);
}

StyleVector MagentaPainter::style_vector(const cv::Mat& rgb, const StylePictureOptions& options) const {
  const cv::Mat square = style_picture_input(rgb, options);
  torch::InferenceMode inference;
  return ad::from_tensor(predictor_->forward(image_to_tensor(square, predictor_->device())));
}

TilingPlan plan_magenta_tiling(std::int64_t height, std::int64_t width, std::int64_t max_memory) {
  auto padded = [](std::int64_t n) { return std::max<std::int64_t>(8, (n + 3) / 4 * 4); };  // as paint() pads
  return plan_tiling(padded(height), padded(width), max_memory, ad::kMagentaCosts);
}

cv::Mat MagentaPainter::paint(const cv::Mat& rgb, const StyleVector& style, double strength, Precision precision,
                              const StylePictureOptions& options, std::int64_t max_memory) const {
  if (rgb.empty() || rgb.type() != CV_32FC3) throw Error("internal: pictures are CV_32FC3 RGB");
  const StyleVector used = strength == 1.0 ? style : interpolate_style_vectors(style, style_vector(rgb, options), strength);
  const int height = ad::padded_side(rgb.rows), width = ad::padded_side(rgb.cols);
  const int top = (height - rgb.rows) / 2, left = (width - rgb.cols) / 2;
  cv::Mat padded;
  cv::copyMakeBorder(rgb, padded, top, height - rgb.rows - top, left, width - rgb.cols - left, cv::BORDER_REFLECT_101);
  const TilingPlan plan = plan_magenta_tiling(rgb.rows, rgb.cols, max_memory);
  const torch::Tensor vector = ad::to_tensor(used);
  cv::Mat painted;
  if (plan.tile > 0) {
    painted = stylize_tiled(MagentaStages(*transfer_, vector), padded, plan.tile, precision);
  } else {
    torch::InferenceMode inference;
    AutocastScope autocast(precision, transfer_->device());
    painted = tensor_to_image(transfer_->forward(image_to_tensor(padded, transfer_->device()), vector));
  }
  return painted(cv::Rect(left, top, rgb.cols, rgb.rows)).clone();
}

StyleVector blend_style_vectors(const std::vector<StyleVector>& styles, const std::vector<double>& weights) {
  if (styles.empty()) throw Error("no style to blend");
  if (weights.size() != styles.size())
    throw Error(std::to_string(weights.size()) + " blend weights for " + std::to_string(styles.size()) + " styles");
  double total = 0;
  for (double weight : weights) {
    if (!std::isfinite(weight) || weight < 0) throw Error("blend weights must be finite and not negative");
    total += weight;
  }
  if (total <= 0) throw Error("the blend weights sum to zero");
  StyleVector out;
  out.values.assign(kMagentaStyleLength, 0.0f);
  for (size_t i = 0; i < styles.size(); ++i) {
    ad::check_length(styles[i], "style " + std::to_string(i + 1));
    for (int k = 0; k < kMagentaStyleLength; ++k)
      out.values[k] += static_cast<float>(weights[i] / total * styles[i].values[k]);
  }
  return out;
}

StyleVector interpolate_style_vectors(const StyleVector& style, const StyleVector& own, double strength) {
  if (!(strength >= 0.0 && strength <= 1.0)) throw Error("strength must be in [0,1]");
  return blend_style_vectors({style, own}, {strength, 1.0 - strength});
}

std::string style_vector_json(const StyleVector& style) {
  ad::check_length(style, "the style vector");
  nlohmann::json json = {{"format", ad::kFormat}, {"version", 1}, {"model", style.model}, {"values", style.values}};
  return json.dump(1) + "\n";
}

StyleVector parse_style_vector_json(const std::string& text, const std::string& name) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || ad::text_field(json, "format") != ad::kFormat)
    throw Error(name + ": not an Atelier style vector (JSON with \"format\": \"" + ad::kFormat + "\")");
  StyleVector style;
  style.model = ad::text_field(json, "model");
  if (style.model != kMagentaModelName)
    throw Error(name + ": a style vector of \"" + style.model + "\", not of " + kMagentaModelName);
  const auto values = json.find("values");
  if (values == json.end() || !values->is_array()) throw Error(name + ": \"values\" must be a list of numbers");
  for (const auto& value : *values) {
    if (!value.is_number() || !std::isfinite(value.get<double>()))
      throw Error(name + ": \"values\" must be a list of finite numbers");
    style.values.push_back(value.get<float>());
  }
  ad::check_length(style, name);
  return style;
}

void save_style_vector(const StyleVector& style, const std::string& path) {
  write_file_atomically(path, style_vector_json(style));
}

StyleVector load_style_vector(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return parse_style_vector_json(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace atelier
