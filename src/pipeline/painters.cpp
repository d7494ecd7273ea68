#include "atelier/painters.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "models/fast_style.hpp"
#include "stylize/gatys.hpp"
#include "stylize/gatys_tiles.hpp"
#include "losses/losses.hpp"
#include "atelier/image.hpp"
#include "models/vgg.hpp"

namespace atelier {

std::vector<int> gatys_auto_scales(int side) {
  std::vector<int> scales;
  // Below 128 px the coarse picture holds too little of the content to help.
  for (double scale = std::max(128, side / 4); scale < side * 0.9; scale *= std::sqrt(2.0))
    scales.push_back(static_cast<int>(std::lround(scale)));
  scales.push_back(side);
  return scales;
}

GatysPainter::GatysPainter(const Network& network) {
  std::optional<Preprocess> preprocess;
  if (!network.preprocess.empty()) preprocess = parse_preprocess(network.preprocess);
  network_ = std::make_shared<const VggFeatures>(
      VggFeatures::load(network.weights_path, preprocess, parse_pooling(network.pooling), parse_device(network.device)));
}

std::string GatysPainter::architecture() const { return network_->architecture(); }

std::string GatysPainter::preprocess() const { return preprocess_name(network_->preprocess()); }

GatysOptions GatysPainter::with_default_layers(GatysOptions options) const {
  if (options.content_layers.empty()) options.content_layers = default_content_layers(*network_);
  if (options.style_layers.empty()) options.style_layers = default_style_layers(*network_);
  return options;
}

GatysResult GatysPainter::paint(const cv::Mat& content, const std::vector<cv::Mat>& styles,
                                const GatysOptions& options, const GatysCallbacks& callbacks) const {
  return stylize_gatys(*network_, content, styles, with_default_layers(options), callbacks);
}

double GatysPainter::style_distance(const cv::Mat& picture, const cv::Mat& style, int side) const {
  const auto fitted = [&](const cv::Mat& rgb) { return resize_longest_side(Image{rgb, {}}, side).rgb; };
  const std::vector<std::string> layers = default_style_layers(*network_);
  const auto a = gram_matrices_in_tiles(*network_, fitted(picture), layers, 0);
  const auto b = gram_matrices_in_tiles(*network_, fitted(style), layers, 0);
  double sum = 0;
  for (const auto& layer : layers) sum += style_loss(a.at(layer), b.at(layer)).item<double>();
  return sum / layers.size();
}

FastStylePainter::FastStylePainter(const std::string& weights_path, const std::string& device)
    : network_(std::make_shared<const FastStyleNetwork>(load_fast_style_network(weights_path, parse_device(device)))) {}

std::string FastStylePainter::architecture() const { return architecture_name(network_->architecture()); }

cv::Mat FastStylePainter::paint(const cv::Mat& rgb, Precision precision, std::int64_t max_memory) const {
  return stylize_image_within(*network_, rgb, max_memory, precision);
}

}  // namespace atelier
