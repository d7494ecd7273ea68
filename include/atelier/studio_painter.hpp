// The studio's real painter: fast styles from the model search path,
// Magenta's and AdaIN's arbitrary style transfer (any uploaded painting, one
// pass) and Gatys optimisation with a VGG from it, on this machine's CPU (or
// a CUDA device). Networks are loaded once and kept; so are the style
// vectors (Magenta) and statistics (AdaIN) of uploaded pictures, by the
// sha256 of their bytes, so that a repaint at another strength or blend
// encodes no painting again.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "atelier/adain_style.hpp"
#include "atelier/arbitrary_style.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/studio.hpp"

namespace atelier::studio {

struct PainterOptions {
  std::string models_dir;         // searched first (see ModelStore)
  std::string gatys_weights = "vgg19";
  std::string device = "cpu";
  // AdaIN's networks: names in the model search path (as `stylize --method adain`) or files.
  std::string adain_encoder = "adain/vgg_normalised";
  std::string adain_decoder = "adain/decoder";
  int checkpoint_every = 25;      // Gatys iterations between checkpoints
  int previews = 30;              // preview images per optimisation
};

// The two Magenta networks' names in the model search path.
inline constexpr const char* kMagentaPredictorName = "magenta-arbitrary/style_predict";
inline constexpr const char* kMagentaTransferName = "magenta-arbitrary/style_transfer";

// Style vectors the painter predicted, and those it found already cached.
struct StyleVectorCounts {
  std::uint64_t predicted = 0, reused = 0;
};

class StudioPainter : public Painter {
 public:
  explicit StudioPainter(PainterOptions options);
  ~StudioPainter() override;

  void check(const JobRecord& job) const override;
  std::int64_t estimate_bytes(const JobRecord& job, std::int64_t budget) const override;
  PaintOutcome paint(const JobRun& run, int& width, int& height) override;
  nlohmann::json models() const override;
  cv::Mat preview(const std::string& model, const cv::Mat& photo) override;
  StyleVectorCounts style_vector_counts() const;
  // AdaIN styles encoded, and those found already cached.
  StyleVectorCounts adain_style_counts() const;

  // Style vectors kept (100 numbers each; AdaIN's: 512 means and stds): far more than a session uses.
  static constexpr std::size_t kCachedStyleVectors = 512;

  // The newest `capacity` values by key; counts computed and reused ones. Not thread-safe: under mutex_.
  template <typename Value>
  struct StyleCache {
    std::map<std::string, Value> values;
    std::deque<std::string> order;  // oldest first, for eviction
    StyleVectorCounts counts;
  };

 private:
  struct Installed;
  Installed installed() const;
  // The installed style a client's name means: its full name
  // ("fast-style/pytorch-examples/candy") or a short one ("candy") that the
  // model store resolves, as the CLI does. Throws Error when none is.
  ModelStore::Entry installed_style(const std::string& model) const;
  std::shared_ptr<const FastStylePainter> fast_painter(const std::string& model);
  std::shared_ptr<const GatysPainter> gatys_painter();
  // The Magenta networks' files; throws Error saying what is missing and how to get it.
  std::pair<std::string, std::string> magenta_paths() const;
  std::shared_ptr<const MagentaPainter> magenta_painter();
  // The cached value under `key` in `cache`, or `compute()` cached under it.
  template <typename Value>
  Value cached(StyleCache<Value>& cache, const std::string& key, const std::function<Value()>& compute);
  // AdaIN's networks' files; throws Error saying what is missing and how to get it.
  std::pair<std::string, std::string> adain_paths() const;
  std::shared_ptr<const AdainPainter> adain_painter();
  PaintOutcome paint_fast(const JobRun& run, int& width, int& height);
  PaintOutcome paint_magenta(const JobRun& run, int& width, int& height);
  PaintOutcome paint_adain(const JobRun& run, int& width, int& height);
  PaintOutcome paint_gatys(const JobRun& run, int& width, int& height);
  // A masked one-pass job: each style it places painted once over the whole
  // photo (an upload by `paint_upload`, a model by its fast style, within
  // `budget` bytes), then laid down by the mask's weights.
  PaintOutcome paint_masked(const JobRun& run, const JobSettings& settings, const Image& content,
                            const std::function<cv::Mat(int upload)>& paint_upload, std::int64_t budget, int& width,
                            int& height);

  PainterOptions options_;
  ModelStore store_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const FastStylePainter>> fast_painters_;  // by the name asked for
  std::map<std::string, std::string> painter_versions_;  // their files' versions, as previews last saw them
  std::shared_ptr<const GatysPainter> gatys_;
  std::shared_ptr<const MagentaPainter> magenta_;
  std::shared_ptr<const AdainPainter> adain_;
  StyleCache<StyleVector> style_vectors_;  // by picture hash (and size, for photos)
  StyleCache<AdainStyle> adain_styles_;    // by picture hash and precision
};

}  // namespace atelier::studio
