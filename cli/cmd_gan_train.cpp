// `atelier gan train --data DIR|IDX -o GAN.safetensors --size 32|64|128`.
// Beside the output it keeps:
//   OUTPUT.checkpoint.safetensors  both networks, the EMA and Adam states
//   OUTPUT.losses.csv / .png       losses and scores per step
//   OUTPUT.samples/step_N.png      a grid from fixed latents every --sample-every
// A NaN or infinite loss (or weight) stops the run before anything is
// written over: the last good checkpoint stays as it was.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "atelier/error.hpp"
#include "atelier/gan_training.hpp"
#include "atelier/image.hpp"
#include "interrupt.hpp"
#include "gan_commands.hpp"
#include "progress.hpp"
#include "training_support.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct GanTrainArgs {
  std::string data, output;
  GanArchitecture architecture;
  GanTrainingOptions training;
  std::string loss = "hinge", augment = "color,translation,cutout";
  int64_t batch_size = 64, steps = -1;
  double crop_area = 0.1;
  bool flip = false;
  int sample_every = 500;
  TrainingRunFlags run;
  GanTrainArgs() { architecture.channels = 0; }  // 0: the data's own
};

// Everything that shapes the weights except the step count and the knobs a
// resumed run may turn (learning rates, R1: what one changes after a
// divergence); a checkpoint only resumes under the same description.
std::string describe_job(const GanTrainArgs& args) {
  const GanArchitecture& a = args.architecture;
  const GanTrainingOptions& t = args.training;
  return nlohmann::json{{"data", fs::absolute(args.data).lexically_normal().string()},
                        {"size", a.image_size}, {"channels", a.channels}, {"latent_dim", a.latent_dim},
                        {"g_width", a.g_width}, {"d_width", a.d_width}, {"loss", args.loss},
                        {"beta1", t.beta1},
                        {"beta2", t.beta2}, {"ema", t.ema_decay},
                        {"augment", augment_policy_name(t.augment)}, {"precision", args.run.precision},
                        {"seed", t.seed}, {"batch_size", args.batch_size},
                        {"world_size", args.run.distributed.world_size}, {"crop_area", args.crop_area},
                        {"flip", args.flip}}
      .dump();
}

void write_grid(const GanTrainer& trainer, const torch::Tensor& latents, const std::string& path) {
  const GanGenerator sampler(trainer.sampler_weights(), trainer.architecture(), {});
  save_picture(image_grid(sampler.generate(latents), 8), path);
}

int run_gan_train(GanTrainArgs args) {
  Progress progress(args.run.json ? OutputMode::Json : args.run.quiet ? OutputMode::Quiet : OutputMode::Bar);
  configure_runtime(args.run.threads);
  const torch::Device device = parse_device(args.run.device);
  args.training.precision = parse_precision(args.run.precision);
  args.training.loss = parse_gan_loss(args.loss);
  args.training.augment = parse_augment_policy(args.augment);
  if (args.steps < 0) throw Error("give --steps (0 writes the untrained generator)");
  if (fs::path(args.output).extension() != ".safetensors") throw Error("-o " + args.output + ": must end in .safetensors");
  GanArchitecture before_data = args.architecture;  // size and widths fail before the data is read
  before_data.channels = 3;
  check_gan_architecture(before_data);
  const bool writes = args.run.distributed.rank == 0;
  if (writes) check_can_save(args.output + ".probe.png", {});

  GanDataOptions data_options;
  data_options.image_size = args.architecture.image_size;
  data_options.channels = args.architecture.channels;
  data_options.batch_size = args.batch_size;
  data_options.min_crop_area = args.crop_area;
  data_options.flip = args.flip;
  data_options.seed = args.training.seed;
  data_options.rank = args.run.distributed.rank;
  data_options.world_size = args.run.distributed.world_size;
  const GanData data(args.data, data_options);
  args.architecture.channels = data.channels();

  ProcessGroup group(args.run.distributed);
  GanTrainer trainer(args.architecture, args.training, group, device);
  const std::string job = describe_job(args);
  const std::string checkpoint_path = args.output + ".checkpoint.safetensors";
  const std::string samples_folder = args.output + ".samples";
  LossLog losses(args.output + ".losses.csv", {"d", "g", "d_real", "d_fake", "r1"});
  if (args.run.resume) {
    const NamedTensors state = read_training_checkpoint(checkpoint_path, job);
    trainer.load(state);
    check_resume_within(checkpoint_path, trainer.steps(), args.steps);
    losses.resume(trainer.steps());
  }
  progress.info("training a " + std::to_string(args.architecture.image_size) + " px GAN on " + data.description() +
                    (group.world_size() > 1 ? "; process " + std::to_string(group.rank()) + " of " +
                                                  std::to_string(group.world_size())
                                            : ""),
                {{"sources", data.source_count()}, {"steps", args.steps}, {"rank", group.rank()}});

  const torch::Tensor fixed_latents = latents_for(args.training.seed ^ 0xF1ED, 0, 64, args.architecture.latent_dim);
  int64_t last_checkpoint = args.run.resume ? trainer.steps() : -1;
  // Stops the run without writing anything more: the last checkpoint is good.
  auto diverged = [&](const std::string& what) {
    progress.finish();
    std::cerr << "atelier: training diverged at step " << trainer.steps() << " (" << what << "); "
              << (last_checkpoint >= 0 ? "kept the last good checkpoint " + checkpoint_path + " (step " +
                                             std::to_string(last_checkpoint) + ")"
                                       : std::string("no checkpoint was written"))
              << ": lower the learning rates or add --r1" << std::endl;
    return kExitDiverged;
  };
  // False, writing nothing, when a weight is no longer finite.
  auto save = [&] {
    if (!writes) return true;
    if (!trainer.weights_finite()) return false;
    save_tensors(checkpoint_path, trainer.state(), {{"job", job}, {"step", std::to_string(trainer.steps())}});
    last_checkpoint = trainer.steps();
    losses.write(args.output + ".losses.png");
    return true;
  };
  auto sample = [&] {
    if (!writes) return;
    fs::create_directories(samples_folder);
    write_grid(trainer, fixed_latents, step_file(samples_folder, trainer.steps()));
  };
  if (trainer.steps() == 0) sample();

  InterruptHandler interrupt_handler;
  progress.start(args.steps, "steps", trainer.steps());
  while (trainer.steps() < args.steps) {
    if (interrupt_requested()) {
      if (!save()) return diverged("a weight is NaN or infinite");
      progress.finish();
      std::cerr << "atelier: interrupted at step " << trainer.steps() << "; run the same command with --resume to continue"
                << std::endl;
      return kExitInterrupted;
    }
    const GanLosses step_losses = trainer.step(data.batch(trainer.steps()));
    const int64_t step = trainer.steps();
    if (!step_losses.finite())
      return diverged("D loss " + std::to_string(step_losses.d) + ", G loss " + std::to_string(step_losses.g));
    losses.add(step, {step_losses.d, step_losses.g, step_losses.d_real, step_losses.d_fake, step_losses.r1});
    char detail[128];
    std::snprintf(detail, sizeof detail, "D %.3f  G %.3f  (real %.2f, fake %.2f)", step_losses.d, step_losses.g,
                  step_losses.d_real, step_losses.d_fake);
    if (step % args.run.log_every == 0 || step == args.steps)
      progress.update(step, detail,
                      {{"step", step}, {"d_loss", step_losses.d}, {"g_loss", step_losses.g},
                       {"d_real", step_losses.d_real}, {"d_fake", step_losses.d_fake}, {"r1", step_losses.r1}});
    if (args.run.checkpoint_every > 0 && step % args.run.checkpoint_every == 0 && !save())
      return diverged("a weight is NaN or infinite");
    if (args.sample_every > 0 && step % args.sample_every == 0) sample();
  }
  progress.finish();
  if (!save()) return diverged("a weight is NaN or infinite");

  nlohmann::json settings = nlohmann::json::parse(job);
  settings["steps"] = trainer.steps();
  settings["g_lr"] = args.training.g_learning_rate;
  settings["d_lr"] = args.training.d_learning_rate;
  settings["r1"] = args.training.r1_gamma;
  auto metadata = gan_architecture_metadata(args.architecture);
  metadata["training"] = settings.dump();
  const NamedTensors sampler = trainer.sampler_weights();
  if (writes) save_tensors(args.output, sampler, metadata);
  if (args.run.save_all_ranks && group.rank() > 0)
    save_tensors(args.output + ".rank" + std::to_string(group.rank()), trainer.state(), metadata);
  progress.info("wrote " + args.output + " (step " + std::to_string(trainer.steps()) + ")",
                {{"output", args.output}, {"step", trainer.steps()}});
  return kExitOk;
}

}  // namespace

Runner add_gan_train_command(CLI::App* gan) {
  auto args = std::make_shared<GanTrainArgs>();
  CLI::App* cmd = gan->add_subcommand("train", "Train a generator and a discriminator on a collection");
  cmd->add_option("--data,-d", args->data, "A folder of pictures, or an IDX file (Fashion-MNIST)")->required();
  cmd->add_option("--output,-o", args->output, "The trained generator (.safetensors)")->required();
  cmd->add_option("--size", args->architecture.image_size, "Image side: 32, 64 or 128")->capture_default_str();
  cmd->add_option("--channels", args->architecture.channels, "1 (grey) or 3 (colour); default: the data's")->check(CLI::IsMember({1, 3}));
  cmd->add_option("--steps", args->steps, "Training steps (one D and one G update each)")->required();
  cmd->add_option("--batch-size", args->batch_size, "Real images per step (per process)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--latent", args->architecture.latent_dim, "Size of the latent vector")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--g-width", args->architecture.g_width, "Generator width (channels of its last block)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--d-width", args->architecture.d_width, "Discriminator width (channels of its first block)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--loss", args->loss, "hinge or nonsaturating")->capture_default_str()->check(CLI::IsMember({"hinge", "nonsaturating"}));
  cmd->add_option("--g-lr", args->training.g_learning_rate, "Generator learning rate")->capture_default_str();
  cmd->add_option("--d-lr", args->training.d_learning_rate, "Discriminator learning rate")->capture_default_str();
  cmd->add_option("--beta1", args->training.beta1, "Adam beta1")->capture_default_str();
  cmd->add_option("--beta2", args->training.beta2, "Adam beta2")->capture_default_str();
  cmd->add_option("--r1", args->training.r1_gamma, "R1 penalty weight gamma (0: off)")->capture_default_str();
  cmd->add_option("--ema", args->training.ema_decay, "Decay of the generator's moving average")->capture_default_str();
  cmd->add_option("--augment", args->augment, "DiffAugment: color,translation,cutout (any of them) or none")->capture_default_str();
  cmd->add_option("--crop-area", args->crop_area, "Folders: random crops of at least this share of a picture")->capture_default_str()->check(CLI::Range(0.01, 1.0));
  cmd->add_flag("--flip", args->flip, "Random horizontal flips of the real images");
  cmd->add_option("--seed", args->training.seed, "Seed of the weights, latents, augmentation and data order")->capture_default_str();
  cmd->add_option("--sample-every", args->sample_every, "Sample grid every N steps")->capture_default_str();
  cmd->add_flag("--resume", args->run.resume, "Continue from OUTPUT.checkpoint.safetensors (same settings but --steps, --g-lr, --d-lr, --r1)");
  auto resolve = add_training_run_flags(cmd, &args->run);
  return [args, resolve] {
    resolve();
    return run_gan_train(*args);
  };
}

}  // namespace atelier::cli
