// What the train-arbitrary tests share: a small random encoder that reaches
// relu3_1 with the 256 channels the AdaIN decoder takes (narrow before it,
// so a step on 32 px pictures takes milliseconds), and folders of generated
// photos and paintings.
#pragma once
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "atelier/image.hpp"
#include "models/vgg.hpp"
#include "train/training.hpp"

namespace atelier::testing {

// torchvision-keyed VGG19 convolutions conv1_1 .. conv3_1 (widths 8, 8, 16,
// 16, 256), He-initialised, torchvision input convention.
inline void write_adain_test_encoder(const std::string& path, std::uint64_t seed = 11) {
  torch::manual_seed(seed);
  NamedTensors weights;
  const int widths[] = {8, 8, 16, 16, 256};
  int64_t in = 3, conv = 0;
  for (const auto& [name, index] : vgg_layer_names("vgg19")) {
    if (name.rfind("conv", 0) != 0) continue;
    if (conv == 5) break;
    const int64_t out = widths[conv++];
    const std::string key = "features." + std::to_string(index);
    weights[key + ".weight"] = torch::randn({out, in, 3, 3}) * std::sqrt(2.0 / (9.0 * static_cast<double>(in)));
    weights[key + ".bias"] = torch::randn({out}) * 0.01;
    in = out;
  }
  save_tensors(path, weights, {{"architecture", "vgg19"}, {"preprocess", "torchvision"}});
}

// `count` smooth random pictures of about 40 x 48 in `folder`; paintings
// (`painterly`) have stronger colours and finer detail than photos.
inline void write_test_pictures(const std::string& folder, int count, bool painterly, int seed) {
  std::filesystem::create_directories(folder);
  cv::RNG rng(seed);
  for (int i = 0; i < count; ++i) {
    cv::Mat coarse(painterly ? 12 : 5, painterly ? 14 : 6, CV_32FC3), rgb;
    rng.fill(coarse, cv::RNG::UNIFORM, 0.0, 1.0);
    if (painterly) cv::pow(coarse, 3.0, coarse);
    cv::resize(coarse, rgb, {48 + 4 * i, 40}, 0, 0, cv::INTER_CUBIC);
    save_image(Image{cv::min(cv::max(rgb, 0.0), 1.0), {}}, folder + "/picture" + std::to_string(i) + ".png");
  }
}

}  // namespace atelier::testing
