#include "losses/losses.hpp"

namespace atelier {
namespace {

// Guards the division for an all-zero target (e.g. a dead relu layer).
constexpr double kTinyMeanSquare = 1e-12;

torch::Tensor relative_squared_error(const torch::Tensor& value, const torch::Tensor& target) {
  auto scale = target.pow(2).mean().detach().clamp_min(kTinyMeanSquare);
  return (value - target).pow(2).mean() / scale;
}

}  // namespace

torch::Tensor gram_matrix(const torch::Tensor& features) {
  const auto n = features.size(0), c = features.size(1);
  const auto hw = features.size(2) * features.size(3);
  const double scale = 1.0 / static_cast<double>(c * hw);
  if (!features.is_contiguous() && features.is_contiguous(torch::MemoryFormat::ChannelsLast)) {
    // Channels-last (the CPU's VGG): [N,HW,C] is a view; no NCHW copy.
    auto flat = features.permute({0, 2, 3, 1}).reshape({n, hw, c});
    return torch::bmm(flat.transpose(1, 2), flat) * scale;
  }
  auto flat = features.reshape({n, c, hw});
  return torch::bmm(flat, flat.transpose(1, 2)) * scale;
}

torch::Tensor content_loss(const torch::Tensor& features, const torch::Tensor& target) {
  return relative_squared_error(features, target);
}

torch::Tensor style_loss(const torch::Tensor& gram, const torch::Tensor& target_gram) {
  return relative_squared_error(gram, target_gram);
}

torch::Tensor total_variation_loss(const torch::Tensor& image) {
  using torch::indexing::Slice;
  auto dy = image.index({Slice(), Slice(), Slice(1, torch::indexing::None), Slice()}) -
            image.index({Slice(), Slice(), Slice(torch::indexing::None, -1), Slice()});
  auto dx = image.index({Slice(), Slice(), Slice(), Slice(1, torch::indexing::None)}) -
            image.index({Slice(), Slice(), Slice(), Slice(torch::indexing::None, -1)});
  return dy.pow(2).mean() + dx.pow(2).mean();
}

}  // namespace atelier
