// atelier train-style: trains a feed-forward style network (pytorch/examples
// TransformerNet) for one style image on a folder of photos.
//
// Beside OUTPUT (rank 0 writes them; the other processes write nothing):
//   OUTPUT.checkpoint.safetensors  weights + Adam state every --checkpoint-every
//                                  steps and at the end (extend with --resume --steps N)
//   OUTPUT.losses.csv / .png       training losses; OUTPUT.validation.csv held-out losses
//   OUTPUT.previews/step_NNNNNN.png  photos (top row) and their stylised versions
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "atelier/dataset.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"
#include "atelier/style_training.hpp"
#include "atelier/tensor_image.hpp"
#include "atelier/vgg.hpp"
#include "interrupt.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "training_support.hpp"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string style, data, output;
  std::string weights = "vgg19", models_dir, preprocess;
  std::string content_layer, style_layers;
  StyleTrainingOptions training;
  int64_t batch_size = 4, image_size = 256;
  int64_t steps = 0, epochs = 0;
  std::string crop = "center";
  bool flip = false;
  double color_jitter = 0;
  int workers = 2;
  int preview_every = 500;
  TrainingRunFlags run;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

// Everything that shapes the weights, except the step count (a finished run
// can be extended with --resume and more --steps).
std::string describe_job(const TrainArgs& args, const std::string& weights_path, const PerceptualLoss& loss) {
  nlohmann::json job = {{"style", fs::absolute(args.style).string()},
                        {"data", fs::absolute(args.data).string()},
                        {"feature_network", weights_path},
                        {"content_layer", loss.content_layer()},
                        {"style_layers", loss.style_layers()},
                        {"content_weight", args.training.content_weight},
                        {"style_weight", args.training.style_weight},
                        {"tv_weight", args.training.tv_weight},
                        {"lr", args.training.learning_rate},
                        {"style_size", args.training.style_size},
                        {"batch_size", args.batch_size},
                        {"image_size", args.image_size},
                        {"crop", args.crop},
                        {"flip", args.flip},
                        {"color_jitter", args.color_jitter},
                        {"seed", args.training.seed},
                        {"precision", args.run.precision},
                        {"world_size", args.run.distributed.world_size}};
  return job.dump();
}

// Photos on the top row, their stylised versions below.
void write_preview(const std::string& path, const torch::Tensor& photos, const torch::Tensor& stylised) {
  auto sheet = torch::cat({torch::cat(photos.unbind(0), 2), torch::cat(stylised.to(torch::kCPU).unbind(0), 2)}, 1);
  save_image(Image{tensor_to_image(sheet), {}}, path);
}

// Held-out photos (a prepared folder's validation split), else the first
// training photos; up to `count`, centre-cropped at the training size.
torch::Tensor fixed_photos(const TrainArgs& args, const std::vector<std::string>& training_files, size_t count,
                           bool* held_out) {
  std::vector<std::string> files = list_validation_images(args.data);
  *held_out = !files.empty();
  if (files.empty()) files = training_files;
  files.resize(std::min(files.size(), count));
  LoaderOptions options;
  options.image_size = args.image_size;
  std::vector<torch::Tensor> photos;
  for (const auto& file : files) photos.push_back(image_to_tensor(augment_image(load_image(file).rgb, options, 0)));
  return torch::cat(photos);
}

int run_train_style(TrainArgs args) {
  Progress progress(args.run.json ? OutputMode::Json : args.run.quiet ? OutputMode::Quiet : OutputMode::Bar);
  configure_runtime(args.run.threads);
  const torch::Device device = parse_device(args.run.device);
  args.training.precision = parse_precision(args.run.precision);
  args.training.content_layer = args.content_layer;
  args.training.style_layers = split_list(args.style_layers);
  if (args.steps <= 0 && args.epochs <= 0) throw Error("give --steps or --epochs");
  if (fs::path(args.output).extension() != ".safetensors") throw Error("-o " + args.output + ": must end in .safetensors");
  const bool writes = args.run.distributed.rank == 0;
  if (writes) check_can_save(args.output + ".probe.png", {});

  // Everything that can be wrong is checked before joining the group.
  const Image style = load_image(args.style);
  const std::vector<std::string> files = list_training_images(args.data);
  const std::string weights_path = ModelStore(args.models_dir).resolve(args.weights);
  std::optional<Preprocess> preprocess;
  if (!args.preprocess.empty()) preprocess = parse_preprocess(args.preprocess);
  const std::unique_ptr<FeatureNetwork> features = load_feature_network(weights_path, preprocess, Pooling::Max, device);

  LoaderOptions loader_options;
  loader_options.batch_size = args.batch_size;
  loader_options.image_size = args.image_size;
  loader_options.crop = parse_crop_mode(args.crop);
  loader_options.flip = args.flip;
  loader_options.color_jitter = args.color_jitter;
  loader_options.seed = args.training.seed;
  loader_options.threads = args.workers;
  loader_options.rank = args.run.distributed.rank;
  loader_options.world_size = args.run.distributed.world_size;
  BatchLoader loader(files, loader_options);
  const int64_t total_steps = args.steps > 0 ? args.steps : args.epochs * loader.batches_per_epoch();

  ProcessGroup group(args.run.distributed);
  StyleTrainer trainer(*features, style.rgb, args.training, group);
  const std::string job = describe_job(args, weights_path, trainer.loss());
  const std::string checkpoint_path = args.output + ".checkpoint.safetensors";
  const std::string previews = args.output + ".previews";
  LossLog losses(args.output + ".losses.csv", {"content", "style", "tv", "total"});
  LossLog validation(args.output + ".validation.csv", {"content", "style"});
  if (args.run.resume) {
    const NamedTensors state = read_training_checkpoint(checkpoint_path, job);
    trainer.load(state);
    check_resume_within(checkpoint_path, trainer.steps(), total_steps);
    losses.resume(trainer.steps());
    validation.resume(trainer.steps());
  }
  bool held_out = false;
  const torch::Tensor fixed = fixed_photos(args, files, 4, &held_out);
  progress.info("training on " + std::to_string(files.size()) + " photos, " + std::to_string(loader.batches_per_epoch()) +
                    " batches an epoch; feature network " + features->architecture() + " from " + weights_path + " (content " +
                    trainer.loss().content_layer() + ")" +
                    (group.world_size() > 1 ? "; process " + std::to_string(group.rank()) + " of " +
                                                  std::to_string(group.world_size())
                                            : ""),
                {{"photos", files.size()}, {"steps", total_steps}, {"rank", group.rank()}});

  auto evaluate = [&](int64_t step) {
    const StyleLosses held = trainer.evaluate(fixed);
    validation.add(step, {held.content, held.style});
    if (!writes) return;
    fs::create_directories(previews);
    write_preview(step_file(previews, step), fixed, trainer.stylise(fixed));
    progress.event("validation", {{"step", step}, {"content", held.content}, {"style", held.style}});
  };
  auto save = [&] {
    if (!writes) return;
    save_tensors(checkpoint_path, trainer.state(), {{"job", job}, {"step", std::to_string(trainer.steps())}});
    losses.write(args.output + ".losses.png");
    validation.write(args.output + ".validation.png");
  };
  if (trainer.steps() == 0) evaluate(0);

  InterruptHandler interrupt_handler;
  progress.start(total_steps, "steps", trainer.steps());
  while (trainer.steps() < total_steps) {
    if (interrupt_requested()) {
      save();
      progress.finish();
      std::cerr << "atelier: interrupted at step " << trainer.steps() << "; run the same command with --resume to continue"
                << std::endl;
      return kExitInterrupted;
    }
    const StyleLosses step_losses = trainer.step(loader.batch(trainer.steps()));
    const int64_t step = trainer.steps();
    losses.add(step, {step_losses.content, step_losses.style, step_losses.tv, step_losses.total});
    char detail[128];
    std::snprintf(detail, sizeof detail, "loss %.4g (content %.3g, style %.3g)", step_losses.total, step_losses.content,
                  step_losses.style);
    if (step % args.run.log_every == 0 || step == total_steps)
      progress.update(step, detail,
                      {{"step", step}, {"loss", step_losses.total}, {"content", step_losses.content},
                       {"style", step_losses.style}, {"tv", step_losses.tv}});
    if (args.preview_every > 0 && step % args.preview_every == 0 && step != total_steps) evaluate(step);
    if (args.run.checkpoint_every > 0 && step % args.run.checkpoint_every == 0) save();
  }
  progress.finish();
  evaluate(trainer.steps());
  save();

  nlohmann::json settings = nlohmann::json::parse(job);
  settings["steps"] = trainer.steps();
  const std::map<std::string, std::string> metadata = {{"architecture", "pytorch-examples"}, {"training", settings.dump()}};
  if (writes) save_tensors(args.output, trainer.weights(), metadata);
  if (args.run.save_all_ranks && group.rank() > 0)
    save_tensors(args.output + ".rank" + std::to_string(group.rank()), trainer.weights(), metadata);
  const auto& rows = validation.rows();
  const double first = rows.front().second[1], last = rows.back().second[1];
  progress.info("wrote " + args.output + "; " + (held_out ? "held-out" : "training") + " style loss " +
                    std::to_string(first) + " -> " + std::to_string(last) + " (" + std::to_string(first / last) +
                    "x lower)",
                {{"output", args.output}, {"style_loss_first", first}, {"style_loss_last", last}, {"held_out", held_out}});
  return kExitOk;
}

}  // namespace

Runner add_train_style_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train-style", "Train a feed-forward style network for one style image");
  cmd->add_option("--style,-s", args->style, "The style image")->required();
  cmd->add_option("--data,-d", args->data, "Folder of photos (or one prepared by `atelier data prepare`)")->required();
  cmd->add_option("--output,-o", args->output, "The trained network (.safetensors)")->required();
  cmd->add_option("--steps", args->steps, "Optimisation steps (or --epochs)");
  cmd->add_option("--epochs", args->epochs, "Passes over the photos (when --steps is not given)");
  cmd->add_option("--batch-size", args->batch_size, "Photos per step (per process)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--image-size", args->image_size, "Training crop size")->capture_default_str()->check(CLI::Range(32, 4096));
  cmd->add_option("--style-size", args->training.style_size, "Longest side of the style image (0: as it is)")->capture_default_str();
  cmd->add_option("--lr", args->training.learning_rate, "Adam learning rate")->capture_default_str();
  cmd->add_option("--content-weight", args->training.content_weight, "Weight of the content loss")->capture_default_str();
  cmd->add_option("--style-weight", args->training.style_weight, "Weight of the style loss: higher paints more")->capture_default_str();
  cmd->add_option("--tv-weight", args->training.tv_weight, "Weight of total-variation smoothing")->capture_default_str();
  cmd->add_option("--content-layer", args->content_layer, "Feature layer for content (default relu2_2 for VGG, layer2 for ResNet-50)");
  cmd->add_option("--style-layers", args->style_layers, "Comma list (default VGG relu1_2,relu2_2,relu3_3,relu4_3, those present; ResNet-50 conv1,layer1,layer2,layer3)");
  cmd->add_option("--weights", args->weights, "Feature network (VGG16/19 or ResNet-50): a name in the model search path or a .safetensors path")->capture_default_str();
  cmd->add_option("--models-dir", args->models_dir, "Directory searched first for weights");
  cmd->add_option("--preprocess", args->preprocess, "Input convention, overriding the weights' metadata")->check(CLI::IsMember({"caffe", "torchvision"}));
  cmd->add_option("--crop", args->crop, "center or random crops of the photos")->capture_default_str()->check(CLI::IsMember({"center", "random", "none"}));
  cmd->add_flag("--flip", args->flip, "Random horizontal flips");
  cmd->add_option("--color-jitter", args->color_jitter, "Random brightness, contrast and saturation, 0..1")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", args->training.seed, "Seed of the initial weights and the data order")->capture_default_str();
  cmd->add_option("--workers", args->workers, "Image decoding threads")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--preview-every", args->preview_every, "Preview sheet and held-out losses every N steps")->capture_default_str();
  cmd->add_flag("--resume", args->run.resume, "Continue from OUTPUT.checkpoint.safetensors (same settings; --steps may grow)");
  auto resolve = add_training_run_flags(cmd, &args->run);
  return [args, resolve] {
    resolve();
    return run_train_style(*args);
  };
}

}  // namespace atelier::cli
