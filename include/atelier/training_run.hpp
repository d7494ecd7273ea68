// Training behind a torch-free API: one call runs a whole training job (a
// feed-forward style network, an arbitrary-style AdaIN decoder, or a GAN), resuming, checkpointing and logging
// as it goes. The CLI and other front ends fill in a job, watch the events
// and map the outcome to what they report.
//
//   atelier::StyleTrainingJob job;                 // every default in one place
//   job.style = "starry.jpg";
//   job.data = "photos/";
//   job.run.output = "starry.safetensors";
//   job.steps = 2000;
//   atelier::TrainingOutcome outcome = atelier::train_style(job, {});
//
// Beside OUTPUT (rank 0 writes them; the other processes write nothing):
//   OUTPUT.checkpoint.safetensors  the trainer's state every checkpoint_every steps, at the end and
//                                  when stopped (resume extends a run, with more steps)
//   OUTPUT.losses.csv / .png       training losses per step
//   style: OUTPUT.validation.csv / .png  held-out losses; OUTPUT.previews/step_NNNNNN.png photos
//          (top row) and their stylised versions
//   arbitrary: the same, for the preview painting (left) and photos
//   GAN:   OUTPUT.samples/step_NNNNNN.png  a grid from fixed latents
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "atelier/distributed.hpp"
#include "atelier/runtime.hpp"

namespace atelier {

// What every training job shares: where it writes, how often it takes a
// checkpoint, resuming, and the processes it runs on.
struct TrainingRunOptions {
  std::string output;  // the trained weights (.safetensors); the run's other files go beside it
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  Precision precision = Precision::F32;
  int checkpoint_every = 500;  // steps; 0: only at the end and when stopped
  bool resume = false;         // continue from OUTPUT.checkpoint.safetensors (the same job)
  DistributedOptions distributed;
  bool save_all_ranks = false;  // ranks > 0 also write OUTPUT.rankN (tests compare them)
};

// A step's losses, after it was taken.
struct TrainingProgress {
  int64_t step = 0, total_steps = 0;
  std::vector<std::pair<std::string, double>> losses;  // by name: "loss", "content" ... or "d_loss", "g_loss" ...
  std::string summary;  // the losses as one short line, e.g. "loss 0.52 (content 0.31, style 0.021)"
};

// What a run reports while it runs; any of them may be left empty.
struct TrainingEvents {
  std::function<void(const std::string& message, const nlohmann::json& fields)> info;
  std::function<void(const std::string& name, const nlohmann::json& fields)> event;  // e.g. "validation"
  // Once, before the first step of this run: `steps_done` were taken before (a resumed run).
  std::function<void(int64_t total_steps, int64_t steps_done)> started;
  std::function<void(const TrainingProgress&)> step;  // after every step
  std::function<void()> finished;  // once, after the last step or when the run stops early
  // Polled before each step: true takes a checkpoint and stops (Interrupted).
  std::function<bool()> stop_requested;
};

enum class TrainingEnd {
  Finished,     // the weights and their metadata are written
  Interrupted,  // stop_requested: a checkpoint was taken, a resumed run continues from it
  Diverged,     // a loss or weight is NaN or infinite: nothing more was written, the last checkpoint is good
};

struct TrainingOutcome {
  TrainingEnd end = TrainingEnd::Finished;
  int64_t steps = 0;    // steps taken when the run ended
  std::string message;  // Interrupted, Diverged: one line on what happened and what to do next
};

// A feed-forward style network (the pytorch/examples TransformerNet) for one
// style image, trained on a folder of photos (style_training.hpp).
struct StyleTrainingJob {
  std::string style;            // the style image
  std::string data;             // a folder of photos, or one prepared by `atelier data prepare`
  std::string weights = "vgg19";  // feature network (VGG16/19 or ResNet-50): a model store name or a path
  std::string models_dir;       // searched first for `weights`
  std::string preprocess;       // "caffe" or "torchvision"; empty: the weights' metadata
  std::string content_layer;              // empty: the network's default
  std::vector<std::string> style_layers;  // empty: the network's defaults
  double content_weight = 1.0;
  double style_weight = 10.0;
  double tv_weight = 10.0;
  double learning_rate = 1e-3;
  int64_t style_size = 0;  // longest side of the style image; 0: as it is
  uint64_t seed = 0;       // initial weights and the data order
  int64_t batch_size = 4;  // photos per step, per process
  int64_t image_size = 256;
  int64_t steps = 0, epochs = 0;  // one of them: steps, else passes over the photos
  std::string crop = "center";    // "center", "random" or "none"
  bool flip = false;              // random horizontal flips
  double color_jitter = 0;        // random brightness, contrast and saturation, 0..1
  int workers = 2;                // image decoding threads
  int preview_every = 500;        // preview sheet and held-out losses every N steps; 0: at the start and end only
  // Written into the weights' metadata for galleries (model_names.hpp);
  // an empty title: the style image's file name made readable.
  std::string title, artist;
  TrainingRunOptions run;
};

// An AdaIN decoder (Huang & Belongie 2017; models/adain.hpp) trained on a
// folder of photos and a folder of paintings with the AdaIN content and
// style (mean/std) losses (adain_training.hpp): it then paints with any
// painting. Defaults as naoto0804/pytorch-AdaIN's train.py, except the
// learning rate's decay (none here).
struct ArbitraryTrainingJob {
  std::string content;  // folder of photos (or one prepared by `atelier data prepare`)
  std::string styles;   // folder of paintings
  std::string encoder = "vgg19";  // a VGG (Caffe or torchvision) or vgg_normalised: a model store name or a path
  std::string models_dir;         // searched first for `encoder`
  std::string level;              // "relu3_1" or "relu4_1"; empty: relu4_1 when the encoder has it
  double content_weight = 1.0;
  double style_weight = 10.0;
  double learning_rate = 1e-4;
  uint64_t seed = 0;        // initial weights and the data order
  int64_t batch_size = 8;   // photos (and as many paintings) per step, per process
  int64_t image_size = 256;       // training crop size, photos and paintings
  int64_t steps = 0;              // required
  std::string crop = "random";    // "center", "random" or "none"
  int workers = 2;                // image decoding threads (each of the two loaders)
  int preview_every = 500;        // preview sheet and held-out losses every N steps; 0: at the start and end only
  // The previews' painting (kept out of `styles` to measure how the decoder
  // does on a painting it never saw); empty: the first of `styles`.
  std::string preview_style;
  // The previews' photos, all of the folder's (at most 16); empty: the held-out
  // split of a prepared `content`, else its first 4 photos.
  std::string preview_content;
  TrainingRunOptions run;
};

// A GAN (gan.hpp) trained on a collection: an IDX file or a folder of pictures.
struct GanTrainingJob {
  std::string data;
  int64_t image_size = 32;  // 32, 64 or 128
  int64_t channels = 0;     // 1 (grey) or 3 (colour); 0: the data's own
  int64_t latent_dim = 128;
  int64_t g_width = 32;  // generator width (channels of its last block)
  int64_t d_width = 32;  // discriminator width (channels of its first block)
  std::string loss = "hinge";  // or "nonsaturating"
  double g_learning_rate = 2e-4, d_learning_rate = 2e-4;
  double beta1 = 0.0, beta2 = 0.99;
  double r1_gamma = 0;  // R1 penalty on real images; 0: off
  double ema_decay = 0.999;
  std::string augment = "color,translation,cutout";  // DiffAugment: any of them, or "none"
  uint64_t seed = 0;      // weights, latents, augmentation and data order
  int64_t batch_size = 64;  // real images per step, per process
  int64_t steps = -1;       // required; 0 writes the untrained generator
  double crop_area = 0.1;   // folders: random crops of at least this share of a picture
  bool flip = false;        // random horizontal flips of the real images
  int sample_every = 500;   // sample grid every N steps; 0: at the start only
  TrainingRunOptions run;
};

// Run the job to its end, or until stop_requested or divergence. Throws
// atelier::Error for bad input or settings (nothing written then), for a
// checkpoint that belongs to another job, and for failed writes.
TrainingOutcome train_style(const StyleTrainingJob& job, const TrainingEvents& events);
TrainingOutcome train_arbitrary(const ArbitraryTrainingJob& job, const TrainingEvents& events);
TrainingOutcome train_gan(const GanTrainingJob& job, const TrainingEvents& events);

}  // namespace atelier
