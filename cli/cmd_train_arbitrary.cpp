// atelier train-arbitrary: trains an AdaIN decoder on a folder of photos and a
// folder of paintings, so that it paints with any painting (train_arbitrary in
// atelier/training_run.hpp, which lists the files it keeps beside OUTPUT).
#include <memory>
#include <string>

#include "atelier/training_run.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "training_support.hpp"

namespace atelier::cli {
namespace {

struct TrainArbitraryArgs {
  ArbitraryTrainingJob job;
  TrainingRunFlags run;
};

}  // namespace

Runner add_train_arbitrary_command(CLI::App& app) {
  auto args = std::make_shared<TrainArbitraryArgs>();
  CLI::App* cmd = app.add_subcommand("train-arbitrary", "Train an AdaIN decoder that paints with any painting");
  ArbitraryTrainingJob& job = args->job;
  cmd->add_option("--content-dir", job.content, "Folder of photos (or one prepared by `atelier data prepare`)")->required();
  cmd->add_option("--style-dir", job.styles, "Folder of paintings")->required();
  cmd->add_option("--output,-o", job.run.output, "The trained decoder (.safetensors)")->required();
  cmd->add_option("--steps", job.steps, "Optimisation steps")->required()->check(whole_number_in(1, kMaxSteps));
  cmd->add_option("--encoder", job.encoder, "Encoder: a VGG or vgg_normalised, a name in the model search path or a .safetensors path")->capture_default_str();
  add_models_dir_flag(cmd, &job.models_dir);
  cmd->add_option("--level", job.level, "Encoder layer AdaIN works at (default relu4_1 when the encoder has it, else relu3_1)")->check(CLI::IsMember({"relu3_1", "relu4_1"}));
  cmd->add_option("--batch-size", job.batch_size, "Photos (and paintings) per step (per process)")->capture_default_str()->check(whole_number_in(1, 4096));
  cmd->add_option("--size,--image-size", job.image_size, "Training crop size")->capture_default_str()->check(whole_number_in(32, 4096));
  cmd->add_option("--crop", job.crop, "random, center or none: how a picture becomes a training square")->capture_default_str()->check(CLI::IsMember({"center", "random", "none"}));
  cmd->add_option("--lr", job.learning_rate, "Adam learning rate")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--content-weight", job.content_weight, "Weight of the content loss")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--style-weight", job.style_weight, "Weight of the style (mean and std) loss: higher paints more")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--seed", job.seed, "Seed of the initial weights and the data order")->capture_default_str()->check(whole_number_in(0, kAnySeed));
  cmd->add_option("--workers", job.workers, "Image decoding threads of each loader")->capture_default_str()->check(whole_number_in(1, 64));
  cmd->add_option("--preview-every", job.preview_every, "Preview sheet and held-out losses every N steps")->capture_default_str()->check(whole_number_in(0, kMaxSteps));
  cmd->add_option("--preview-style", job.preview_style, "The previews' painting; one outside --style-dir measures a held-out painting (default: the first of --style-dir)");
  cmd->add_option("--preview-content", job.preview_content, "Folder of the previews' photos, at most 16 (default: the held-out split of a prepared --content-dir, else its first 4 photos)");
  cmd->add_flag("--resume", job.run.resume, "Continue from OUTPUT.checkpoint.safetensors (same settings; --steps may grow)");
  auto resolve = add_training_run_flags(cmd, &args->run, &job.run);
  return [args, resolve] {
    resolve();
    return run_training(args->run, [&](const TrainingEvents& events) { return train_arbitrary(args->job, events); });
  };
}

}  // namespace atelier::cli
