// The memory plan of a feed-forward pass: whole, or in tiles that fit a
// budget. Torch-free, so front ends can say what will happen before it does.
#pragma once
#include <cstdint>

namespace atelier {

// What a network's passes hold, measured (bench/): a whole pass peaks at
// process + whole_per_pixel x pixels; a tiled pass keeps tiled_per_pixel x
// pixels for the whole picture (the quarter-size trunk, the input, the
// blended output) plus one tile's whole-pass working set, its halo included.
struct TilingCosts {
  std::int64_t process_bytes = 0;
  std::int64_t whole_bytes_per_pixel = 0;
  std::int64_t tiled_bytes_per_pixel = 0;
  std::int64_t halo_pixels = 0;  // added to a tile's side (both halos)
};

// How to stylise a height x width image within max_memory bytes (0: no
// limit): whole (tile 0) or in tiles of `tile` pixels, from measured peaks.
// Throws atelier::Error when not even small tiles fit.
struct TilingPlan {
  std::int64_t tile = 0;
  std::int64_t estimated_bytes = 0;
};
TilingPlan plan_tiling(std::int64_t height, std::int64_t width, std::int64_t max_memory, const TilingCosts& costs);
// The fast style networks' plan (FastStylePainter, stylize --model).
TilingPlan plan_tiling(std::int64_t height, std::int64_t width, std::int64_t max_memory);

}  // namespace atelier
