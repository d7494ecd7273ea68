// Gatys at print sizes in bounded memory: a scale too large for one pass is
// optimised in overlapping tiles, one after the other, each from the picture
// as the tiles before it left it. Each sees a halo of its neighbours (its
// losses reach past its own part), and its change is laid back with a weight
// that cross-fades with its neighbours' over the middle of their overlap (the
// weights sum to 1), so every pixel changes by one tile's worth and
// neighbours meet without a seam; the style targets are the whole style
// picture's Gram matrices, gathered tile by tile.
#pragma once
#include <torch/torch.h>

#include <opencv2/core.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "atelier/gatys_options.hpp"
#include "atelier/tiling.hpp"
#include "models/vgg.hpp"

namespace atelier {

// Peak memory of one Gatys scale (bench/bench_gatys, fp32 L-BFGS with its
// 100-step history, on the default pyramid): about 8 KB a pixel whole; tiled, the picture being
// optimised, its content and the blend take about 100 bytes a pixel.
TilingCosts gatys_tiling_costs();
// Tiles for a scale of `size`: 0 (one pass) when options.max_memory allows
// it, else options.tile when set, else the largest tile that fits.
std::int64_t gatys_tile_side(cv::Size size, const GatysOptions& options);

// Pixels of context each tile optimises beyond its own part, on every side:
// the cross-fade takes the inner half, so the tile edge stays 32 px away.
constexpr int kGatysHalo = 64;

// A tile's own part (the parts partition the picture) and the part it
// optimises (its own part plus the halo, clipped to the picture).
struct GatysTile {
  cv::Rect inner, outer;
};
std::vector<GatysTile> gatys_tiles(cv::Size size, std::int64_t tile, int halo = kGatysHalo);

// The half-width of the cross-fades between neighbouring tiles: half the
// halo (its outer half is context only, away from the tile's padded edge),
// or less where a tile's own part is narrower.
int gatys_tile_fade(const std::vector<GatysTile>& tiles);
// A tile's weight over its outer part ([1,1,h,w]): 1 on its own part away
// from its neighbours, rising linearly across [boundary - fade, boundary +
// fade) on a side with a neighbour, 0 beyond. Over all tiles the weights sum
// to 1 at every pixel.
torch::Tensor gatys_tile_weight(const GatysTile& tile, cv::Size size, int fade);
// Blends `optimised` (the tile's outer part, [1,3,h,w]) into `picture`
// ([1,3,H,W]) with `weight` (gatys_tile_weight): the picture moves by the
// tile's change times the weight.
void blend_tile(torch::Tensor& picture, const torch::Tensor& optimised, const GatysTile& tile,
                const torch::Tensor& weight);

// The Gram matrices at `layers` of a picture (CV_32FC3 RGB [0,1]) computed
// in tiles of `tile` pixels (0: one pass): each tile's features over its
// own part, with a halo for the network's reach, summed, so the result is
// the whole picture's Gram matrix (as gram_matrix would give) to within the
// halo's effect on deep layers.
std::map<std::string, torch::Tensor> gram_matrices_in_tiles(const VggFeatures& network, const cv::Mat& rgb,
                                                            const std::vector<std::string>& layers,
                                                            std::int64_t tile);

}  // namespace atelier
