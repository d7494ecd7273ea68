// train_arbitrary: an AdaIN decoder's part of a training run (the loop is
// run_training_loop's): two loaders (photos, paintings), held-out losses and
// preview sheets for a fixed painting, the decoder with its settings.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/model_names.hpp"
#include "atelier/model_store.hpp"
#include "atelier/training_run.hpp"
#include "data/dataset.hpp"
#include "pipeline/training_driver.hpp"
#include "torch/tensor_image.hpp"
#include "train/adain_training.hpp"
#include "util/splitmix.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMostPreviewPhotos = 16;

// The pictures of a folder the job names by its flag, the flag in the error.
std::vector<std::string> pictures_in_folder(const std::string& folder, const std::string& flag) {
  if (folder.empty()) throw Error(flag + " is required");
  try {
    return list_training_images(folder);
  } catch (const Error& error) {
    throw Error(flag + ": " + error.what());
  }
}

// The paintings, repeated until they fill a global batch: a few paintings
// (fewer than a batch) are enough, each draw a different crop.
std::vector<std::string> paintings_filling_batch(std::vector<std::string> paintings, int64_t global_batch) {
  const size_t count = paintings.size();
  while (static_cast<int64_t>(paintings.size()) < global_batch)
    paintings.insert(paintings.end(), paintings.begin(), paintings.begin() + static_cast<std::ptrdiff_t>(count));
  return paintings;
}

AdainTrainingOptions adain_training_options(const ArbitraryTrainingJob& job, const std::string& level) {
  AdainTrainingOptions options;
  options.level = level;
  options.content_weight = job.content_weight;
  options.style_weight = job.style_weight;
  options.learning_rate = job.learning_rate;
  options.precision = job.run.precision;
  options.seed = job.seed;
  return options;
}

// Everything that shapes the weights, except the step count (a finished run
// can be extended with --resume and more --steps) and the learning rate
// (what one lowers after a divergence, then resumes).
std::string describe_arbitrary_job(const ArbitraryTrainingJob& job, const std::string& encoder_path,
                                   const std::string& level) {
  return nlohmann::json{{"content", fs::absolute(job.content).lexically_normal().string()},
                        {"styles", fs::absolute(job.styles).lexically_normal().string()},
                        {"encoder", encoder_path},
                        {"level", level},
                        {"content_weight", job.content_weight},
                        {"style_weight", job.style_weight},
                        {"batch_size", job.batch_size},
                        {"image_size", job.image_size},
                        {"crop", job.crop},
                        {"seed", job.seed},
                        {"precision", precision_name(job.run.precision)},
                        {"world_size", job.run.distributed.world_size}}
      .dump();
}

// A picture as the previews use it: the centred square at the training size.
torch::Tensor centred_square(const std::string& file, int64_t size) {
  LoaderOptions options;
  options.image_size = size;
  return image_to_tensor(augment_image(load_image(file).rgb, options, 0));
}

// The painting top left, the photos beside it; their stylised versions below.
void write_arbitrary_preview(const std::string& path, const torch::Tensor& painting, const torch::Tensor& photos,
                   const torch::Tensor& stylised) {
  std::vector<torch::Tensor> top = {painting[0]}, bottom = {torch::ones_like(painting[0])};
  for (const auto& photo : photos.unbind(0)) top.push_back(photo);
  for (const auto& picture : stylised.unbind(0)) bottom.push_back(picture);
  save_image(Image{tensor_to_image(torch::cat({torch::cat(top, 2), torch::cat(bottom, 2)}, 1)), {}}, path);
}

bool is_same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

class ArbitraryRun final : public ValidatedTraining {
 public:
  // Everything that can be wrong is checked before joining the group.
  ArbitraryRun(const ArbitraryTrainingJob& job, const TrainingEvents& events)
      : ValidatedTraining(job.run.output, job.preview_every), job_(job), events_(events) {
    const torch::Device device = parse_device(job.run.device);
    if (job.steps <= 0) throw Error("give --steps");
    check_output_name(job.run);
    photos_ = pictures_in_folder(job.content, "--content-dir");
    paintings_ = pictures_in_folder(job.styles, "--style-dir");
    preview_photos_ = job.preview_content.empty() ? list_validation_images(job.content)
                                                  : pictures_in_folder(job.preview_content, "--preview-content");
    // Held out: a prepared folder's validation split, or photos none of which is a training file.
    held_out_photos_ = !preview_photos_.empty() &&
                       std::none_of(preview_photos_.begin(), preview_photos_.end(), [&](const std::string& preview) {
                         return std::any_of(photos_.begin(), photos_.end(),
                                            [&](const std::string& file) { return is_same_file(file, preview); });
                       });
    if (preview_photos_.empty()) {
      const auto count = static_cast<std::ptrdiff_t>(std::min<size_t>(4, photos_.size()));
      preview_photos_.assign(photos_.begin(), photos_.begin() + count);
    }
    preview_photos_.resize(std::min(preview_photos_.size(), kMostPreviewPhotos));
    preview_painting_ = job.preview_style.empty() ? paintings_.front() : job.preview_style;
    if (!job.preview_style.empty()) load_image(preview_painting_);  // a bad picture fails now, not at step 0
    held_out_painting_ = std::none_of(paintings_.begin(), paintings_.end(),
                                      [&](const std::string& file) { return is_same_file(file, preview_painting_); });
    writes_ = check_writes(job.run);

    encoder_path_ = ModelStore(job.models_dir).resolve(job.encoder);
    encoder_ = load_adain_encoder(encoder_path_, device);
    level_ = job.level.empty() ? adain_level(*encoder_) : job.level;
    try {
      check_adain_level(level_);
      encoder_->check_layer(level_);
    } catch (const Error& error) {
      throw Error("--level " + level_ + ": " + error.what());
    }

    LoaderOptions options;
    options.batch_size = job.batch_size;
    options.image_size = job.image_size;
    options.crop = parse_crop_mode(job.crop);
    options.seed = job.seed;
    options.threads = job.workers;
    options.rank = job.run.distributed.rank;
    options.world_size = job.run.distributed.world_size;
    content_loader_.emplace(photos_, options);
    options.seed = mix_seed(job.seed, 0x5717E, 0);  // paintings drawn apart from the photos
    const int64_t global_batch = job.batch_size * job.run.distributed.world_size;
    style_loader_.emplace(paintings_filling_batch(paintings_, global_batch), options);

    group_.emplace(job.run.distributed);
    trainer_.emplace(*encoder_, adain_training_options(job, level_), *group_);
    description_ = describe_arbitrary_job(job, encoder_path_, level_);
  }

  TrainingLoop loop() const {
    TrainingLoop loop = training_loop(job_.run, description_, job_.steps);
    loop.loss_columns = {"content", "style", "total"};
    loop.loss_names = {"content", "style", "loss"};
    loop.divergence_advice = "run the same command with a lower --lr and --resume";
    return loop;
  }

  int64_t steps() const override { return trainer_->steps(); }
  NamedTensors state() const override { return trainer_->state(); }
  void load(const NamedTensors& state) override { trainer_->load(state); }
  bool weights_finite() const override {
    for (const auto& [key, weight] : trainer_->weights())
      if (!torch::isfinite(weight).all().item<bool>()) return false;
    return true;
  }

  Step step() override {
    const int64_t step = trainer_->steps();
    const AdainLosses losses = trainer_->step(content_loader_->batch(step), style_loader_->batch(step));
    std::string divergence;
    if (!std::isfinite(losses.total))
      divergence = "loss " + std::to_string(losses.total) + ": content " + std::to_string(losses.content) +
                   ", style " + std::to_string(losses.style);
    return {{losses.content, losses.style, losses.total}, divergence};
  }

  std::string summary(const std::vector<double>& losses) const override {
    char detail[128];
    std::snprintf(detail, sizeof detail, "loss %.4g (content %.3g, style %.3g)", losses[2], losses[0], losses[1]);
    return detail;
  }

  void prepare() override {
    std::vector<torch::Tensor> photos;
    for (const auto& file : preview_photos_) photos.push_back(centred_square(file, job_.image_size));
    fixed_photos_ = torch::cat(photos);
    fixed_painting_ = centred_square(preview_painting_, job_.image_size);
    unpainted_ = trainer_->evaluate_unpainted(fixed_photos_, fixed_painting_);
    const ProcessGroup& group = *group_;
    report_info(events_,
                "training on " + std::to_string(photos_.size()) + " photos and " + std::to_string(paintings_.size()) +
                    " paintings; encoder " + encoder_->architecture() + " from " + encoder_path_ + " at " + level_ +
                    process_note(group),
                {{"photos", photos_.size()}, {"paintings", paintings_.size()}, {"level", level_},
                 {"steps", job_.steps}, {"rank", group.rank()}});
  }

  void write_weights() override {
    const std::string& output = job_.run.output;
    nlohmann::json settings = nlohmann::json::parse(description_);
    settings["steps"] = trainer_->steps();
    settings["lr"] = job_.learning_rate;  // the last run's
    const std::map<std::string, std::string> metadata = {
        {"encoder", fs::path(encoder_path_).stem().string()},
        {"training", settings.dump()},
        {kFamilyKey, "atelier"},  // trained here (model_names.hpp)
        {kTitleKey, readable_name(fs::path(output).stem().string())}};
    if (writes_) save_adain_decoder(trainer_->decoder(), output, metadata);
    if (job_.run.save_all_ranks && group_->rank() > 0)
      save_adain_decoder(trainer_->decoder(), output + ".rank" + std::to_string(group_->rank()), metadata);
    const auto [first, last] = style_loss_first_last();
    const auto& rows = validation_.rows();
    const std::string which = held_out_painting_ ? "held-out painting's" : "preview painting's";
    report_info(events_,
                "wrote " + output + "; " + which + " style loss " + std::to_string(first) + " -> " +
                    std::to_string(last) + " (" + std::to_string(first / last) + "x lower; the photos themselves " +
                    std::to_string(unpainted_.style) + ")",
                {{"output", output},
                 {"style_loss_first", first},
                 {"style_loss_last", last},
                 {"style_loss_photos", unpainted_.style},
                 {"content_loss_first", rows.front().second[0]},
                 {"content_loss_last", rows.back().second[0]},
                 {"held_out_painting", held_out_painting_},
                 {"held_out_photos", held_out_photos_}});
  }

 private:
  // Held-out losses, and (where the run writes) a preview sheet.
  void evaluate(int64_t step) override {
    const AdainLosses held = trainer_->evaluate(fixed_photos_, fixed_painting_);
    validation_.add(step, {held.content, held.style});
    if (!writes_) return;
    const std::string previews = job_.run.output + ".previews";
    fs::create_directories(previews);
    write_arbitrary_preview(step_file(previews, step), fixed_painting_, fixed_photos_,
                  trainer_->stylise(fixed_photos_, fixed_painting_));
    report_event(events_, "validation", {{"step", step}, {"content", held.content}, {"style", held.style}});
  }

  const ArbitraryTrainingJob& job_;
  const TrainingEvents& events_;
  bool writes_ = true;
  std::vector<std::string> photos_, paintings_, preview_photos_;
  std::string preview_painting_;
  bool held_out_painting_ = false, held_out_photos_ = false;
  std::string encoder_path_, level_;
  std::shared_ptr<const FeatureNetwork> encoder_;
  std::optional<BatchLoader> content_loader_, style_loader_;
  std::optional<ProcessGroup> group_;
  std::optional<AdainTrainer> trainer_;  // after the group and encoder it refers to
  std::string description_;
  torch::Tensor fixed_photos_, fixed_painting_;
  AdainLosses unpainted_;  // the photos' own losses for the painting: what doing nothing scores
};

}  // namespace

TrainingOutcome train_arbitrary(const ArbitraryTrainingJob& job, const TrainingEvents& events) {
  ArbitraryRun run(job, events);
  return run_training_loop(run, run.loop(), events);
}

}  // namespace atelier
