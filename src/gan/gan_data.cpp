#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

#include "data/dataset.hpp"
#include "atelier/error.hpp"
#include "gan/gan_training.hpp"
#include "atelier/image.hpp"
#include "util/splitmix.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;

bool is_idx_file(const std::string& path) {
  return fs::is_regular_file(path) && (path.find("idx3-ubyte") != std::string::npos || path.find(".idx") != std::string::npos);
}

// Where global sample `index` comes from: epochs are shuffles of the sources.
class SourceOrder {
 public:
  SourceOrder(size_t count, uint64_t seed) : count_(count), seed_(seed) {}
  size_t source_of(int64_t index) {
    const int64_t epoch = index / static_cast<int64_t>(count_);
    auto found = orders_.find(epoch);
    if (found == orders_.end())
      found = orders_.emplace(epoch, shuffled_order(count_, mix_seed(seed_, static_cast<uint64_t>(epoch), 0x6A4))).first;
    return found->second[static_cast<size_t>(index % static_cast<int64_t>(count_))];
  }

 private:
  size_t count_;
  uint64_t seed_;
  std::map<int64_t, std::vector<size_t>> orders_;
};

torch::Tensor to_grey(const torch::Tensor& rgb) {
  const auto weights = torch::tensor({0.299f, 0.587f, 0.114f}).view({1, 3, 1, 1});
  return (rgb * weights).sum(1, true);
}

}  // namespace

GanData::GanData(const std::string& path, GanDataOptions options) : path_(path), options_(options) {
  if (is_idx_file(path)) {
    idx_images_ = read_idx(path);
    if (idx_images_.dim() != 3 || idx_images_.size(0) == 0)
      throw Error(path + ": not an IDX file of images ([N,H,W] expected)");
    channels_ = options_.channels > 0 ? options_.channels : 1;
  } else {
    if (!fs::exists(path)) throw Error("--data " + path + ": no such file or folder");
    const int longest = static_cast<int>(4 * options_.image_size);
    for (const auto& file : list_training_images(path)) {
      cv::Mat rgb = load_image(file).rgb;  // grey and RGBA files come as RGB
      const double scale = static_cast<double>(longest) / std::min(rgb.cols, rgb.rows);
      if (scale < 1) cv::resize(rgb, rgb, {}, scale, scale, cv::INTER_AREA);
      cv::Mat bytes;
      rgb.convertTo(bytes, CV_8UC3, 255.0);
      pictures_.push_back(bytes);
    }
    channels_ = options_.channels > 0 ? options_.channels : 3;
  }
  if (channels_ != 1 && channels_ != 3) throw Error("channels must be 1 or 3");
}

int64_t GanData::source_count() const {
  return idx_images_.defined() ? idx_images_.size(0) : static_cast<int64_t>(pictures_.size());
}

std::string GanData::description() const {
  if (idx_images_.defined())
    return std::to_string(idx_images_.size(0)) + " images " + std::to_string(idx_images_.size(1)) + "x" +
           std::to_string(idx_images_.size(2)) + " from " + path_;
  return std::to_string(pictures_.size()) + " pictures from " + path_ + ", random crops";
}

torch::Tensor GanData::sample(int64_t source, uint64_t seed) const {
  const int64_t side = options_.image_size;
  torch::Tensor image;
  if (idx_images_.defined()) {
    image = idx_images_[source].to(torch::kFloat32).div(255).view({1, 1, idx_images_.size(1), idx_images_.size(2)});
    image = torch::upsample_bilinear2d(image, {side, side}, /*align_corners=*/false).clamp(0, 1);
    if (options_.flip && SplitMix(seed).uniform() < 0.5) image = image.flip(3);
    if (channels_ == 3) image = image.repeat({1, 3, 1, 1});
  } else {
    LoaderOptions crop;
    crop.image_size = side;
    crop.crop = CropMode::Random;
    crop.min_crop_area = options_.min_crop_area;
    crop.flip = options_.flip;
    cv::Mat rgb;
    pictures_[static_cast<size_t>(source)].convertTo(rgb, CV_32FC3, 1.0 / 255);
    image = image_to_tensor(augment_image(rgb, crop, seed));
    if (channels_ == 1) image = to_grey(image);
  }
  return image * 2 - 1;
}

torch::Tensor GanData::batch(int64_t step) const {
  const int64_t global_batch = options_.batch_size * options_.world_size;
  const int64_t first = step * global_batch + options_.rank * options_.batch_size;
  SourceOrder order(static_cast<size_t>(source_count()), options_.seed);
  std::vector<torch::Tensor> images;
  for (int64_t i = first; i < first + options_.batch_size; ++i)
    images.push_back(sample(static_cast<int64_t>(order.source_of(i)), mix_seed(options_.seed, static_cast<uint64_t>(i), 0xC80)));
  return torch::cat(images);
}

torch::Tensor GanData::samples(int64_t count, uint64_t seed) const {
  std::vector<torch::Tensor> images;
  if (idx_images_.defined()) {
    count = std::min(count, source_count());
    for (int64_t i = 0; i < count; ++i) images.push_back(sample(i, 0));
  } else {
    SourceOrder order(pictures_.size(), seed);
    for (int64_t i = 0; i < count; ++i)
      images.push_back(sample(static_cast<int64_t>(order.source_of(i)), mix_seed(seed, static_cast<uint64_t>(i), 0xE7A)));
  }
  return torch::cat(images);
}

}  // namespace atelier
