// AdaIN arbitrary style transfer (Huang & Belongie 2017): any picture as a
// style, in one pass through a VGG encoder, adaptive instance normalisation
// and a decoder. Torch-free.
//
//   atelier::AdainPainter adain(store.resolve("adain/vgg_normalised"), store.resolve("adain/decoder"));
//   atelier::AdainStyle starry = adain.style(atelier::load_image("starry.jpg").rgb);  // once per style
//   atelier::AdainOptions options;
//   options.alpha = 0.8;
//   cv::Mat painted = adain.paint(photo.rgb, {starry}, options);
//
// The weights: naoto0804/pytorch-AdaIN's vgg_normalised.pth and decoder.pth
// (`atelier models import`), which work at relu4_1, or a decoder trained by
// `atelier train-arbitrary` (at relu3_1 with the shared partial VGG).
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "atelier/runtime.hpp"
#include "atelier/tiling.hpp"

namespace atelier {

class FeatureNetwork;
struct AdainDecoderImpl;

// A style as AdaIN uses it: the per-channel mean and std of the style
// picture's features at the painter's level. Computed once, reused for any
// number of photos.
struct AdainStyle {
  std::string level;  // "relu3_1" or "relu4_1"
  std::vector<float> mean, std;
};

struct AdainOptions {
  // 0 keeps the photo's own features, 1 paints with the style's statistics
  // (naoto0804's alpha: a mix of features, not of pixels).
  double alpha = 1.0;
  // One weight per style (normalised to sum 1); empty: equal weights.
  std::vector<double> weights;
  // With exactly two styles: a picture the content's size (CV_32FC1 in [0,1]
  // or CV_8UC1); white (>= 0.5, at the features' resolution) is painted with
  // the first style, black with the second. Empty: no mask.
  cv::Mat mask;
  Precision precision = Precision::F32;
  // Memory to stay within in bytes (0: no limit): a larger picture runs in
  // tiles (plan_adain_tiling) with AdaIN on the whole picture's features, so
  // the result is the whole pass's up to float rounding.
  std::int64_t max_memory = 0;
};

// The networks' default names in the model search path (`models import`
// installs naoto0804's there under these names).
inline constexpr const char* kAdainEncoderName = "adain/vgg_normalised";
inline constexpr const char* kAdainDecoderName = "adain/decoder";

// How large a style picture is encoded: its shorter side is shrunk to this
// (naoto0804's default, 512) but never enlarged; 0 keeps it as it is.
inline constexpr int kAdainStyleSize = 512;
// Content and style pictures need at least this many pixels a side.
inline constexpr int kAdainMinimumSide = 16;

// How AdaIN at `level` ("relu3_1" or "relu4_1") paints a height x width
// picture within max_memory bytes: whole (tile 0) or in tiles.
TilingPlan plan_adain_tiling(std::int64_t height, std::int64_t width, const std::string& level,
                             std::int64_t max_memory);

class AdainPainter {
 public:
  // An encoder (vgg-normalised, or a VGG safetensors reaching relu3_1) and a
  // decoder safetensors file. The decoder's level decides where AdaIN works;
  // an encoder that does not reach it, or a file of another kind, is an
  // atelier::Error naming the file.
  AdainPainter(const std::string& encoder_path, const std::string& decoder_path, const std::string& device = "cpu");

  const std::string& level() const { return level_; }
  // The content is padded (by reflection) to a multiple of this: 8 or 4.
  int multiple() const;

  // The statistics of a style picture (CV_32FC3 RGB [0,1]). Throws
  // atelier::Error for one under kAdainMinimumSide pixels a side.
  AdainStyle style(const cv::Mat& rgb, int style_size = kAdainStyleSize, Precision precision = Precision::F32) const;

  // `rgb` (CV_32FC3 RGB [0,1], at least kAdainMinimumSide a side) painted at
  // exactly its own size. Throws atelier::Error for styles of another level,
  // weights of the wrong count, a mask without two styles or of another size.
  cv::Mat paint(const cv::Mat& rgb, const std::vector<AdainStyle>& styles, const AdainOptions& options = {}) const;

 private:
  std::shared_ptr<const FeatureNetwork> encoder_;
  std::shared_ptr<AdainDecoderImpl> decoder_;
  std::string level_;
};

}  // namespace atelier
