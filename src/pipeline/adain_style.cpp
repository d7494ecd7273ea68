#include "atelier/adain_style.hpp"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "models/adain.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace adain_style_detail {

std::string size_text(const cv::Mat& picture) { return std::to_string(picture.cols) + "x" + std::to_string(picture.rows); }

void check_picture(const cv::Mat& rgb, const std::string& what) {
  if (rgb.empty() || rgb.type() != CV_32FC3) throw Error("internal: pictures are CV_32FC3 RGB");
  if (rgb.cols < kAdainMinimumSide || rgb.rows < kAdainMinimumSide)
    throw Error("a " + what + " of " + size_text(rgb) + " is too small (at least " +
                std::to_string(kAdainMinimumSide) + " pixels a side)");
}

torch::Tensor to_tensor(const std::vector<float>& values, const torch::Device& device) {
  return torch::tensor(values, torch::kFloat32).view({1, -1, 1, 1}).to(device);
}

std::vector<float> to_vector(const torch::Tensor& tensor) {
  const auto values = tensor.to(torch::kCPU, torch::kFloat32).contiguous().view({-1});
  return {values.data_ptr<float>(), values.data_ptr<float>() + values.numel()};
}

// Up to the next multiple, the extra split evenly, the odd pixel after.
struct Padding {
  int top, bottom, left, right;
};
Padding padding_for(const cv::Mat& picture, int multiple) {
  const int height = (picture.rows + multiple - 1) / multiple * multiple;
  const int width = (picture.cols + multiple - 1) / multiple * multiple;
  const int top = (height - picture.rows) / 2, left = (width - picture.cols) / 2;
  return {top, height - picture.rows - top, left, width - picture.cols - left};
}
cv::Mat padded(const cv::Mat& picture, const Padding& pad) {
  cv::Mat out;
  cv::copyMakeBorder(picture, out, pad.top, pad.bottom, pad.left, pad.right, cv::BORDER_REFLECT_101);
  return out;
}

// Peak memory (bench/adain_tiles.sh, relu4_1 at 2000x1500: 1820 bytes a
// pixel whole, 231 tiled within 1.5 GB): a whole pass holds several
// full-size 64-channel maps of the encoder's first and the decoder's last
// convolutions; tiled, the input, the level's map, AdaIN's output and the
// blended output, plus a tile's own working set; its halo is 2 x 9 map
// pixels of 8 (decoder reach and feather).
constexpr TilingCosts kAdainCosts{int64_t{300} << 20, 2000, 160, 144};

}  // namespace adain_style_detail

namespace asd = adain_style_detail;

AdainPainter::AdainPainter(const std::string& encoder_path, const std::string& decoder_path, const std::string& device) {
  const torch::Device where = parse_device(device);
  encoder_ = load_adain_encoder(encoder_path, where);
  decoder_ = load_adain_decoder(decoder_path, where).ptr();
  decoder_->eval();
  level_ = decoder_->level;
  if (!encoder_->has_layer(level_))
    throw Error(decoder_path + " decodes " + level_ + " features but the encoder " + encoder_path + " stops at " +
                encoder_->layers().back() + " (use a decoder trained at " + adain_level(*encoder_) + ")");
}

TilingPlan plan_adain_tiling(std::int64_t height, std::int64_t width, const std::string& level,
                             std::int64_t max_memory) {
  check_adain_level(level);
  const std::int64_t multiple = adain_level_stride(level);
  auto padded = [&](std::int64_t n) { return (n + multiple - 1) / multiple * multiple; };  // as paint() pads
  return plan_tiling(padded(height), padded(width), max_memory, asd::kAdainCosts);
}

int AdainPainter::multiple() const { return static_cast<int>(adain_level_stride(level_)); }

AdainStyle AdainPainter::style(const cv::Mat& rgb, int style_size, Precision precision) const {
  asd::check_picture(rgb, "style picture");
  if (style_size != 0 && style_size < kAdainMinimumSide)
    throw Error("the style size must be 0 (as it is) or at least " + std::to_string(kAdainMinimumSide));
  cv::Mat picture = rgb;
  const int shorter = std::min(rgb.cols, rgb.rows);
  if (style_size > 0 && shorter > style_size) {
    const double scale = static_cast<double>(style_size) / shorter;
    picture = resize_plane(rgb, {std::max(style_size, static_cast<int>(std::lround(rgb.cols * scale))),
                                 std::max(style_size, static_cast<int>(std::lround(rgb.rows * scale)))});
  }
  torch::InferenceMode inference;
  AutocastScope autocast(precision, encoder_->device());
  const auto features = encoder_->extract(image_to_tensor(picture, encoder_->device()), {level_}).at(level_);
  const auto [mean, std] = channel_mean_std(features.to(torch::kFloat32));
  return {level_, asd::to_vector(mean), asd::to_vector(std)};
}

cv::Mat AdainPainter::paint(const cv::Mat& rgb, const std::vector<AdainStyle>& styles, const AdainOptions& options) const {
  asd::check_picture(rgb, "picture");
  if (styles.empty()) throw Error("AdaIN needs at least one style");
  for (const auto& style : styles)
    if (style.level != level_ || style.mean.size() != style.std.size() || style.mean.empty())
      throw Error("a style computed at " + style.level + " cannot paint with a decoder at " + level_);
  const bool masked = !options.mask.empty();
  if (masked && styles.size() != 2) throw Error("a mask takes two styles (white: the first, black: the second)");
  if (masked && !options.weights.empty()) throw Error("a mask paints each region with one style: no blend weights");
  if (masked && (options.mask.cols != rgb.cols || options.mask.rows != rgb.rows))
    throw Error("the mask is " + asd::size_text(options.mask) + ", the picture " + asd::size_text(rgb) +
                ": they must be the same size");
  if (masked && options.mask.type() != CV_32FC1 && options.mask.type() != CV_8UC1)
    throw Error("internal: masks are CV_32FC1 or CV_8UC1");

  const torch::Device device = encoder_->device();
  const asd::Padding pad = asd::padding_for(rgb, multiple());
  torch::InferenceMode inference;
  std::vector<AdainStatistics> statistics;
  for (const auto& style : styles)
    statistics.emplace_back(asd::to_tensor(style.mean, device), asd::to_tensor(style.std, device));
  // The decoder's input from the content's features at the level, for the
  // whole picture at once (in tiles too: AdainStages runs it on the whole map).
  const cv::Mat picture = asd::padded(rgb, pad);
  AdainStages::Target target;
  if (masked) {
    cv::Mat mask;
    options.mask.convertTo(mask, CV_32F, options.mask.type() == CV_8UC1 ? 1.0 / 255.0 : 1.0);
    mask = asd::padded(mask, pad);
    const auto whole_mask = torch::from_blob(mask.ptr<float>(), {mask.rows, mask.cols}, torch::kFloat32).clone();
    target = [&, whole_mask](const torch::Tensor& content) {
      return adain_masked_target(content, statistics[0], statistics[1],
                                 mask_at_size(whole_mask, content.size(2), content.size(3)).to(device), options.alpha);
    };
  } else {
    const std::vector<double> weights =
        options.weights.empty() ? std::vector<double>(styles.size(), 1.0) : options.weights;
    target = [&, weights](const torch::Tensor& content) {
      return adain_target(content, statistics, weights, options.alpha);
    };
  }
  const TilingPlan plan = plan_adain_tiling(rgb.rows, rgb.cols, level_, options.max_memory);
  cv::Mat painted;
  if (plan.tile > 0) {
    painted = stylize_tiled(AdainStages(*encoder_, *decoder_, target), picture, plan.tile, options.precision);
  } else {
    AutocastScope autocast(options.precision, device);
    const auto content = encoder_->extract(image_to_tensor(picture, device), {level_}).at(level_).to(torch::kFloat32);
    painted = tensor_to_image(decoder_->forward(target(content)));
  }
  return painted(cv::Rect(pad.left, pad.top, rgb.cols, rgb.rows)).clone();
}

}  // namespace atelier
