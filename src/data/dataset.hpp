// Training data: the images of a folder (or of a prepared manifest), and a
// batch loader that decodes and augments them on worker threads.
//
// Every random choice is drawn from (seed, epoch, sample position), never
// from thread timing or earlier batches: batch k is the same whatever the
// thread count and whether the run was resumed, and in distributed training
// rank r of W gets exactly the slice [r*B, (r+1)*B) of the global batch
// that a single process with batch W*B would see.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "atelier/data_prepare.hpp"

namespace atelier {

// The image files under `folder` (recursively, by extension), sorted; or,
// when `folder` holds an atelier manifest (data prepare), its training
// files. Throws atelier::Error when there is no such folder or no image.
std::vector<std::string> list_training_images(const std::string& folder);
// A prepared folder's held-out images (its manifest's "val" split); empty
// for a plain folder.
std::vector<std::string> list_validation_images(const std::string& folder);
bool has_image_extension(const std::string& path);

struct LoaderOptions {
  int64_t batch_size = 4;
  int64_t image_size = 256;      // output side (square)
  CropMode crop = CropMode::Center;
  double min_crop_area = 0.35;   // random crops: fraction of the image, at least
  bool flip = false;             // random horizontal flips
  double color_jitter = 0.0;     // brightness/contrast/saturation jitter, 0..1
  uint64_t seed = 0;
  int threads = 2;               // decoding threads
  int64_t rank = 0, world_size = 1;  // this process's slice of each global batch
};

class BatchLoader {
 public:
  // Throws atelier::Error when there are fewer images than a global batch.
  BatchLoader(std::vector<std::string> files, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // This rank's part of global batch `step`: [batch, 3, size, size] RGB in
  // 0..1. The next batch is decoded in the background meanwhile. A file that
  // cannot be read is an error naming it.
  torch::Tensor batch(int64_t step);

  int64_t batches_per_epoch() const;
  const std::vector<std::string>& files() const { return files_; }

 private:
  torch::Tensor load(int64_t step) const;

  std::vector<std::string> files_;
  LoaderOptions options_;
  int64_t prefetched_step_ = -1;
  std::future<torch::Tensor> prefetched_;
};

// One sample's image as the loader makes it (exposed for tests):
// `rgb` CV_32FC3 [0,1] to size x size with the options' crop and augmentation,
// using `rng_seed` for every random choice.
cv::Mat augment_image(const cv::Mat& rgb, const LoaderOptions& options, uint64_t rng_seed);

// 64-bit difference hash (greyscale 9x8, each pixel brighter than its right
// neighbour?): near-identical pictures differ in few bits.
uint64_t difference_hash(const cv::Mat& rgb);

// IDX files (the MNIST / Fashion-MNIST format): a uint8 tensor of the file's
// shape, e.g. [60000, 28, 28] images or [60000] labels. Reads .gz too.
torch::Tensor read_idx(const std::string& path);

}  // namespace atelier
