// The studio's real painter: fast styles from the model search path,
// Magenta's arbitrary style transfer (any uploaded painting, one pass) and
// Gatys optimisation with a VGG from it, on this machine's CPU (or a CUDA
// device). Networks are loaded once and kept; so are the style vectors of
// uploaded pictures, by the sha256 of their bytes, so that a repaint at
// another strength or blend predicts nothing again.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "atelier/arbitrary_style.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/studio.hpp"

namespace atelier::studio {

struct PainterOptions {
  std::string models_dir;         // searched first (see ModelStore)
  std::string gatys_weights = "vgg19";
  std::string device = "cpu";
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

  // Style vectors kept (100 numbers each): far more than a session uses.
  static constexpr std::size_t kCachedStyleVectors = 512;

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
  // The cached vector under `key`, or `predict()` cached under it.
  StyleVector cached_style_vector(const std::string& key, const std::function<StyleVector()>& predict);
  PaintOutcome paint_fast(const JobRun& run, int& width, int& height);
  PaintOutcome paint_magenta(const JobRun& run, int& width, int& height);
  PaintOutcome paint_gatys(const JobRun& run, int& width, int& height);

  PainterOptions options_;
  ModelStore store_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const FastStylePainter>> fast_painters_;  // by the name asked for
  std::map<std::string, std::string> painter_versions_;  // their files' versions, as previews last saw them
  std::shared_ptr<const GatysPainter> gatys_;
  std::shared_ptr<const MagentaPainter> magenta_;
  std::map<std::string, StyleVector> style_vectors_;  // by picture hash (and size, for photos)
  std::deque<std::string> style_vector_order_;        // oldest first, for eviction
  StyleVectorCounts style_vector_counts_;
};

}  // namespace atelier::studio
