// atelier train-style: trains a feed-forward style network (pytorch/examples
// TransformerNet) for one style image on a folder of photos (train_style in
// atelier/training_run.hpp, which lists the files it keeps beside OUTPUT).
#include <memory>
#include <string>

#include "atelier/training_run.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "training_support.hpp"

namespace atelier::cli {
namespace {

struct TrainStyleArgs {
  StyleTrainingJob job;
  std::string style_layers;  // comma list
  TrainingRunFlags run;
};

}  // namespace

Runner add_train_style_command(CLI::App& app) {
  auto args = std::make_shared<TrainStyleArgs>();
  CLI::App* cmd = app.add_subcommand("train-style", "Train a feed-forward style network for one style image");
  StyleTrainingJob& job = args->job;
  cmd->add_option("--style,-s", job.style, "The style image")->required();
  cmd->add_option("--title", job.title, "The style's name in galleries (default: the style image's file name, made readable)");
  cmd->add_option("--artist", job.artist, "The painter of the style image, shown with the title");
  cmd->add_option("--data,-d", job.data, "Folder of photos (or one prepared by `atelier data prepare`)")->required();
  cmd->add_option("--output,-o", job.run.output, "The trained network (.safetensors)")->required();
  cmd->add_option("--steps", job.steps, "Optimisation steps (or --epochs)")->check(whole_number_in(1, kMaxSteps));
  cmd->add_option("--epochs", job.epochs, "Passes over the photos (when --steps is not given)")->check(whole_number_in(1, 1000000));
  cmd->add_option("--batch-size", job.batch_size, "Photos per step (per process)")->capture_default_str()->check(whole_number_in(1, 4096));
  cmd->add_option("--image-size", job.image_size, "Training crop size")->capture_default_str()->check(whole_number_in(32, 4096));
  cmd->add_option("--style-size", job.style_size, "Longest side of the style image (0: as it is)")->capture_default_str()->check(whole_number_in(0, 16384));
  cmd->add_option("--lr", job.learning_rate, "Adam learning rate")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--content-weight", job.content_weight, "Weight of the content loss")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--style-weight", job.style_weight, "Weight of the style loss: higher paints more")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--tv-weight", job.tv_weight, "Weight of total-variation smoothing")->capture_default_str()->check(number_in(0, kAnyFinite));
  cmd->add_option("--content-layer", job.content_layer, "Feature layer for content (default relu2_2 for VGG, layer2 for ResNet-50)");
  cmd->add_option("--style-layers", args->style_layers, "Comma list (default VGG relu1_2,relu2_2,relu3_3,relu4_3, those present; ResNet-50 conv1,layer1,layer2,layer3)");
  cmd->add_option("--weights", job.weights, "Feature network (VGG16/19 or ResNet-50): a name in the model search path or a .safetensors path")->capture_default_str();
  add_models_dir_flag(cmd, &job.models_dir);
  cmd->add_option("--preprocess", job.preprocess, "Input convention, overriding the weights' metadata")->check(CLI::IsMember({"caffe", "torchvision"}));
  cmd->add_option("--crop", job.crop, "center or random crops of the photos")->capture_default_str()->check(CLI::IsMember({"center", "random", "none"}));
  cmd->add_flag("--flip", job.flip, "Random horizontal flips");
  cmd->add_option("--color-jitter", job.color_jitter, "Random brightness, contrast and saturation, 0..1")->capture_default_str()->check(number_in(0, 1));
  cmd->add_option("--seed", job.seed, "Seed of the initial weights and the data order")->capture_default_str()->check(whole_number_in(0, kAnySeed));
  cmd->add_option("--workers", job.workers, "Image decoding threads")->capture_default_str()->check(whole_number_in(1, 64));
  cmd->add_option("--preview-every", job.preview_every, "Preview sheet and held-out losses every N steps")->capture_default_str()->check(whole_number_in(0, kMaxSteps));
  cmd->add_flag("--resume", job.run.resume, "Continue from OUTPUT.checkpoint.safetensors (same settings; --steps may grow)");
  auto resolve = add_training_run_flags(cmd, &args->run, &job.run);
  return [args, resolve] {
    resolve();
    args->job.style_layers = split_list(args->style_layers);
    return run_training(args->run, [&](const TrainingEvents& events) { return train_style(args->job, events); });
  };
}

}  // namespace atelier::cli
