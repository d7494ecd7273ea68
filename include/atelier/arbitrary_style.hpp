// Arbitrary style transfer: any picture as a style, in one pass (Magenta's
// arbitrary-image-stylization-v1-256, Ghiasi et al. 2017). Torch-free.
//
//   atelier::MagentaPainter magenta(store.resolve("magenta-arbitrary/style_predict"),
//                                   store.resolve("magenta-arbitrary/style_transfer"));
//   atelier::StyleVector starry = magenta.style_vector(atelier::load_image("starry.jpg").rgb);
//   atelier::save_style_vector(starry, "starry.style.json");  // predict once, reuse
//   cv::Mat painted = magenta.paint(photo.rgb, starry, /*strength=*/0.8);
//
// A style is a vector of 100 numbers that a prediction network computes from
// the style picture; the transfer network paints with it. Vectors blend by
// weights, and strength interpolates between the style's vector and the
// photo's own vector (as Magenta does), not between pictures.
#pragma once
#include <opencv2/core.hpp>

#include <memory>
#include <string>
#include <vector>

#include "atelier/runtime.hpp"
#include "atelier/tiling.hpp"

namespace atelier {

class MagentaPredictor;
class MagentaTransfer;

// The network a vector belongs to; vectors of other networks are refused.
inline constexpr const char* kMagentaModelName = "magenta-arbitrary-image-stylization-v1-256";
inline constexpr int kMagentaStyleLength = 100;
// The two networks' names in the model search path (model_store.hpp).
inline constexpr const char* kMagentaPredictorName = "magenta-arbitrary/style_predict";
inline constexpr const char* kMagentaTransferName = "magenta-arbitrary/style_transfer";

struct StyleVector {
  std::vector<float> values;        // kMagentaStyleLength numbers
  std::string model = kMagentaModelName;
};

// How a style picture becomes the predictor's square input. The default:
// the centred square of the picture (no distortion of its strokes), as in
// TensorFlow's examples, resized to 384 x 384 (area filter when shrinking,
// cubic when enlarging). The network was trained at 256, but measured on the
// shared 11 photos x 8 paintings at 512 px (bench/quality_arbitrary.sh),
// 384 brings the output's VGG Gram matrices closest to the painting's:
// 87 of 88 pairs closer than the photo's, against 79 at 256, 85 at 448 and
// 81 at 512. Whole: the whole picture squeezed to the square.
enum class StyleFit { CentreCrop, Whole };
StyleFit parse_style_fit(const std::string& name);  // "crop" | "whole"
struct StylePictureOptions {
  StyleFit fit = StyleFit::CentreCrop;
  int size = 384;  // side of the square, 16..1024
};
// The predictor's input for `rgb` (CV_32FC3 RGB [0,1]): square, size x size.
// Throws atelier::Error for a picture under 16 pixels a side.
cv::Mat style_picture_input(const cv::Mat& rgb, const StylePictureOptions& options = {});

class MagentaPainter {
 public:
  // The two safetensors files (../shared/models/magenta-arbitrary/ or
  // `models import`). Throws atelier::Error naming a missing, foreign or
  // damaged file.
  MagentaPainter(const std::string& predictor_path, const std::string& transfer_path,
                 const std::string& device = "cpu");

  // The style vector of a picture (CV_32FC3 RGB [0,1]).
  StyleVector style_vector(const cv::Mat& rgb, const StylePictureOptions& options = {}) const;

  // `rgb` painted with `style`, at exactly its own size (padded by
  // reflection to a multiple of 4 for the network, then cropped back).
  // `strength` 1 paints with `style`; below 1 the vector moves towards the
  // picture's own (style_vector(rgb, options)); 0 is the picture's own style.
  // A picture whose whole pass would need more than `max_memory` bytes (0:
  // no limit) runs in tiles (plan_magenta_tiling) whose conditional norms
  // use the whole picture's statistics: the same result up to rounding.
  cv::Mat paint(const cv::Mat& rgb, const StyleVector& style, double strength = 1.0,
                Precision precision = Precision::F32, const StylePictureOptions& options = {},
                std::int64_t max_memory = 0) const;

 private:
  std::shared_ptr<const MagentaPredictor> predictor_;
  std::shared_ptr<const MagentaTransfer> transfer_;
};

// The painter of the two networks found by name in the model search path,
// `models_dir` first (every front end loads Magenta this way).
MagentaPainter load_magenta_painter(const std::string& models_dir = "", const std::string& device = "cpu");

// How paint() runs a height x width picture within max_memory bytes (0: no
// limit): whole (tile 0) or in tiles, from measured peaks (bench/
// bench_magenta_tiles). Throws atelier::Error when not even small tiles fit.
TilingPlan plan_magenta_tiling(std::int64_t height, std::int64_t width, std::int64_t max_memory);

// sum_i weights[i] * styles[i] / sum_i weights[i]. Throws atelier::Error when
// the counts differ, a weight is negative or not finite, or all are zero.
StyleVector blend_style_vectors(const std::vector<StyleVector>& styles, const std::vector<double>& weights);
// strength * style + (1 - strength) * own; strength in [0,1].
StyleVector interpolate_style_vectors(const StyleVector& style, const StyleVector& own, double strength);

// JSON: {"format": "atelier-style-vector", "version": 1, "model": ..., "values": [...]}.
// Reading refuses (one line naming the file) another format, another model,
// a length other than 100 and values that are not finite numbers.
std::string style_vector_json(const StyleVector& style);
StyleVector parse_style_vector_json(const std::string& text, const std::string& name);
void save_style_vector(const StyleVector& style, const std::string& path);  // atomic
StyleVector load_style_vector(const std::string& path);

}  // namespace atelier
