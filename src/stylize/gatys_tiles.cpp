#include "stylize/gatys_tiles.hpp"

#include <algorithm>

#include "torch/tensor_image.hpp"
#include "losses/losses.hpp"

namespace atelier {
namespace {

using torch::indexing::Slice;

// Style pictures are gathered in tiles aligned to VGG's deepest stride, so
// that the tiles' own parts partition every layer's map exactly.
constexpr std::int64_t kStride = 16;
// Context for the style features: past relu3_1's reach of 40 pixels.
constexpr int kStyleHalo = 64;

static_assert(kGatysHalo % kStride == 0, "halos keep the tiles on the pooling grid");

// About equal spans of at most `tile`, their boundaries on multiples of the
// deepest stride (as the halos' edges are): every tile then pools on the grid
// one pass over the picture would use. Off it, neighbours' strokes, which keep
// a 2 px period from the pooling, meet out of phase and the boundary shows.
std::vector<std::pair<int, int>> even_spans(int length, std::int64_t tile) {
  const std::int64_t units = (length + kStride - 1) / kStride;                  // strides of the picture
  const std::int64_t most = std::max<std::int64_t>(1, tile / kStride);         // strides a tile holds
  const std::int64_t count = (units + most - 1) / most;
  std::vector<std::pair<int, int>> spans;
  for (std::int64_t i = 0; i < count; ++i)
    spans.emplace_back(static_cast<int>(kStride * (units * i / count)),
                       static_cast<int>(std::min<std::int64_t>(length, kStride * (units * (i + 1) / count))));
  return spans;
}

std::vector<std::pair<int, int>> aligned_spans(int length, std::int64_t tile) {
  std::vector<std::pair<int, int>> spans;
  for (std::int64_t begin = 0; begin < length; begin += tile)
    spans.emplace_back(static_cast<int>(begin), static_cast<int>(std::min<std::int64_t>(begin + tile, length)));
  return spans;
}

std::vector<GatysTile> tiles_from(const std::vector<std::pair<int, int>>& rows,
                                  const std::vector<std::pair<int, int>>& cols, cv::Size size, int halo) {
  std::vector<GatysTile> tiles;
  for (const auto& [top, bottom] : rows)
    for (const auto& [left, right] : cols) {
      const cv::Rect inner(left, top, right - left, bottom - top);
      const int x0 = std::max(left - halo, 0), y0 = std::max(top - halo, 0);
      const cv::Rect outer(x0, y0, std::min(right + halo, size.width) - x0, std::min(bottom + halo, size.height) - y0);
      tiles.push_back({inner, outer});
    }
  return tiles;
}

// One axis of a tile's weight over [outer_begin, outer_end): across each
// boundary with a neighbour (not the picture's edge) a linear fade over
// [boundary - fade, boundary + fade) that the neighbour's complements.
torch::Tensor fade_weights(int outer_begin, int outer_end, int inner_begin, int inner_end, int length, int fade) {
  auto weights = torch::empty({outer_end - outer_begin});
  auto* w = weights.data_ptr<float>();
  for (int i = outer_begin; i < outer_end; ++i) {
    const float rising = inner_begin == 0 ? 1.0f : (i - (inner_begin - fade) + 0.5f) / (2.0f * fade);
    const float falling = inner_end == length ? 1.0f : 1.0f - (i - (inner_end - fade) + 0.5f) / (2.0f * fade);
    w[i - outer_begin] = std::clamp(std::min(rising, falling), 0.0f, 1.0f);
  }
  return weights;
}

// How many input pixels one pixel of `features` spans, for an input of `rows`.
std::int64_t stride_of(std::int64_t rows, const torch::Tensor& features) {
  std::int64_t stride = 1;
  while (stride < kStride && rows / (stride * 2) >= features.size(2)) stride *= 2;
  return stride;
}

}  // namespace

TilingCosts gatys_tiling_costs() {
  // 7200 bytes a pixel on pixels; the default pyramid's coarser levels make
  // the L-BFGS history a third longer: 100 pairs x 2 x 3 x 4 bytes x 1/3.
  return {std::int64_t{300} << 20, 8000, 120, 2 * kGatysHalo};
}

std::int64_t gatys_tile_side(cv::Size size, const GatysOptions& options) {
  if (options.tile > 0) return std::max(size.width, size.height) > options.tile ? options.tile : 0;
  return plan_tiling(size.height, size.width, options.max_memory, gatys_tiling_costs()).tile;
}

std::vector<GatysTile> gatys_tiles(cv::Size size, std::int64_t tile, int halo) {
  return tiles_from(even_spans(size.height, tile), even_spans(size.width, tile), size, halo);
}

int gatys_tile_fade(const std::vector<GatysTile>& tiles) {
  int fade = kGatysHalo / 2;
  for (const auto& tile : tiles) fade = std::min({fade, tile.inner.width / 2, tile.inner.height / 2});
  return std::max(1, fade);
}

torch::Tensor gatys_tile_weight(const GatysTile& tile, cv::Size size, int fade) {
  const cv::Rect& o = tile.outer;
  const cv::Rect& i = tile.inner;
  return (fade_weights(o.y, o.br().y, i.y, i.br().y, size.height, fade).view({-1, 1}) *
          fade_weights(o.x, o.br().x, i.x, i.br().x, size.width, fade).view({1, -1}))
      .view({1, 1, o.height, o.width});
}

void blend_tile(torch::Tensor& picture, const torch::Tensor& optimised, const GatysTile& tile,
                const torch::Tensor& weight) {
  const cv::Rect& o = tile.outer;
  auto region = picture.index({Slice(), Slice(), Slice(o.y, o.y + o.height), Slice(o.x, o.x + o.width)});
  // Linear: the tiles start from one painted picture, so in their few iterations neighbours refine the same
  // strokes, and weights that sum to 1 give the boundaries the energy a whole pass gives the same lines
  // (tests/torch_gatys_tiles_test.cpp). Clamped as a checkpoint saves it, so a resumed run starts alike.
  region.add_((optimised - region) * weight.to(picture.device())).clamp_(0, 1);
}

std::map<std::string, torch::Tensor> gram_matrices_in_tiles(const VggFeatures& network, const cv::Mat& rgb,
                                                            const std::vector<std::string>& layers,
                                                            std::int64_t tile) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> grams;
  if (tile <= 0 || std::max(rgb.cols, rgb.rows) <= tile) {
    const auto features = network.extract(image_to_tensor(rgb, network.device()), layers);
    for (const auto& layer : layers) grams[layer] = gram_matrix(features.at(layer));
    return grams;
  }
  const std::int64_t step = std::max(kStride, tile / kStride * kStride);
  std::map<std::string, std::int64_t> pixels;
  for (const auto& t : tiles_from(aligned_spans(rgb.rows, step), aligned_spans(rgb.cols, step), rgb.size(), kStyleHalo)) {
    const auto features = network.extract(image_to_tensor(rgb(t.outer), network.device()), layers);
    for (const auto& layer : layers) {
      const auto& f = features.at(layer);
      const std::int64_t s = stride_of(t.outer.height, f);
      const auto own = f.index({Slice(), Slice(), Slice((t.inner.y - t.outer.y) / s, (t.inner.br().y - t.outer.y) / s),
                                Slice((t.inner.x - t.outer.x) / s, (t.inner.br().x - t.outer.x) / s)});
      const auto flat = own.reshape({1, own.size(1), -1});
      const auto sum = torch::bmm(flat, flat.transpose(1, 2));
      auto [slot, inserted] = grams.emplace(layer, sum);
      if (!inserted) slot->second += sum;
      pixels[layer] += flat.size(2);
    }
  }
  for (auto& [layer, gram] : grams) gram /= static_cast<double>(gram.size(1) * pixels.at(layer));
  return grams;
}

}  // namespace atelier
