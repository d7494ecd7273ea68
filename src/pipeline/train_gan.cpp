// train_gan: a GAN's part of a training run (the loop is
// run_training_loop's): sample grids from fixed latents, divergence, the EMA
// generator with its architecture and settings. A NaN or infinite loss (or
// weight) stops the run before anything is written over: the last good
// checkpoint stays as it was.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "atelier/error.hpp"
#include "gan/gan_training.hpp"
#include "atelier/image.hpp"
#include "atelier/training_run.hpp"
#include "pipeline/gan_pictures.hpp"
#include "pipeline/training_driver.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;

GanArchitecture gan_architecture_of(const GanTrainingJob& job) {
  GanArchitecture architecture;
  architecture.image_size = job.image_size;
  architecture.channels = job.channels;
  architecture.latent_dim = job.latent_dim;
  architecture.g_width = job.g_width;
  architecture.d_width = job.d_width;
  return architecture;
}

GanTrainingOptions gan_training_options(const GanTrainingJob& job) {
  GanTrainingOptions options;
  options.g_learning_rate = job.g_learning_rate;
  options.d_learning_rate = job.d_learning_rate;
  options.beta1 = job.beta1;
  options.beta2 = job.beta2;
  options.r1_gamma = job.r1_gamma;
  options.ema_decay = job.ema_decay;
  options.precision = job.run.precision;
  options.seed = job.seed;
  options.loss = parse_gan_loss(job.loss);
  options.augment = parse_augment_policy(job.augment);
  return options;
}

// Everything that shapes the weights except the step count and the knobs a
// resumed run may turn (learning rates, R1: what one changes after a
// divergence); a checkpoint only resumes under the same description.
std::string describe_gan_job(const GanTrainingJob& job, const GanArchitecture& a, const GanTrainingOptions& t) {
  return nlohmann::json{{"data", fs::absolute(job.data).lexically_normal().string()},
                        {"size", a.image_size}, {"channels", a.channels}, {"latent_dim", a.latent_dim},
                        {"g_width", a.g_width}, {"d_width", a.d_width}, {"loss", job.loss},
                        {"beta1", t.beta1},
                        {"beta2", t.beta2}, {"ema", t.ema_decay},
                        {"augment", augment_policy_name(t.augment)}, {"precision", precision_name(job.run.precision)},
                        {"seed", t.seed}, {"batch_size", job.batch_size},
                        {"world_size", job.run.distributed.world_size}, {"crop_area", job.crop_area},
                        {"flip", job.flip}}
      .dump();
}

void write_grid(const GanTrainer& trainer, const torch::Tensor& latents, const std::string& path) {
  const GanGenerator sampler(trainer.sampler_weights(), trainer.architecture(), {});
  save_image(Image{rgb_picture(image_grid(sampler.generate(latents), 8)), {}}, path);
}

class GanRun final : public TrainingMethod {
 public:
  GanRun(const GanTrainingJob& job, const TrainingEvents& events)
      : job_(job), events_(events), architecture_(gan_architecture_of(job)) {
    const torch::Device device = parse_device(job.run.device);
    training_ = gan_training_options(job);
    if (job.steps < 0) throw Error("give --steps (0 writes the untrained generator)");
    check_output_name(job.run);
    GanArchitecture before_data = architecture_;  // size and widths fail before the data is read
    before_data.channels = 3;
    check_gan_architecture(before_data);
    writes_ = check_writes(job.run);

    GanDataOptions data_options;
    data_options.image_size = architecture_.image_size;
    data_options.channels = architecture_.channels;
    data_options.batch_size = job.batch_size;
    data_options.min_crop_area = job.crop_area;
    data_options.flip = job.flip;
    data_options.seed = job.seed;
    data_options.rank = job.run.distributed.rank;
    data_options.world_size = job.run.distributed.world_size;
    data_.emplace(job.data, data_options);
    architecture_.channels = data_->channels();

    group_.emplace(job.run.distributed);
    trainer_.emplace(architecture_, training_, *group_, device);
    description_ = describe_gan_job(job, architecture_, training_);
  }

  TrainingLoop loop() const {
    TrainingLoop loop = training_loop(job_.run, description_, job_.steps);
    loop.loss_columns = {"d", "g", "d_real", "d_fake", "r1"};
    loop.loss_names = {"d_loss", "g_loss", "d_real", "d_fake", "r1"};
    loop.divergence_advice = "lower the learning rates or add --r1";
    return loop;
  }

  int64_t steps() const override { return trainer_->steps(); }
  NamedTensors state() const override { return trainer_->state(); }
  void load(const NamedTensors& state) override { trainer_->load(state); }
  bool weights_finite() const override { return trainer_->weights_finite(); }

  Step step() override {
    const GanLosses losses = trainer_->step(data_->batch(trainer_->steps()));
    if (!losses.finite()) return {{}, "D loss " + std::to_string(losses.d) + ", G loss " + std::to_string(losses.g)};
    return {{losses.d, losses.g, losses.d_real, losses.d_fake, losses.r1}, ""};
  }

  std::string summary(const std::vector<double>& losses) const override {
    char detail[128];
    std::snprintf(detail, sizeof detail, "D %.3f  G %.3f  (real %.2f, fake %.2f)", losses[0], losses[1], losses[2],
                  losses[3]);
    return detail;
  }

  void prepare() override {
    const ProcessGroup& group = *group_;
    report_info(events_,
                "training a " + std::to_string(architecture_.image_size) + " px GAN on " + data_->description() +
                    (group.world_size() > 1 ? "; process " + std::to_string(group.rank()) + " of " +
                                                  std::to_string(group.world_size())
                                            : ""),
                {{"sources", data_->source_count()}, {"steps", job_.steps}, {"rank", group.rank()}});
    fixed_latents_ = latents_for(job_.seed ^ 0xF1ED, 0, 64, architecture_.latent_dim);
  }

  void write_first_samples() override { sample(); }

  void after_checkpoint(int64_t step) override {
    if (job_.sample_every > 0 && step % job_.sample_every == 0) sample();
  }

  void write_weights() override {
    const std::string& output = job_.run.output;
    nlohmann::json settings = nlohmann::json::parse(description_);
    settings["steps"] = trainer_->steps();
    settings["g_lr"] = training_.g_learning_rate;
    settings["d_lr"] = training_.d_learning_rate;
    settings["r1"] = training_.r1_gamma;
    auto metadata = gan_architecture_metadata(architecture_);
    metadata["training"] = settings.dump();
    const NamedTensors sampler = trainer_->sampler_weights();
    if (writes_) save_tensors(output, sampler, metadata);
    if (job_.run.save_all_ranks && group_->rank() > 0)
      save_tensors(output + ".rank" + std::to_string(group_->rank()), trainer_->state(), metadata);
    report_info(events_, "wrote " + output + " (step " + std::to_string(trainer_->steps()) + ")",
                {{"output", output}, {"step", trainer_->steps()}});
  }

 private:
  // A grid from the fixed latents, where the run writes.
  void sample() {
    if (!writes_) return;
    const std::string folder = job_.run.output + ".samples";
    fs::create_directories(folder);
    write_grid(*trainer_, fixed_latents_, step_file(folder, trainer_->steps()));
  }

  const GanTrainingJob& job_;
  const TrainingEvents& events_;
  GanArchitecture architecture_;
  GanTrainingOptions training_;
  bool writes_ = true;
  std::optional<GanData> data_;
  std::optional<ProcessGroup> group_;
  std::optional<GanTrainer> trainer_;  // after the group it refers to
  std::string description_;
  torch::Tensor fixed_latents_;
};

}  // namespace

TrainingOutcome train_gan(const GanTrainingJob& job, const TrainingEvents& events) {
  GanRun run(job, events);
  return run_training_loop(run, run.loop(), events);
}

}  // namespace atelier
