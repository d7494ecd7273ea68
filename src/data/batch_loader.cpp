#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "data/dataset.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "torch/tensor_image.hpp"
#include "util/splitmix.hpp"

namespace atelier {
namespace {

using Random = SplitMix;

// The order of the files in `epoch`.
std::vector<size_t> epoch_order(size_t count, uint64_t seed, int64_t epoch) {
  return shuffled_order(count, mix_seed(seed, static_cast<uint64_t>(epoch), 0xE90C));
}

cv::Mat resize_to(const cv::Mat& rgb, cv::Size size) {
  cv::Mat out;
  const bool shrinking = size.area() < rgb.size().area();
  cv::resize(rgb, out, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
  if (!shrinking) out = cv::min(cv::max(out, 0.0), 1.0);  // bicubic enlargement overshoots [0,1] at edges
  return out;
}

}  // namespace

cv::Mat augment_image(const cv::Mat& rgb, const LoaderOptions& options, uint64_t rng_seed) {
  Random random(rng_seed);
  const int side = static_cast<int>(options.image_size);
  cv::Mat out;
  if (options.crop == CropMode::None) {
    out = resize_to(rgb, {side, side});
  } else if (options.crop == CropMode::Center) {
    // Shorter side to `side`, then the middle square.
    const double scale = static_cast<double>(side) / std::min(rgb.cols, rgb.rows);
    const cv::Size scaled(std::max(side, static_cast<int>(std::lround(rgb.cols * scale))),
                          std::max(side, static_cast<int>(std::lround(rgb.rows * scale))));
    out = resize_to(rgb, scaled)(cv::Rect((scaled.width - side) / 2, (scaled.height - side) / 2, side, side)).clone();
  } else {
    // Random resized crop: a part of the image of random area and aspect
    // ratio (3/4..4/3) at a random place, resized to side x side.
    const double area = rgb.total() * random.uniform(options.min_crop_area, 1.0);
    const double ratio = std::exp(random.uniform(std::log(3.0 / 4.0), std::log(4.0 / 3.0)));
    const int width = std::clamp(static_cast<int>(std::lround(std::sqrt(area * ratio))), 1, rgb.cols);
    const int height = std::clamp(static_cast<int>(std::lround(std::sqrt(area / ratio))), 1, rgb.rows);
    const int x = static_cast<int>(random.uniform(0, rgb.cols - width + 1 - 1e-9));
    const int y = static_cast<int>(random.uniform(0, rgb.rows - height + 1 - 1e-9));
    out = resize_to(rgb(cv::Rect(x, y, width, height)), {side, side});
  }
  if (options.flip && random.uniform() < 0.5) cv::flip(out, out, 1);
  if (options.color_jitter > 0) {
    const double j = options.color_jitter;
    const double brightness = random.uniform(1 - j, 1 + j), contrast = random.uniform(1 - j, 1 + j),
                 saturation = random.uniform(1 - j, 1 + j);
    out *= brightness;
    const double mean = cv::mean(out)[0] / 3 + cv::mean(out)[1] / 3 + cv::mean(out)[2] / 3;
    out = (out - cv::Scalar::all(mean)) * contrast + cv::Scalar::all(mean);
    cv::Mat grey, grey3;
    cv::cvtColor(out, grey, cv::COLOR_RGB2GRAY);
    cv::cvtColor(grey, grey3, cv::COLOR_GRAY2RGB);
    out = grey3 + (out - grey3) * saturation;
    out = cv::min(cv::max(out, 0.0), 1.0);
  }
  return out;
}

BatchLoader::BatchLoader(std::vector<std::string> files, LoaderOptions options)
    : files_(std::move(files)), options_(options) {
  if (options_.batch_size < 1 || options_.image_size < 8) throw Error("batch size must be >= 1 and image size >= 8");
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size)
    throw Error("rank " + std::to_string(options_.rank) + " is outside world size " + std::to_string(options_.world_size));
  const int64_t global_batch = options_.batch_size * options_.world_size;
  if (static_cast<int64_t>(files_.size()) < global_batch)
    throw Error(std::to_string(files_.size()) + " training images are fewer than one batch of " +
                std::to_string(global_batch) + (options_.world_size > 1 ? " (over all processes)" : ""));
}

BatchLoader::~BatchLoader() {
  if (prefetched_.valid()) prefetched_.wait();
}

int64_t BatchLoader::batches_per_epoch() const {
  return static_cast<int64_t>(files_.size()) / (options_.batch_size * options_.world_size);
}

torch::Tensor BatchLoader::load(int64_t step) const {
  const int64_t epoch = step / batches_per_epoch(), position = step % batches_per_epoch();
  const auto order = epoch_order(files_.size(), options_.seed, epoch);
  const int64_t first = (position * options_.world_size + options_.rank) * options_.batch_size;
  std::vector<cv::Mat> images(static_cast<size_t>(options_.batch_size));
  std::vector<std::string> errors(images.size());
  auto work = [&](size_t begin, size_t stride) {
    for (size_t i = begin; i < images.size(); i += stride) {
      const int64_t sample = first + static_cast<int64_t>(i);
      const std::string& file = files_[order[static_cast<size_t>(sample)]];
      try {
        images[i] = augment_image(load_image(file).rgb, options_, mix_seed(options_.seed, epoch, sample));
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    }
  };
  const size_t threads = std::max<size_t>(1, std::min<size_t>(options_.threads, images.size()));
  std::vector<std::future<void>> workers;
  for (size_t t = 1; t < threads; ++t) workers.push_back(std::async(std::launch::async, work, t, threads));
  work(0, threads);
  for (auto& worker : workers) worker.get();
  for (const auto& error : errors)
    if (!error.empty()) throw Error(error);
  std::vector<torch::Tensor> tensors;
  for (const auto& image : images) tensors.push_back(image_to_tensor(image));
  return torch::cat(tensors);
}

torch::Tensor BatchLoader::batch(int64_t step) {
  torch::Tensor result;
  if (prefetched_.valid() && prefetched_step_ == step)
    result = prefetched_.get();
  else {
    if (prefetched_.valid()) prefetched_.wait();
    result = load(step);
  }
  prefetched_step_ = step + 1;
  prefetched_ = std::async(std::launch::async, [this, next = step + 1] { return load(next); });
  return result;
}

}  // namespace atelier
