// GANs that paint new pictures in the manner of a collection: a DCGAN-family
// generator and discriminator as plain functions over named weights (so
// checkpoints, EMA copies and gradient averaging all work on NamedTensors),
// latents drawn per sample from a seed, and DiffAugment (Zhao et al. 2020).
//
// Generator: z [N,latent] -> linear to 4x4 -> (nearest upsample x2, 3x3 conv,
// batch norm, ReLU) until image_size -> 3x3 conv -> tanh, images in [-1,1].
// Discriminator: 3x3 conv, then (4x4 conv stride 2, LeakyReLU 0.2) down to
// 4x4, then linear to one score; every weight spectrally normalised.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "atelier/training_run.hpp"
#include "train/training.hpp"

namespace atelier {

struct GanArchitecture {
  // The defaults are the public job's (training_run.hpp), their one place.
  int64_t image_size = GanTrainingJob{}.image_size;  // 32, 64 or 128
  int64_t channels = 3;                              // 1 grey, 3 RGB (a job's 0, "the data's", is resolved by then)
  int64_t latent_dim = GanTrainingJob{}.latent_dim;
  int64_t g_width = GanTrainingJob{}.g_width;  // channels of the generator's last block; x2 per block towards 4x4, at most x8
  int64_t d_width = GanTrainingJob{}.d_width;  // channels of the discriminator's first block, likewise
};

// Throws atelier::Error naming what is unsupported (size, channels, widths).
void check_gan_architecture(const GanArchitecture& architecture);
std::map<std::string, std::string> gan_architecture_metadata(const GanArchitecture& architecture);
GanArchitecture gan_architecture_from_metadata(const std::map<std::string, std::string>& metadata);

// PyTorch's default initialisation (uniform +-1/sqrt(fan_in)), batch norms 1
// and 0, and unit random power-iteration vectors ("<weight>.u") for the
// discriminator's spectral norms.
NamedTensors initial_generator_weights(const GanArchitecture& architecture, uint64_t seed);
NamedTensors initial_discriminator_weights(const GanArchitecture& architecture, uint64_t seed);
// The generator's tensors, uninitialised: their names and shapes (no random draws).
NamedTensors generator_shapes(const GanArchitecture& architecture);
// The names of the tensors that training updates (not ".u", not running statistics).
std::vector<std::string> trainable_names(const NamedTensors& weights);

// Batch norms in the generator normalise with the batch's own statistics
// while training, and with stored ones ("bnK.running_mean/var") when
// sampling, so a latent gives the same picture whatever the batch.
enum class NormStatistics { Batch, Stored };
torch::Tensor generate(const NamedTensors& generator, const GanArchitecture& architecture, const torch::Tensor& latents,
                       NormStatistics statistics);
// BigGAN's "standing statistics": the batch norms' mean and variance over
// `samples` seeded latents, stored into `generator` for sampling.
void store_standing_statistics(NamedTensors& generator, const GanArchitecture& architecture, uint64_t seed,
                               int64_t samples = 1024);

// One score per image. With `update_power_iteration` each spectral norm's
// vector takes one more power-iteration step first (training's D step).
torch::Tensor discriminate(NamedTensors& discriminator, const GanArchitecture& architecture, const torch::Tensor& images,
                           bool update_power_iteration);
// The largest singular value estimate of weight `name`, as used by discriminate().
torch::Tensor spectral_norm_estimate(const NamedTensors& discriminator, const std::string& name);

// The latent of sample `index` for `seed`: standard normal, independent of
// how many samples are drawn; with truncation t > 0, entries beyond +-t are
// redrawn (BigGAN's truncation trick).
torch::Tensor latent_for(uint64_t seed, int64_t index, int64_t dim, double truncation = 0);
torch::Tensor latents_for(uint64_t seed, int64_t first, int64_t count, int64_t dim, double truncation = 0);
// Spherical interpolation between latents a and b (t in 0..1).
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t);

// DiffAugment: random, differentiable changes applied alike to real and
// generated images before the discriminator, so few images go further.
struct AugmentPolicy {
  bool color = false;        // brightness, saturation, contrast
  bool translation = false;  // shift by up to 1/8 of the side, zero fill
  bool cutout = false;       // a zeroed square of half the side
};
AugmentPolicy parse_augment_policy(const std::string& text);  // "color,translation,cutout" | "none"
std::string augment_policy_name(const AugmentPolicy& policy);
// `images` [N,C,S,S] in [-1,1]; sample i's draws come from seeds[i].
torch::Tensor diff_augment(const torch::Tensor& images, const AugmentPolicy& policy, const std::vector<uint64_t>& seeds);

// A trained generator as saved by `gan train` (EMA weights with standing statistics).
class GanGenerator {
 public:
  static GanGenerator load(const std::string& path, const torch::Device& device = torch::kCPU);
  GanGenerator(NamedTensors weights, GanArchitecture architecture, std::map<std::string, std::string> metadata);
  // Images [N,C,S,S] in 0..1 for latents [N,latent_dim], in batches.
  torch::Tensor generate(const torch::Tensor& latents, int64_t batch_size = 64) const;
  const GanArchitecture& architecture() const { return architecture_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  NamedTensors weights_;
  GanArchitecture architecture_;
  std::map<std::string, std::string> metadata_;
};

// Images [N,C,H,W] in 0..1 as one picture: `columns` per row, 2 px gaps.
torch::Tensor image_grid(const torch::Tensor& images, int64_t columns);

}  // namespace atelier
