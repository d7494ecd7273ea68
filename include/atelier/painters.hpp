// The painting methods behind one torch-free API. Each painter loads its
// network once and paints any number of pictures; the CLI, the studio and
// programs using the library all call these, then finish() (finish.hpp).
//
//   atelier::FastStylePainter candy(store.resolve("candy"));
//   cv::Mat painted = candy.paint(photo.rgb);
//
// Pictures are CV_32FC3 RGB in [0,1] (atelier/image.hpp loads them).
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "atelier/gatys_options.hpp"
#include "atelier/runtime.hpp"

namespace atelier {

class FastStyleNetwork;
class VggFeatures;

// The feature network and the output's longest side when none is given.
inline constexpr const char* kGatysDefaultWeights = "vgg19";
inline constexpr int kGatysDefaultSide = 512;
// The longest side Gatys paints the content at: the last of `options.scales`,
// else `size`, else kGatysDefaultSide.
inline int gatys_output_side(const GatysOptions& options, int size) {
  return !options.scales.empty() ? options.scales.back() : size > 0 ? size : kGatysDefaultSide;
}

// Coarse to fine for an output side (`--scales auto`): from a quarter of it,
// at least 128 px, up by about sqrt(2) to the side itself; the coarse scales
// get kGatysAutoCoarseIterations each unless coarse_iterations says.
std::vector<int> gatys_auto_scales(int side);
inline constexpr int kGatysAutoCoarseIterations = 100;

// Style transfer by optimisation (Gatys et al.) with a VGG feature network.
class GatysPainter {
 public:
  struct Network {
    std::string weights_path;     // a .safetensors file (ModelStore::resolve finds it)
    std::string preprocess;       // "caffe" or "torchvision"; empty: the file's metadata
    std::string pooling = "max";  // "max" or "avg"
    std::string device = "cpu";   // "cpu", "cuda" or "cuda:N"
  };
  // Throws atelier::Error for a missing or foreign weights file or a bad setting.
  explicit GatysPainter(const Network& network);

  std::string architecture() const;  // "vgg19", "vgg16", "vgg (partial)"
  std::string preprocess() const;    // the input convention in use
  // `options` with each empty layer list given the network's default.
  GatysOptions with_default_layers(GatysOptions options) const;

  // Paints `content` in the manner of `styles` (see stylize_gatys in gatys.hpp).
  GatysResult paint(const cv::Mat& content, const std::vector<cv::Mat>& styles, const GatysOptions& options,
                    const GatysCallbacks& callbacks = {}) const;

  // How far `picture` is from `style` in style (both CV_32FC3 RGB [0,1],
  // each fitted to `side` px on its longest side): the mean over the default
  // style layers of the Gram matrices' relative squared error, the loss
  // Gatys minimises. A measure for results of any method (video-metrics).
  double style_distance(const cv::Mat& picture, const cv::Mat& style, int side = 256) const;

  const VggFeatures& network() const { return *network_; }

 private:
  std::shared_ptr<const VggFeatures> network_;
};

// A trained feed-forward style (Johnson et al.): one pass per picture.
class FastStylePainter {
 public:
  // A safetensors or .pth file of either architecture (fast_style.hpp).
  explicit FastStylePainter(const std::string& weights_path, const std::string& device = "cpu");

  std::string architecture() const;  // "pytorch-examples" or "engstrom"
  // The picture at its own size; in tiles (tiling.hpp) when the whole pass
  // would need more than `max_memory` bytes (0: no limit).
  cv::Mat paint(const cv::Mat& rgb, Precision precision = Precision::F32, std::int64_t max_memory = 0) const;

  const FastStyleNetwork& network() const { return *network_; }

 private:
  std::shared_ptr<const FastStyleNetwork> network_;
};

}  // namespace atelier
