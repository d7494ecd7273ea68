// `atelier gan train --data DIR|IDX -o GAN.safetensors --size 32|64|128`
// (train_gan in atelier/training_run.hpp, which lists the files it keeps
// beside OUTPUT). A NaN or infinite loss (or weight) stops the run with exit
// code 3 before anything is written over.
#include <memory>

#include "atelier/training_run.hpp"
#include "commands.hpp"
#include "gan_commands.hpp"
#include "training_support.hpp"

namespace atelier::cli {

Runner add_gan_train_command(CLI::App* gan) {
  struct GanTrainArgs {
    GanTrainingJob job;
    TrainingRunFlags run;
  };
  auto args = std::make_shared<GanTrainArgs>();
  CLI::App* cmd = gan->add_subcommand("train", "Train a generator and a discriminator on a collection");
  GanTrainingJob& job = args->job;
  cmd->add_option("--data,-d", job.data, "A folder of pictures, or an IDX file (Fashion-MNIST)")->required();
  cmd->add_option("--output,-o", job.run.output, "The trained generator (.safetensors)")->required();
  cmd->add_option("--size", job.image_size, "Image side: 32, 64 or 128")->capture_default_str()->check(whole_number_in(32, 128));
  cmd->add_option("--channels", job.channels, "1 (grey) or 3 (colour); default: the data's")->check(whole_number_of({1, 3}));
  cmd->add_option("--steps", job.steps, "Training steps (one D and one G update each)")->required()->check(whole_number_in(0, kMaxSteps));
  cmd->add_option("--batch-size", job.batch_size, "Real images per step (per process)")->capture_default_str()->check(whole_number_in(1, 4096));
  cmd->add_option("--latent", job.latent_dim, "Size of the latent vector")->capture_default_str()->check(whole_number_in(1, 4096));
  cmd->add_option("--g-width", job.g_width, "Generator width (channels of its last block)")->capture_default_str()->check(whole_number_in(1, 4096));
  cmd->add_option("--d-width", job.d_width, "Discriminator width (channels of its first block)")->capture_default_str()->check(whole_number_in(1, 4096));
  cmd->add_option("--loss", job.loss, "hinge or nonsaturating")->capture_default_str()->check(CLI::IsMember({"hinge", "nonsaturating"}));
  cmd->add_option("--g-lr", job.g_learning_rate, "Generator learning rate")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--d-lr", job.d_learning_rate, "Discriminator learning rate")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--beta1", job.beta1, "Adam beta1")->capture_default_str()->check(number_in(0, 0.9999));
  cmd->add_option("--beta2", job.beta2, "Adam beta2")->capture_default_str()->check(number_in(0, 0.9999));
  cmd->add_option("--r1", job.r1_gamma, "R1 penalty weight gamma (0: off)")->capture_default_str()->check(number_in(0, 1e6));
  cmd->add_option("--ema", job.ema_decay, "Decay of the generator's moving average")->capture_default_str()->check(number_in(0, 1));
  cmd->add_option("--augment", job.augment, "DiffAugment: color,translation,cutout (any of them) or none")->capture_default_str();
  cmd->add_option("--crop-area", job.crop_area, "Folders: random crops of at least this share of a picture")->capture_default_str()->check(number_in(0.01, 1));
  cmd->add_flag("--flip", job.flip, "Random horizontal flips of the real images");
  cmd->add_option("--seed", job.seed, "Seed of the weights, latents, augmentation and data order")->capture_default_str()->check(whole_number_in(0, kAnySeed));
  cmd->add_option("--sample-every", job.sample_every, "Sample grid every N steps")->capture_default_str()->check(whole_number_in(0, kMaxSteps));
  cmd->add_flag("--resume", job.run.resume, "Continue from OUTPUT.checkpoint.safetensors (same settings but --steps, --g-lr, --d-lr, --r1)");
  auto resolve = add_training_run_flags(cmd, &args->run, &job.run);
  return [args, resolve] {
    resolve();
    return run_training(args->run, [&](const TrainingEvents& events) { return train_gan(args->job, events); });
  };
}

}  // namespace atelier::cli
