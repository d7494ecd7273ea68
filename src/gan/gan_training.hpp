// Training a GAN (gan.hpp) on a collection, and the real images it learns
// from: an IDX file (Fashion-MNIST) or a folder of pictures, cut into random
// patches so a few paintings give many training images.
//
// A step is a discriminator update then a generator update, each with its
// gradients averaged over the process group, then the generator's EMA copy
// follows. Every random draw (latents, augmentation, data) comes from
// (seed, step, global sample index), so a resumed run is the same run.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "gan/gan.hpp"
#include "torch/tensor_image.hpp"
#include "train/training.hpp"

namespace atelier {

enum class GanLoss { Hinge, NonSaturating };
GanLoss parse_gan_loss(const std::string& name);  // "hinge" | "nonsaturating"

struct GanTrainingOptions {
  GanLoss loss = GanLoss::Hinge;
  // The defaults are the public job's (training_run.hpp), their one place.
  double g_learning_rate = GanTrainingJob{}.g_learning_rate, d_learning_rate = GanTrainingJob{}.d_learning_rate;
  double beta1 = GanTrainingJob{}.beta1, beta2 = GanTrainingJob{}.beta2;  // the usual GAN betas
  double r1_gamma = GanTrainingJob{}.r1_gamma;    // R1 penalty on real images (Mescheder et al. 2018); 0: off
  double ema_decay = GanTrainingJob{}.ema_decay;  // ramped up over the first steps: min(decay, (1+t)/(10+t))
  AugmentPolicy augment;
  Precision precision = Precision::F32;
  uint64_t seed = 0;
};

struct GanLosses {
  double d = 0, g = 0;            // the two players' losses
  double d_real = 0, d_fake = 0;  // mean scores of real and generated images
  double r1 = 0;
  bool finite() const;
};

class GanTrainer {
 public:
  GanTrainer(const GanArchitecture& architecture, const GanTrainingOptions& options, ProcessGroup& group,
             const torch::Device& device = torch::kCPU);

  // One step on this process's part of the global batch: `reals`
  // [B,C,S,S] in [-1,1], rank r's samples being r*B .. r*B+B-1 of it.
  GanLosses step(const torch::Tensor& reals);
  // Steps taken: the generator optimizer's count (it moves last in a step).
  int64_t steps() const { return adam_g_.steps(); }

  // Everything a checkpoint needs ("g.", "d.", "ema.", "adam_g.", "adam_d.");
  // load() restores it exactly.
  NamedTensors state() const;
  void load(const NamedTensors& state);
  // True when no weight is NaN or infinite.
  bool weights_finite() const;

  // The EMA generator with standing statistics: what `gan sample` uses.
  NamedTensors sampler_weights() const;
  const GanArchitecture& architecture() const { return architecture_; }

 private:
  std::vector<uint64_t> sample_seeds(int64_t count, uint64_t stream) const;
  torch::Tensor step_latents(int64_t count, uint64_t stream) const;

  GanArchitecture architecture_;
  GanTrainingOptions options_;
  ProcessGroup& group_;
  torch::Device device_;
  NamedTensors generator_, discriminator_, ema_;
  Adam adam_g_, adam_d_;
};

// Real images for training and evaluation, in [-1,1].
struct GanDataOptions {
  int64_t image_size = 32;
  int64_t channels = 0;           // 0: the data's own (IDX 1, folders 3)
  int64_t batch_size = 64;        // per process
  double min_crop_area = 0.1;     // folders: random crops of at least this fraction of a picture
  bool flip = false;              // random horizontal flips
  uint64_t seed = 0;
  int64_t rank = 0, world_size = 1;
};

class GanData {
 public:
  // `path`: an IDX file (.gz too) of [N,H,W] images, or a folder of
  // pictures (grey ones become colour; any sizes). Throws atelier::Error
  // when there is nothing to train on.
  GanData(const std::string& path, GanDataOptions options);

  // This process's part of global batch `step`.
  torch::Tensor batch(int64_t step) const;
  // `count` images for evaluation: an IDX file's first ones, or seeded crops.
  torch::Tensor samples(int64_t count, uint64_t seed) const;

  int64_t channels() const { return channels_; }
  int64_t source_count() const;
  std::string description() const;

 private:
  torch::Tensor sample(int64_t global_index, uint64_t seed) const;

  std::string path_;
  GanDataOptions options_;
  int64_t channels_ = 3;
  torch::Tensor idx_images_;          // [N,H,W] uint8, for IDX data
  std::vector<cv::Mat> pictures_;     // CV_8UC3 RGB, for folders (shorter side <= 4x the image size)
};

}  // namespace atelier
