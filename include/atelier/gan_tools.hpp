// Uses of a trained GAN behind a torch-free API: sampling, a walk through
// latent space, and evaluation against real pictures (KID and FID). The CLI
// and other front ends call these; the networks are in gan.hpp.
//
//   atelier::GanSampler sampler("faces.safetensors");
//   std::vector<cv::Mat> pictures = sampler.sample(7, 16);
//
// Pictures are CV_32FC3 RGB in [0,1] (a grey generator's repeated to RGB).
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atelier {

class GanGenerator;

// Truncation T is 0 (off) or at least this: below it, redrawing latent
// entries until |z| <= T would take almost for ever. Smaller T throws.
constexpr double kMinTruncation = 0.1;

// A generator written by `gan train`, loaded once. Sample i of a seed is the
// same picture whatever the count; truncation T > 0 redraws latent entries
// beyond +-T (variety traded for quality).
class GanSampler {
 public:
  // Throws atelier::Error for a bad device name or a file that is not a generator.
  explicit GanSampler(const std::string& path, const std::string& device = "cpu");

  // Samples 0..count-1 of `seed`; with `first`, samples first..first+count-1
  // (the same pictures, made a few at a time).
  std::vector<cv::Mat> sample(uint64_t seed, int64_t count, double truncation = 0) const;
  std::vector<cv::Mat> sample(uint64_t seed, int64_t first, int64_t count, double truncation) const;
  // The same pictures as one: `columns` per row, 2 px gaps.
  cv::Mat sample_grid(uint64_t seed, int64_t count, int64_t columns, double truncation = 0) const;
  // `frames` pictures (at least 2) along a spherical path through the first
  // sample's latent of each of `seeds` (at least 2): frame f sits at
  // f/(frames-1) of the way.
  std::vector<cv::Mat> walk(const std::vector<uint64_t>& seeds, int64_t frames, double truncation = 0) const;

  const GanGenerator& generator() const { return *generator_; }

 private:
  std::shared_ptr<const GanGenerator> generator_;
};

// Real pictures are taken as the generator was trained on them (its size,
// channels and crop area); the generated ones from seed ^ 0xE7A1.
struct GanEvalOptions {
  std::string data;                         // a folder (random crops) or an IDX file (its first pictures)
  std::string features = "resnet50-caffe";  // ResNet-50 weights: a name in the model search path or a path
  std::string models_dir;                   // searched first for `features`
  int64_t count = 1000;                     // pictures of each kind
  int64_t input_size = 128;                 // side the pictures are resized to for the network
  int64_t blocks = 10;                      // KID blocks (for its standard error)
  uint64_t seed = 0;                        // of the generated latents and the real crops
  double truncation = 0;
  std::string device = "cpu";
};

struct GanEvaluation {
  double kid = 0, kid_standard_error = 0;
  int64_t kid_blocks = 0, kid_block_size = 0;
  double fid = 0;
  int64_t generated = 0, real = 0;
  std::string data;      // the real pictures, described
  std::string features;  // the network, its weights and input size: values compare only within one
};

// KID (with its standard error) and FID of the generator at `generator_path`
// (see gan_metrics.hpp). Throws atelier::Error for a bad device, generator,
// weights file or data.
GanEvaluation evaluate_gan(const std::string& generator_path, const GanEvalOptions& options);

}  // namespace atelier
