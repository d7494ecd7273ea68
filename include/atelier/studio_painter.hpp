// The studio's real painter: fast styles from the model search path and
// Gatys optimisation with a VGG from it, on this machine's CPU (or a CUDA
// device). Networks are loaded once and kept.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

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

class StudioPainter : public Painter {
 public:
  explicit StudioPainter(PainterOptions options);
  ~StudioPainter() override;

  void check(const JobRecord& job) const override;
  std::int64_t estimate_bytes(const JobRecord& job, std::int64_t budget) const override;
  PaintOutcome paint(const JobRun& run, int& width, int& height) override;
  nlohmann::json models() const override;
  std::vector<unsigned char> thumbnail(const std::string& model) override;

 private:
  struct Installed;
  Installed installed() const;
  // The installed style a client's name means: its full name
  // ("fast-style/pytorch-examples/candy") or a short one ("candy") that the
  // model store resolves, as the CLI does. Throws Error when none is.
  ModelStore::Entry installed_style(const std::string& model) const;
  std::shared_ptr<const FastStylePainter> fast_painter(const std::string& model);
  std::shared_ptr<const GatysPainter> gatys_painter();
  PaintOutcome paint_fast(const JobRun& run, int& width, int& height);
  PaintOutcome paint_gatys(const JobRun& run, int& width, int& height);

  PainterOptions options_;
  ModelStore store_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const FastStylePainter>> fast_painters_;  // by the name asked for
  std::shared_ptr<const GatysPainter> gatys_;
  std::map<std::string, std::vector<unsigned char>> thumbnails_;
};

}  // namespace atelier::studio
