#include <cmath>

#include "atelier/error.hpp"
#include "gan/gan_training.hpp"
#include "util/splitmix.hpp"

namespace atelier {
namespace {

// Streams of random draws within a step.
constexpr uint64_t kDiscriminatorLatents = 1, kGeneratorLatents = 2, kAugmentReal = 3, kAugmentFakeForD = 4,
                   kAugmentFakeForG = 5;

NamedTensors trainable(const NamedTensors& weights) {
  NamedTensors parameters;
  for (const auto& name : trainable_names(weights)) parameters[name] = weights.at(name);
  return parameters;
}

NamedTensors with_gradients(NamedTensors weights, const torch::Device& device) {
  for (auto& [name, tensor] : weights) tensor = tensor.to(device);
  for (const auto& name : trainable_names(weights)) weights[name].requires_grad_(true);
  return weights;
}

NamedTensors detached_copy(const NamedTensors& weights) {
  NamedTensors copy;
  for (const auto& [name, tensor] : weights) copy[name] = tensor.detach().clone();
  return copy;
}

std::vector<torch::Tensor> gradients_of(const NamedTensors& parameters) {
  std::vector<torch::Tensor> gradients;
  for (const auto& [name, parameter] : parameters) gradients.push_back(parameter.grad());
  return gradients;
}

void clear_gradients(const NamedTensors& weights) {
  for (const auto& name : trainable_names(weights)) {
    auto& grad = weights.at(name).mutable_grad();
    if (grad.defined()) grad.zero_();
  }
}

void add_prefixed(NamedTensors& into, const std::string& prefix, const NamedTensors& from) {
  for (const auto& [name, tensor] : from) into[prefix + name] = tensor;
}

NamedTensors with_prefix(const NamedTensors& state, const std::string& prefix) {
  NamedTensors part;
  for (const auto& [name, tensor] : state)
    if (name.rfind(prefix, 0) == 0) part[name.substr(prefix.size())] = tensor;
  return part;
}

// Copies the checkpoint's tensors into `weights` in place (the optimizers
// hold these tensors), checking that nothing is missing or misshapen.
void restore(NamedTensors& weights, const NamedTensors& saved, const std::string& what) {
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : weights) {
    auto found = saved.find(name);
    if (found == saved.end()) throw Error("checkpoint lacks " + what + " \"" + name + "\"");
    if (found->second.sizes() != tensor.sizes()) throw Error("checkpoint's " + what + " \"" + name + "\" has the wrong shape");
    tensor.copy_(found->second);
  }
}

}  // namespace

GanLoss parse_gan_loss(const std::string& name) {
  if (name == "hinge") return GanLoss::Hinge;
  if (name == "nonsaturating" || name == "non-saturating") return GanLoss::NonSaturating;
  throw Error("unknown GAN loss \"" + name + "\" (hinge or nonsaturating)");
}

bool GanLosses::finite() const {
  return std::isfinite(d) && std::isfinite(g) && std::isfinite(d_real) && std::isfinite(d_fake) && std::isfinite(r1);
}

GanTrainer::GanTrainer(const GanArchitecture& architecture, const GanTrainingOptions& options, ProcessGroup& group,
                       const torch::Device& device)
    : architecture_(architecture),
      options_(options),
      group_(group),
      device_(device),
      generator_(with_gradients(initial_generator_weights(architecture, options.seed), device)),
      discriminator_(with_gradients(initial_discriminator_weights(architecture, options.seed), device)),
      ema_(detached_copy(generator_)),
      adam_g_(trainable(generator_), options.g_learning_rate, options.beta1, options.beta2),
      adam_d_(trainable(discriminator_), options.d_learning_rate, options.beta1, options.beta2) {
  // Every process starts from rank 0's weights.
  std::vector<torch::Tensor> all;
  for (auto* weights : {&generator_, &discriminator_, &ema_})
    for (auto& [name, tensor] : *weights) all.push_back(tensor);
  torch::NoGradGuard no_grad;
  group_.broadcast(all);
}

std::vector<uint64_t> GanTrainer::sample_seeds(int64_t count, uint64_t stream) const {
  std::vector<uint64_t> seeds;
  const int64_t first = group_.rank() * count;
  for (int64_t i = 0; i < count; ++i)
    seeds.push_back(mix_seed(mix_seed(options_.seed, static_cast<uint64_t>(steps()), stream), first + i, 0x5EED));
  return seeds;
}

torch::Tensor GanTrainer::step_latents(int64_t count, uint64_t stream) const {
  const uint64_t seed = mix_seed(options_.seed, static_cast<uint64_t>(steps()), stream);
  return latents_for(seed, group_.rank() * count, count, architecture_.latent_dim).to(device_);
}

GanLosses GanTrainer::step(const torch::Tensor& reals_in) {
  const int64_t batch = reals_in.size(0);
  const auto reals = reals_in.to(device_);
  GanLosses losses;
  const bool hinge = options_.loss == GanLoss::Hinge;

  // Discriminator: real images up, generated ones down.
  {
    torch::Tensor fakes;
    {
      torch::NoGradGuard no_grad;
      AutocastScope autocast(options_.precision, device_);
      fakes = generate(generator_, architecture_, step_latents(batch, kDiscriminatorLatents), NormStatistics::Batch);
    }
    const bool penalise = options_.r1_gamma > 0;
    const auto real_input = penalise ? reals.detach().requires_grad_(true) : reals;
    torch::Tensor real_scores, fake_scores;
    {
      // The R1 penalty differentiates twice: its pass stays in fp32.
      AutocastScope autocast(penalise ? Precision::F32 : options_.precision, device_);
      real_scores = discriminate(discriminator_, architecture_,
                                 diff_augment(real_input, options_.augment, sample_seeds(batch, kAugmentReal)), true);
    }
    {
      AutocastScope autocast(options_.precision, device_);
      fake_scores = discriminate(discriminator_, architecture_,
                                 diff_augment(fakes, options_.augment, sample_seeds(batch, kAugmentFakeForD)), false);
    }
    auto loss = hinge ? (1 - real_scores).relu().mean() + (1 + fake_scores).relu().mean()
                      : torch::softplus(-real_scores).mean() + torch::softplus(fake_scores).mean();
    if (penalise) {
      const auto gradient = torch::autograd::grad({real_scores.sum()}, {real_input}, {}, true, true)[0];
      const auto r1 = gradient.square().sum({1, 2, 3}).mean();
      loss = loss + (options_.r1_gamma / 2) * r1;
      losses.r1 = r1.item<double>();
    }
    losses.d = loss.item<double>();
    losses.d_real = real_scores.mean().item<double>();
    losses.d_fake = fake_scores.mean().item<double>();
    loss.backward();
    const NamedTensors parameters = trainable(discriminator_);
    group_.average(gradients_of(parameters));
    adam_d_.step();
  }

  // Generator: make the discriminator score its pictures as real.
  {
    torch::Tensor loss;
    {
      AutocastScope autocast(options_.precision, device_);
      const auto fakes =
          generate(generator_, architecture_, step_latents(batch, kGeneratorLatents), NormStatistics::Batch);
      const auto scores = discriminate(discriminator_, architecture_,
                                       diff_augment(fakes, options_.augment, sample_seeds(batch, kAugmentFakeForG)),
                                       false);
      loss = hinge ? -scores.mean() : torch::softplus(-scores).mean();
    }
    losses.g = loss.item<double>();
    loss.backward();
    clear_gradients(discriminator_);  // the pass also reached D's weights
    const NamedTensors parameters = trainable(generator_);
    group_.average(gradients_of(parameters));
    adam_g_.step();
  }

  // Every process reports (and decides on divergence from) the same numbers.
  if (group_.world_size() > 1) {
    auto values = torch::tensor({losses.d, losses.g, losses.d_real, losses.d_fake, losses.r1}, torch::kFloat64);
    group_.average({values});
    losses = {values[0].item<double>(), values[1].item<double>(), values[2].item<double>(), values[3].item<double>(),
              values[4].item<double>()};
  }
  // The EMA generator, with a decay that starts low so early samples are not
  // dominated by the random initialisation.
  {
    torch::NoGradGuard no_grad;
    const double t = static_cast<double>(steps());  // already counts this step
    const double decay = std::min(options_.ema_decay, (1 + t) / (10 + t));
    for (auto& [name, average] : ema_) average.mul_(decay).add_(generator_.at(name).detach(), 1 - decay);
  }
  return losses;
}

NamedTensors GanTrainer::state() const {
  NamedTensors state;
  add_prefixed(state, "g.", generator_);
  add_prefixed(state, "d.", discriminator_);
  add_prefixed(state, "ema.", ema_);
  add_prefixed(state, "adam_g.", adam_g_.state());
  add_prefixed(state, "adam_d.", adam_d_.state());
  return state;
}

void GanTrainer::load(const NamedTensors& state) {
  restore(generator_, with_prefix(state, "g."), "generator weight");
  restore(discriminator_, with_prefix(state, "d."), "discriminator weight");
  restore(ema_, with_prefix(state, "ema."), "EMA weight");
  adam_g_.load_state(with_prefix(state, "adam_g."));
  adam_d_.load_state(with_prefix(state, "adam_d."));
}

bool GanTrainer::weights_finite() const {
  for (const auto* weights : {&generator_, &discriminator_, &ema_})
    for (const auto& [name, tensor] : *weights)
      if (!torch::isfinite(tensor).all().item<bool>()) return false;
  return true;
}

NamedTensors GanTrainer::sampler_weights() const {
  NamedTensors weights = detached_copy(ema_);
  store_standing_statistics(weights, architecture_, options_.seed ^ 0x57A7);
  return weights;
}

}  // namespace atelier
