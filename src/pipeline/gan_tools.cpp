#include "atelier/gan_tools.hpp"

#include <nlohmann/json.hpp>

#include "gan/gan.hpp"
#include "gan/gan_metrics.hpp"
#include "gan/gan_training.hpp"
#include "atelier/model_store.hpp"
#include "torch/tensor_image.hpp"
#include "pipeline/gan_pictures.hpp"

namespace atelier {
namespace {

std::vector<cv::Mat> pictures(const torch::Tensor& images) {
  std::vector<cv::Mat> result;
  for (int64_t i = 0; i < images.size(0); ++i) result.push_back(rgb_picture(images.narrow(0, i, 1)));
  return result;
}

}  // namespace

cv::Mat rgb_picture(const torch::Tensor& image) {
  const auto rgb = image.size(1) == 1 ? image.repeat({1, 3, 1, 1}) : image;
  return tensor_to_image(rgb);
}

GanSampler::GanSampler(const std::string& path, const std::string& device)
    : generator_(std::make_shared<const GanGenerator>(GanGenerator::load(path, parse_device(device)))) {}

std::vector<cv::Mat> GanSampler::sample(uint64_t seed, int64_t count, double truncation) const {
  return sample(seed, 0, count, truncation);
}

std::vector<cv::Mat> GanSampler::sample(uint64_t seed, int64_t first, int64_t count, double truncation) const {
  const auto latents = latents_for(seed, first, count, generator_->architecture().latent_dim, truncation);
  return pictures(generator_->generate(latents));
}

cv::Mat GanSampler::sample_grid(uint64_t seed, int64_t count, int64_t columns, double truncation) const {
  const auto latents = latents_for(seed, 0, count, generator_->architecture().latent_dim, truncation);
  return rgb_picture(image_grid(generator_->generate(latents), columns));
}

std::vector<cv::Mat> GanSampler::walk(const std::vector<uint64_t>& seeds, int64_t frames, double truncation) const {
  const int64_t dim = generator_->architecture().latent_dim;
  // Frame f sits at f/(frames-1) of the way along the path through the seeds.
  std::vector<torch::Tensor> latents;
  const int64_t segments = static_cast<int64_t>(seeds.size()) - 1;
  for (int64_t f = 0; f < frames; ++f) {
    const double position = static_cast<double>(f) * segments / static_cast<double>(frames - 1);
    const int64_t segment = std::min<int64_t>(static_cast<int64_t>(position), segments - 1);
    latents.push_back(slerp(latent_for(seeds[segment], 0, dim, truncation),
                            latent_for(seeds[segment + 1], 0, dim, truncation), position - segment));
  }
  return pictures(generator_->generate(torch::stack(latents)));
}

GanEvaluation evaluate_gan(const std::string& generator_path, const GanEvalOptions& options) {
  const torch::Device device = parse_device(options.device);
  const GanGenerator generator = GanGenerator::load(generator_path, device);
  const std::string features_path = ModelStore(options.models_dir).resolve(options.features);
  const ResNet50 network = ResNet50::load(features_path, device);

  // Real pictures as the generator was trained on them: its size, channels and crops.
  GanDataOptions data_options;
  data_options.image_size = generator.architecture().image_size;
  data_options.channels = generator.architecture().channels;
  data_options.seed = options.seed;
  auto training = generator.metadata().find("training");
  if (training != generator.metadata().end()) {
    const auto settings = nlohmann::json::parse(training->second, nullptr, false);
    if (settings.is_object() && settings.contains("crop_area"))
      data_options.min_crop_area = settings["crop_area"].get<double>();
  }
  const GanData data(options.data, data_options);
  const auto real = (data.samples(options.count, options.seed) + 1) / 2;
  const auto fake = generator.generate(
      latents_for(options.seed ^ 0xE7A1, 0, real.size(0), generator.architecture().latent_dim, options.truncation));
  const auto real_features = pooled_features(network, real, options.input_size);
  const auto fake_features = pooled_features(network, fake, options.input_size);
  const KidEstimate kid = kernel_inception_distance(fake_features, real_features, options.blocks);

  GanEvaluation evaluation;
  evaluation.kid = kid.kid;
  evaluation.kid_standard_error = kid.standard_error;
  evaluation.kid_blocks = kid.blocks;
  evaluation.kid_block_size = kid.block_size;
  evaluation.fid = frechet_distance(fake_features, real_features);
  evaluation.generated = fake.size(0);
  evaluation.real = real.size(0);
  evaluation.data = data.description();
  evaluation.features = std::string("ResNet-50 ") + (network.stride_in_1x1() ? "(stride in 1x1) " : "") + "from " +
                        features_path + ", pooled features at " + std::to_string(options.input_size) + " px";
  return evaluation;
}

}  // namespace atelier
