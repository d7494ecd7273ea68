// What a Gatys optimisation takes and gives, without torch: its options
// (with their defaults, the one place they are set), the progress it
// reports, the callbacks it calls, and its result.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "atelier/runtime.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {

// Where a run stands: enough to continue it later, exactly: the resumed run
// takes the same steps as one never stopped.
struct GatysCheckpoint {
  int scale_index = 0;
  int iteration = 0;  // iterations done at that scale
  cv::Mat rgb;        // CV_32FC3 RGB [0,1] at that scale's size
  // The optimiser where it stands, by name: "parameter" (the image being
  // optimised, unclamped) and the optimiser's state (L-BFGS: d, H_diag,
  // prev_flat_grad, old_dirs.N, old_stps.N, ro.N, al.N; Adam: exp_avg,
  // exp_avg_sq), with its numbers (n_iter, func_evals, t, prev_loss, step)
  // as exact decimal text. Empty in checkpoints from before they were kept:
  // such a run resumes from `rgb` with a fresh optimiser.
  std::map<std::string, TensorToWrite> optimizer_tensors;
  std::map<std::string, std::string> optimizer_values;
};

// The default pyramid's coarsest level, on the picture's shorter side (px),
// and the most levels one may ask for.
constexpr int kGatysPyramidCoarsest = 16;
constexpr int kGatysMaxPyramidLevels = 16;

struct GatysOptions {
  // Each empty list gets its default from what the network has (see
  // default_*_layers); a content weight of 0 turns the content term off.
  std::vector<std::string> content_layers;
  std::vector<std::string> style_layers;
  double content_weight = 1.0;
  double style_weight = 1.0e3;
  double tv_weight = 10.0;
  // One weight per style image (normalised to sum 1); empty means equal.
  std::vector<double> style_blend;
  // Longest side of the style images relative to the content's.
  double style_scale = 1.0;
  // Guided Gram matrices (Gatys et al. 2017, "Controlling Perceptual
  // Factors"): one weight map per style (CV_32FC1 in [0,1], any size: each
  // is resized to every layer), style i's loss counting only where its map
  // is. Each region's Gram matrix is normalised by its own area, so small
  // regions count as much as large ones; the target is the whole style
  // image's. Empty: every style everywhere, blended by style_blend.
  std::vector<cv::Mat> style_masks;

  // Video (Ruder et al. 2016, short-term consistency): the image is held near
  // `temporal_target` (the previous output warped along the optical flow,
  // CV_32FC3 RGB [0,1]) where `temporal_mask` (CV_32FC1 [0,1], 1 where the
  // flow is reliable) says: temporal_weight times the masked squared
  // difference, averaged over every pixel and channel. Both are resized to
  // each scale. Empty target: no temporal term.
  cv::Mat temporal_target;
  cv::Mat temporal_mask;
  double temporal_weight = 0;

  enum class Init { Content, Noise, Image } init = Init::Content;
  cv::Mat init_image;  // CV_32FC3 RGB [0,1], for Init::Image (resized to fit)
  std::uint64_t seed = 0;

  enum class Optimizer { LBFGS, Adam } optimizer = Optimizer::LBFGS;
  double learning_rate = 0.02;  // Adam, in [0,1] pixel units
  // L-BFGS: the correction pairs kept (neural-style's -lbfgs_num_correction).
  // Each iteration reads all of them twice: at 512 px, 100 pairs are 480 MB.
  int history = 100;
  // The picture as the optimiser sees it: this many pyramid levels, each
  // half the size of the one before (src/stylize/gatys_pyramid.hpp); 1 is
  // plain pixels, as neural-style. 0: the default, down to a coarsest level
  // of kGatysPyramidCoarsest px with L-BFGS, pixels with Adam.
  int pyramid = 0;
  int iterations = 500;         // per scale; for L-BFGS one iteration is one loss evaluation
  // Iterations at each scale before the last (0: `iterations`): a coarse
  // scale only gives the next a start, so it pays to stop it sooner.
  int coarse_iterations = 0;
  // BF16: the network and Gram matrices of the image being optimised run
  // under bf16 autocast; targets and loss reductions stay fp32.
  Precision precision = Precision::F32;

  // Longest side of each pass, coarse to fine; empty: one pass at the
  // content image's own size.
  std::vector<int> scales;

  // Print sizes in bounded memory: a scale whose one pass would need more
  // than max_memory bytes (0: no limit) is optimised in overlapping tiles,
  // each for `iterations`, starting from the coarser scale (docs/GATYS.md);
  // the style targets stay the whole style picture's. `tile` forces tiles
  // of that side (pixels; 0: the largest that fit).
  std::int64_t max_memory = 0;
  int tile = 0;

  // Continue an interrupted run from this checkpoint (with the optimiser's
  // state when the checkpoint holds it).
  std::optional<GatysCheckpoint> resume_from;
};

// The iterations run at scale `index` of `count`.
inline int gatys_iterations_at(const GatysOptions& options, int index, int count) {
  return index + 1 < count && options.coarse_iterations > 0 ? options.coarse_iterations : options.iterations;
}

struct GatysProgress {
  int scale_index = 0;  // 0-based
  int scale_count = 1;
  int width = 0, height = 0;
  int iteration = 0;  // 1-based within this scale (over all its tiles)
  int iterations = 0;
  int tile = 0, tiles = 1;  // the tile being optimised (0-based), of how many at this scale
  int tile_side = 0;        // the tiles' longest side in pixels (0: one pass)
  double total = 0, content = 0, style = 0, tv = 0;  // weighted terms
  double temporal = 0;                                // weighted; 0 without a temporal target
};

struct GatysCallbacks {
  std::function<void(const GatysProgress&)> on_progress;
  // Called every `snapshot_every` iterations with the current image.
  int snapshot_every = 0;
  std::function<void(const cv::Mat& rgb, const GatysProgress&)> on_snapshot;
  // Called every `checkpoint_every` iterations, and when a stop is requested.
  int checkpoint_every = 0;
  // The checkpoint is the callee's (a temporary: moving it costs nothing).
  std::function<void(GatysCheckpoint)> on_checkpoint;
  // Polled after every iteration; returning true stops the run cleanly.
  std::function<bool()> stop_requested;
};

struct GatysResult {
  cv::Mat rgb;  // CV_32FC3 RGB [0,1], at the last scale's size
  // False when the loss became NaN or infinite: `rgb` is then the last image
  // whose loss was finite, and `message` says where it stopped.
  bool finite = true;
  // True when stop_requested() ended the run early (a checkpoint was taken).
  bool stopped = false;
  std::string message;
  double first_loss = 0;  // total loss at the first evaluation of the first scale
  double final_loss = 0;  // at the last finite evaluation
};

}  // namespace atelier
