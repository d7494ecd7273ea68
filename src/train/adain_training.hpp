// Training an AdaIN decoder (Huang & Belongie 2017; naoto0804/pytorch-AdaIN's
// net.py and train.py): photos and paintings go through a fixed encoder, the
// photos' features take the paintings' per-channel mean and std (t =
// AdaIN(f(photo), f(painting))), and the decoder g learns to turn t into a
// picture whose features are t again and whose statistics are the painting's:
//   content = MSE(f(g(t)), t) at the level (relu3_1 or relu4_1)
//   style   = sum over relu1_1 .. level of MSE(mean(f(g(t))), mean(f(s)))
//                                         + MSE(std(f(g(t))), std(f(s)))
//   total   = content_weight * content + style_weight * style
// Means are over the batch, so a batch split over processes averages to the
// same gradient.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "atelier/runtime.hpp"
#include "atelier/training_run.hpp"
#include "models/adain.hpp"
#include "models/feature_network.hpp"
#include "train/training.hpp"

namespace atelier {

struct AdainTrainingOptions {
  std::string level = "relu3_1";  // checked against the encoder
  // The defaults are the public job's (training_run.hpp), their one place.
  double content_weight = ArbitraryTrainingJob{}.content_weight;
  double style_weight = ArbitraryTrainingJob{}.style_weight;
  double learning_rate = ArbitraryTrainingJob{}.learning_rate;
  Precision precision = Precision::F32;
  uint64_t seed = 0;  // the decoder's initial weights
};

struct AdainLosses {
  double content = 0, style = 0, total = 0;
};

class AdainTrainer {
 public:
  // Throws atelier::Error when the encoder lacks the level.
  AdainTrainer(const FeatureNetwork& encoder, const AdainTrainingOptions& options, ProcessGroup& group);

  // One optimisation step on this process's photos and paintings (both
  // [N,3,H,W] RGB 0..1, photo i with painting i): forward, backward,
  // gradients averaged over the process group, Adam.
  AdainLosses step(const torch::Tensor& photos, const torch::Tensor& paintings);
  // The losses of the current decoder, without training; `paintings` holds
  // one painting per photo, or one for all.
  AdainLosses evaluate(const torch::Tensor& photos, const torch::Tensor& paintings);
  // The losses of the photos themselves, as if the decoder gave them back
  // unchanged: how far from the painting a picture is before any painting.
  AdainLosses evaluate_unpainted(const torch::Tensor& photos, const torch::Tensor& paintings);
  // The photos painted with the paintings (as evaluate pairs them), RGB 0..1, float32 on the CPU.
  torch::Tensor stylise(const torch::Tensor& photos, const torch::Tensor& paintings);

  int64_t steps() const { return adam_.steps(); }
  const std::string& level() const { return options_.level; }
  const std::vector<std::string>& style_layers() const { return style_layers_; }
  AdainDecoder& decoder() { return decoder_; }

  // Weights and optimizer state, for checkpoints; load() restores both.
  NamedTensors state() const;
  void load(const NamedTensors& state);
  NamedTensors weights() const;

 private:
  // What the decoder is trained towards, computed without gradients.
  struct Targets {
    torch::Tensor t;  // AdaIN(f(photos), f(paintings)) at the level, float32
    std::vector<std::pair<torch::Tensor, torch::Tensor>> painting_statistics;  // per style layer, float32
  };
  Targets targets(const torch::Tensor& photos, const torch::Tensor& paintings) const;
  // The losses of `decoded` (the decoder's output) for `targets`; differentiable in `decoded`.
  torch::Tensor losses(const torch::Tensor& decoded, const Targets& targets, AdainLosses* parts) const;

  const FeatureNetwork& encoder_;
  AdainTrainingOptions options_;
  std::vector<std::string> style_layers_;  // relu1_1 .. level
  AdainDecoder decoder_;
  Adam adam_;
  ProcessGroup& group_;
};

}  // namespace atelier
