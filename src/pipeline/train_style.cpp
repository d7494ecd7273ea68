// train_style: a feed-forward style network's part of a training run (the
// loop is run_training_loop's): held-out losses and preview sheets, the
// trained weights with their settings.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "data/dataset.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/model_names.hpp"
#include "atelier/model_store.hpp"
#include "train/style_training.hpp"
#include "torch/tensor_image.hpp"
#include "atelier/training_run.hpp"
#include "models/vgg.hpp"
#include "pipeline/training_driver.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;

StyleTrainingOptions style_training_options(const StyleTrainingJob& job) {
  StyleTrainingOptions options;
  options.content_layer = job.content_layer;
  options.style_layers = job.style_layers;
  options.content_weight = job.content_weight;
  options.style_weight = job.style_weight;
  options.tv_weight = job.tv_weight;
  options.learning_rate = job.learning_rate;
  options.style_size = job.style_size;
  options.precision = job.run.precision;
  options.seed = job.seed;
  return options;
}

// Everything that shapes the weights, except the step count (a finished run
// can be extended with --resume and more --steps).
std::string describe_style_job(const StyleTrainingJob& job, const std::string& weights_path,
                               const PerceptualLoss& loss) {
  nlohmann::json description = {{"style", fs::absolute(job.style).string()},
                                {"data", fs::absolute(job.data).string()},
                                {"feature_network", weights_path},
                                {"content_layer", loss.content_layer()},
                                {"style_layers", loss.style_layers()},
                                {"content_weight", job.content_weight},
                                {"style_weight", job.style_weight},
                                {"tv_weight", job.tv_weight},
                                {"lr", job.learning_rate},
                                {"style_size", job.style_size},
                                {"batch_size", job.batch_size},
                                {"image_size", job.image_size},
                                {"crop", job.crop},
                                {"flip", job.flip},
                                {"color_jitter", job.color_jitter},
                                {"seed", job.seed},
                                {"precision", precision_name(job.run.precision)},
                                {"world_size", job.run.distributed.world_size}};
  return description.dump();
}

// Photos on the top row, their stylised versions below.
void write_preview(const std::string& path, const torch::Tensor& photos, const torch::Tensor& stylised) {
  auto sheet = torch::cat({torch::cat(photos.unbind(0), 2), torch::cat(stylised.to(torch::kCPU).unbind(0), 2)}, 1);
  save_image(Image{tensor_to_image(sheet), {}}, path);
}

// Held-out photos (a prepared folder's validation split), else the first
// training photos; up to `count`, centre-cropped at the training size.
torch::Tensor fixed_photos(const StyleTrainingJob& job, const std::vector<std::string>& training_files, size_t count,
                           bool* held_out) {
  std::vector<std::string> files = list_validation_images(job.data);
  *held_out = !files.empty();
  if (files.empty()) files = training_files;
  files.resize(std::min(files.size(), count));
  LoaderOptions options;
  options.image_size = job.image_size;
  std::vector<torch::Tensor> photos;
  for (const auto& file : files) photos.push_back(image_to_tensor(augment_image(load_image(file).rgb, options, 0)));
  return torch::cat(photos);
}

class StyleRun final : public ValidatedTraining {
 public:
  // Everything that can be wrong is checked before joining the group.
  StyleRun(const StyleTrainingJob& job, const TrainingEvents& events)
      : ValidatedTraining(job.run.output, job.preview_every), job_(job), events_(events) {
    const torch::Device device = parse_device(job.run.device);
    if (job.steps <= 0 && job.epochs <= 0) throw Error("give --steps or --epochs");
    check_output_name(job.run);
    writes_ = check_writes(job.run);

    const Image style = load_image(job.style);
    files_ = list_training_images(job.data);
    weights_path_ = ModelStore(job.models_dir).resolve(job.weights);
    std::optional<Preprocess> preprocess;
    if (!job.preprocess.empty()) preprocess = parse_preprocess(job.preprocess);
    features_ = load_feature_network(weights_path_, preprocess, Pooling::Max, device);

    LoaderOptions loader_options;
    loader_options.batch_size = job.batch_size;
    loader_options.image_size = job.image_size;
    loader_options.crop = parse_crop_mode(job.crop);
    loader_options.flip = job.flip;
    loader_options.color_jitter = job.color_jitter;
    loader_options.seed = job.seed;
    loader_options.threads = job.workers;
    loader_options.rank = job.run.distributed.rank;
    loader_options.world_size = job.run.distributed.world_size;
    loader_.emplace(files_, loader_options);
    total_steps_ = job.steps > 0 ? job.steps : job.epochs * loader_->batches_per_epoch();

    group_.emplace(job.run.distributed);
    trainer_.emplace(*features_, style.rgb, style_training_options(job), *group_);
    description_ = describe_style_job(job, weights_path_, trainer_->loss());
  }

  TrainingLoop loop() const {
    TrainingLoop loop = training_loop(job_.run, description_, total_steps_);
    loop.loss_columns = {"content", "style", "tv", "total"};
    loop.loss_names = {"content", "style", "tv", "loss"};
    return loop;
  }

  int64_t steps() const override { return trainer_->steps(); }
  NamedTensors state() const override { return trainer_->state(); }
  void load(const NamedTensors& state) override { trainer_->load(state); }

  Step step() override {
    const StyleLosses losses = trainer_->step(loader_->batch(trainer_->steps()));
    return {{losses.content, losses.style, losses.tv, losses.total}, ""};
  }

  std::string summary(const std::vector<double>& losses) const override {
    char detail[128];
    std::snprintf(detail, sizeof detail, "loss %.4g (content %.3g, style %.3g)", losses[3], losses[0], losses[1]);
    return detail;
  }

  void prepare() override {
    fixed_ = fixed_photos(job_, files_, 4, &held_out_);
    const ProcessGroup& group = *group_;
    report_info(events_,
                "training on " + std::to_string(files_.size()) + " photos, " +
                    std::to_string(loader_->batches_per_epoch()) + " batches an epoch; feature network " +
                    features_->architecture() + " from " + weights_path_ + " (content " +
                    trainer_->loss().content_layer() + ")" +
                    process_note(group),
                {{"photos", files_.size()}, {"steps", total_steps_}, {"rank", group.rank()}});
  }

  void write_weights() override {
    const std::string& output = job_.run.output;
    nlohmann::json settings = nlohmann::json::parse(description_);
    settings["steps"] = trainer_->steps();
    std::map<std::string, std::string> metadata = {{"architecture", "pytorch-examples"},
                                                   {"training", settings.dump()},
                                                   {kFamilyKey, "atelier"},  // trained here: its own family in galleries
                                                   {kTitleKey, job_.title}};
    if (job_.title.empty()) metadata[kTitleKey] = readable_name(fs::path(job_.style).stem().string());
    if (!job_.artist.empty()) metadata[kArtistKey] = job_.artist;
    if (writes_) save_tensors(output, trainer_->weights(), metadata);
    if (job_.run.save_all_ranks && group_->rank() > 0)
      save_tensors(output + ".rank" + std::to_string(group_->rank()), trainer_->weights(), metadata);
    const auto [first, last] = style_loss_first_last();
    report_info(events_,
                "wrote " + output + "; " + (held_out_ ? "held-out" : "training") + " style loss " +
                    std::to_string(first) + " -> " + std::to_string(last) + " (" + std::to_string(first / last) +
                    "x lower)",
                {{"output", output}, {"style_loss_first", first}, {"style_loss_last", last}, {"held_out", held_out_}});
  }

 private:
  // Held-out losses, and (where the run writes) a preview sheet.
  void evaluate(int64_t step) override {
    const StyleLosses held = trainer_->evaluate(fixed_);
    validation_.add(step, {held.content, held.style});
    if (!writes_) return;
    const std::string previews = job_.run.output + ".previews";
    fs::create_directories(previews);
    write_preview(step_file(previews, step), fixed_, trainer_->stylise(fixed_));
    report_event(events_, "validation", {{"step", step}, {"content", held.content}, {"style", held.style}});
  }

  const StyleTrainingJob& job_;
  const TrainingEvents& events_;
  bool writes_ = true;
  std::vector<std::string> files_;
  std::string weights_path_;
  std::unique_ptr<FeatureNetwork> features_;
  std::optional<BatchLoader> loader_;
  int64_t total_steps_ = 0;
  std::optional<ProcessGroup> group_;
  std::optional<StyleTrainer> trainer_;  // after the group and features it refers to
  std::string description_;
  torch::Tensor fixed_;
  bool held_out_ = false;
};

}  // namespace

TrainingOutcome train_style(const StyleTrainingJob& job, const TrainingEvents& events) {
  StyleRun run(job, events);
  return run_training_loop(run, run.loop(), events);
}

}  // namespace atelier
