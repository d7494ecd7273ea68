// Large images in tiles, with every instance norm using the statistics of
// the whole image, for any network in three stages (StagedNetwork: the fast
// style networks, Magenta's transfer network and AdaIN). The encoder and
// decoder, which work at full and half size, run tile by tile, while the
// trunk runs on the whole map (a quarter or an eighth of the size: 8 to 64
// bytes a picture pixel). Each encoder or decoder norm needs one extra pass
// over the tiles that stops at that norm and gathers its input's statistics
// over the tiles' inner parts, which partition the image; in the final pass
// every tile uses them all. With enough halo round each tile, every inner
// pixel is then computed exactly as in one pass over the whole image.
#include "atelier/error.hpp"
#include "atelier/memory_size.hpp"
#include "models/fast_style.hpp"
#include "models/staged_network.hpp"

namespace atelier {
namespace {

using torch::indexing::Slice;

// Peak memory of the fast style networks, measured on 4000x4000 and
// 2000x1500 images (both architectures, fp32 and bf16, bench/
// bench_fast_style --tile): a whole pass holds about 1 KB a pixel at once
// (the full-size 64-channel decoder maps); tiled, the trunk, the blended
// output and the input take about 250 bytes a pixel, plus each tile's own
// working set.
constexpr TilingCosts kFastStyleCosts{int64_t{300} << 20, 1100, 250, 64};
constexpr int64_t kSmallestTile = 256;

// Blending reaches kFeather map pixels beyond a tile's inner part.
constexpr int64_t kFeather = 4;

struct Span {
  int64_t begin, end;
};

// A tile in map pixels: the part it answers for (inner) and the part it
// computes (inner plus a halo, clipped to the map).
struct Tile {
  Span inner_rows, inner_cols;
  Span outer(int64_t halo, int64_t map_rows, int64_t map_cols, bool rows) const {
    const Span& inner = rows ? inner_rows : inner_cols;
    return {std::max<int64_t>(inner.begin - halo, 0), std::min(inner.end + halo, rows ? map_rows : map_cols)};
  }
};

std::vector<Span> split(int64_t length, int64_t step) {
  const int64_t count = (length + step - 1) / step;
  std::vector<Span> spans;
  for (int64_t i = 0; i < count; ++i) spans.push_back({length * i / count, length * (i + 1) / count});
  return spans;
}

// The inner part of a tile's activation at `scale` times the map's size,
// in the activation's own coordinates.
torch::Tensor inner_part(const torch::Tensor& activation, const Tile& tile, Span rows, Span cols, int64_t scale) {
  auto local = [&](Span inner, Span outer, int64_t size) {
    return Slice((inner.begin - outer.begin) * scale, std::min((inner.end - outer.begin) * scale, size));
  };
  return activation.index({Slice(), Slice(), local(tile.inner_rows, rows, activation.size(2)),
                           local(tile.inner_cols, cols, activation.size(3))});
}

// Means and biased variances per channel over many pieces: each piece's in
// float32 from two sums (libtorch 1.13's var_mean over several dimensions
// is a slow serial loop), merged pairwise (Chan et al.) in float64.
class StatisticsAccumulator {
 public:
  void add(const torch::Tensor& piece) {
    const auto values = piece.to(torch::kFloat32);
    const double count = static_cast<double>(values.size(2) * values.size(3));
    if (count == 0) return;
    const auto piece_mean = values.mean({0, 2, 3}, /*keepdim=*/true);
    auto variance = (values - piece_mean).square_().mean({0, 2, 3}).to(torch::kFloat64);
    auto mean = piece_mean.flatten().to(torch::kFloat64);
    if (count_ == 0) {
      count_ = count, mean_ = mean, m2_ = variance * count;
      return;
    }
    const double total = count_ + count;
    const auto delta = mean - mean_;
    m2_ = m2_ + variance * count + delta * delta * (count_ * count / total);
    mean_ = mean_ + delta * (count / total);
    count_ = total;
  }
  ChannelStatistics result() const {
    return {mean_.to(torch::kFloat32), (m2_ / count_).to(torch::kFloat32)};
  }

 private:
  double count_ = 0;
  torch::Tensor mean_, m2_;
};

// Weights along one axis of a tile's output: 1 inside, ramping linearly
// across the 2*feather pixels it shares with each neighbour, so that
// overlapping tiles sum to 1.
torch::Tensor feather_ramp(int64_t length, int64_t feather, bool before, bool after) {
  auto position = torch::arange(length, torch::kFloat32) + 0.5;
  auto ramp = torch::ones({length});
  if (before) ramp = torch::minimum(ramp, position / (2.0 * feather));
  if (after) ramp = torch::minimum(ramp, (length - position) / (2.0 * feather));
  return ramp;
}

}  // namespace

TilingPlan plan_tiling(int64_t height, int64_t width, int64_t max_memory, const TilingCosts& costs) {
  const int64_t pixels = height * width;
  const int64_t whole = costs.process_bytes + costs.whole_bytes_per_pixel * pixels;
  if (max_memory <= 0 || whole <= max_memory) return {0, whole};
  auto tiled = [&](int64_t tile) {
    const int64_t side = tile + costs.halo_pixels;
    return costs.process_bytes + costs.tiled_bytes_per_pixel * pixels + costs.whole_bytes_per_pixel * side * side;
  };
  if (tiled(kSmallestTile) > max_memory)
    throw Error(std::to_string(width) + "x" + std::to_string(height) + " needs about " +
                format_memory_size(std::min(whole, tiled(kSmallestTile))) + " even in tiles, more than --max-memory " +
                format_memory_size(max_memory) + ": raise it or stylise a smaller image (--size)");
  int64_t tile = kSmallestTile;
  while (tile < std::max(height, width) && tiled(tile + 64) <= max_memory) tile += 64;
  return {tile, tiled(tile)};
}

TilingPlan plan_tiling(int64_t height, int64_t width, int64_t max_memory) {
  return plan_tiling(height, width, max_memory, kFastStyleCosts);
}

cv::Mat stylize_image_within(const FastStyleNetwork& network, const cv::Mat& rgb, int64_t max_memory,
                             Precision precision) {
  const TilingPlan plan = plan_tiling(rgb.rows, rgb.cols, max_memory);
  return plan.tile > 0 ? stylize_image_tiled(network, rgb, plan.tile, precision) : stylize_image(network, rgb, precision);
}

cv::Mat stylize_image_tiled(const FastStyleNetwork& network, const cv::Mat& rgb, int64_t tile, Precision precision) {
  return stylize_tiled(FastStyleStages(network), rgb, tile, precision);
}

cv::Mat stylize_tiled(const StagedNetwork& network, const cv::Mat& rgb, int64_t tile, Precision precision) {
  const int64_t stride = network.map_stride();
  if (tile < 64 || tile % stride != 0)
    throw Error("tile size must be a multiple of " + std::to_string(stride) + " and at least 64 pixels");
  torch::InferenceMode inference;
  AutocastScope autocast(precision, network.device());
  const int64_t height = rgb.rows, width = rgb.cols;
  const int64_t map_rows = (height + stride - 1) / stride, map_cols = (width + stride - 1) / stride;
  // Halos in map pixels (`stride` image pixels each); the decoder's
  // output must be exact kFeather beyond a tile's inner part too.
  const int64_t encoder_halo = network.encoder_reach(), decoder_halo = kFeather + network.decoder_reach();
  std::vector<Tile> tiles;
  for (const Span& rows : split(map_rows, tile / stride))
    for (const Span& cols : split(map_cols, tile / stride)) tiles.push_back({rows, cols});

  auto encode_tile = [&](const Tile& t, const NormPlan& plan, Span& rows, Span& cols) {
    rows = t.outer(encoder_halo, map_rows, map_cols, true), cols = t.outer(encoder_halo, map_rows, map_cols, false);
    const cv::Rect region(static_cast<int>(stride * cols.begin), static_cast<int>(stride * rows.begin),
                          static_cast<int>(std::min(stride * cols.end, width) - stride * cols.begin),
                          static_cast<int>(std::min(stride * rows.end, height) - stride * rows.begin));
    return network.encode(network.input(rgb(region)), plan, {height, width});
  };

  // One pass over the tiles per norm of a stage: each stops at the next
  // norm and gathers its input's statistics over the tiles' inner parts.
  auto gather_statistics = [&](const std::vector<int64_t>& scales, const auto& run_tile) {
    NormPlan plan{{}, /*stop_at_next=*/true};
    for (int64_t scale : scales) {
      StatisticsAccumulator statistics;
      for (const Tile& t : tiles) {
        Span rows{}, cols{};
        auto activation = run_tile(t, plan, rows, cols);
        statistics.add(inner_part(activation, t, rows, cols, scale));
      }
      plan.fixed.push_back(statistics.result());
    }
    plan.stop_at_next = false;  // every norm's statistics are known now
    return plan;
  };

  // Encoder: its statistics, then one pass that assembles the whole map.
  const NormPlan encoder = gather_statistics(network.encoder_norm_scales(), encode_tile);
  torch::Tensor encoded;
  for (const Tile& t : tiles) {
    Span rows{}, cols{};
    auto piece = inner_part(encode_tile(t, encoder, rows, cols), t, rows, cols, 1);
    if (!encoded.defined())  // in the pieces' memory format too: channels-last on the CPU
      encoded = torch::empty({1, piece.size(1), map_rows, map_cols},
                             piece.options().memory_format(piece.suggest_memory_format()));
    encoded.index_put_({Slice(), Slice(), Slice(t.inner_rows.begin, t.inner_rows.end),
                        Slice(t.inner_cols.begin, t.inner_cols.end)},
                       piece);
  }
  const auto trunk_output = network.trunk(encoded);
  encoded = torch::Tensor();

  auto decode_tile = [&](const Tile& t, const NormPlan& plan, Span& rows, Span& cols) {
    rows = t.outer(decoder_halo, map_rows, map_cols, true), cols = t.outer(decoder_halo, map_rows, map_cols, false);
    return network.decode(
        trunk_output.index({Slice(), Slice(), Slice(rows.begin, rows.end), Slice(cols.begin, cols.end)}), plan);
  };

  const NormPlan decoder = gather_statistics(network.decoder_norm_scales(), decode_tile);

  // Final pass: each tile adds its inner part, widened by kFeather map pixels
  // towards each neighbour, with weights that ramp across the overlap.
  auto blended = torch::zeros({3, stride * map_rows, stride * map_cols});
  auto weights = torch::zeros({1, stride * map_rows, stride * map_cols});
  for (const Tile& t : tiles) {
    Span rows{}, cols{};
    auto output = decode_tile(t, decoder, rows, cols).to(torch::kCPU, torch::kFloat32)[0];
    const bool above = t.inner_rows.begin > 0, below = t.inner_rows.end < map_rows;
    const bool left = t.inner_cols.begin > 0, right = t.inner_cols.end < map_cols;
    const Span blend_rows{t.inner_rows.begin - (above ? kFeather : 0), t.inner_rows.end + (below ? kFeather : 0)};
    const Span blend_cols{t.inner_cols.begin - (left ? kFeather : 0), t.inner_cols.end + (right ? kFeather : 0)};
    auto piece = output.index({Slice(), Slice(stride * (blend_rows.begin - rows.begin), stride * (blend_rows.end - rows.begin)),
                               Slice(stride * (blend_cols.begin - cols.begin), stride * (blend_cols.end - cols.begin))});
    auto weight = feather_ramp(piece.size(1), stride * kFeather, above, below).view({1, -1, 1}) *
                  feather_ramp(piece.size(2), stride * kFeather, left, right).view({1, 1, -1});
    const auto where = std::vector<torch::indexing::TensorIndex>{
        Slice(), Slice(stride * blend_rows.begin, stride * blend_rows.end), Slice(stride * blend_cols.begin, stride * blend_cols.end)};
    blended.index(where).add_(piece * weight);
    weights.index(where).add_(weight);
  }
  auto image = (blended / weights).index({Slice(), Slice(0, height), Slice(0, width)});
  return tensor_to_image(image);
}

}  // namespace atelier
