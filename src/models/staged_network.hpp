// What a feed-forward style network shows so that a large picture can run
// in tiles with every instance norm using the WHOLE picture's statistics
// (stylize_tiled, src/stylize/tiled_stylize.cpp). Every such network has
// the same shape: an encoder down to a map `map_stride()` times smaller (a
// quarter-size map for the fast styles and Magenta, 4 or 8 for AdaIN), a
// trunk on the whole map (residual blocks; AdaIN itself), and a decoder
// back up to full size.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <array>
#include <vector>

#include "atelier/runtime.hpp"

namespace atelier {

// Per-channel mean and biased variance ([C] float32) of the input of one
// instance-norm layer.
struct ChannelStatistics {
  torch::Tensor mean, variance;
};

// Where the instance norms of the encoder or the decoder take their
// statistics from. The first fixed.size() norms use the given ones (those
// of the whole image, for tiled runs). The next one computes them from its
// own input, as in an ordinary forward pass; or, with stop_at_next, the
// stage ends there and returns that input, so that a caller can gather its
// statistics over all tiles.
struct NormPlan {
  std::vector<ChannelStatistics> fixed;
  bool stop_at_next = false;
};

// A network in three stages, RGB [0,1] in and out, on [1,3,H,W] tensors.
class StagedNetwork {
 public:
  virtual ~StagedNetwork() = default;
  virtual const torch::Device& device() const = 0;
  // How many picture pixels a map pixel spans (a side of the picture must
  // be a multiple of it).
  virtual int64_t map_stride() const { return 4; }
  // A region of the picture (CV_32FC3 RGB [0,1]) as encode() takes it.
  virtual torch::Tensor input(const cv::Mat& rgb) const = 0;
  // Full size down to the map. `whole` is the (H, W) of the picture a tile
  // comes from; a tile starts at a multiple of map_stride() pixels.
  virtual torch::Tensor encode(const torch::Tensor& input, const NormPlan& plan, std::array<int64_t, 2> whole) const = 0;
  // On the whole map: its norms compute their own statistics.
  virtual torch::Tensor trunk(const torch::Tensor& encoded) const = 0;
  // Back up to full size: RGB [0,1] when it runs to the end.
  virtual torch::Tensor decode(const torch::Tensor& trunk_output, const NormPlan& plan) const = 0;
  // The size of each encoder or decoder norm's input relative to the map
  // (map_stride(): full size), in order.
  virtual std::vector<int64_t> encoder_norm_scales() const = 0;
  virtual std::vector<int64_t> decoder_norm_scales() const = 0;
  // How far, in map pixels, a pixel of the encoder's output or
  // of the decoder's output (and of every norm input on the way) depends on
  // its surroundings: the halo a tile needs for its inner part to be exact.
  virtual int64_t encoder_reach() const = 0;
  virtual int64_t decoder_reach() const = 0;
};

// `network` on `rgb` (CV_32FC3 RGB [0,1], sides multiples of map_stride()
// when the network needs that) in tiles of at most `tile` x `tile` pixels
// (a multiple of map_stride(), at least 64) that overlap and are blended with feathered
// weights. Every encoder and decoder norm uses the statistics of the whole
// picture, gathered over the tiles in extra passes; the trunk runs on the
// whole map. So the result is one whole pass's up to rounding.
cv::Mat stylize_tiled(const StagedNetwork& network, const cv::Mat& rgb, int64_t tile,
                      Precision precision = Precision::F32);

}  // namespace atelier
