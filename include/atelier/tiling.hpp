// The memory plan of a feed-forward pass: whole, or in tiles that fit a
// budget. Torch-free, so front ends can say what will happen before it does.
#pragma once
#include <cstdint>

namespace atelier {

// How to stylise a height x width image within max_memory bytes (0: no
// limit): whole (tile 0) or in tiles of `tile` pixels, from measured peaks.
// Throws atelier::Error when not even small tiles fit.
struct TilingPlan {
  std::int64_t tile = 0;
  std::int64_t estimated_bytes = 0;
};
TilingPlan plan_tiling(std::int64_t height, std::int64_t width, std::int64_t max_memory);

}  // namespace atelier
