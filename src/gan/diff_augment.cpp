// DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient
// GAN Training", 2020): the same random colour, translation and cutout for
// real and generated images, built from differentiable tensor operations so
// the generator's gradient passes through them.
#include <sstream>

#include "atelier/error.hpp"
#include "gan/gan.hpp"
#include "util/splitmix.hpp"

namespace atelier {
namespace {

struct SampleDraw {
  float brightness, saturation, contrast;
  int64_t shift_x, shift_y;
  int64_t cutout_x, cutout_y;  // centre of the cut square
};

SampleDraw draw(uint64_t seed, int64_t side) {
  SplitMix random(seed);
  SampleDraw d;
  d.brightness = static_cast<float>(random.uniform(-0.5, 0.5));
  d.saturation = static_cast<float>(random.uniform(0.0, 2.0));
  d.contrast = static_cast<float>(random.uniform(0.5, 1.5));
  const int64_t shift = side / 8;
  d.shift_x = static_cast<int64_t>(random.next() % (2 * shift + 1)) - shift;
  d.shift_y = static_cast<int64_t>(random.next() % (2 * shift + 1)) - shift;
  d.cutout_x = static_cast<int64_t>(random.next() % side);
  d.cutout_y = static_cast<int64_t>(random.next() % side);
  return d;
}

torch::Tensor per_sample(const std::vector<SampleDraw>& draws, float SampleDraw::*field, const torch::Tensor& like) {
  std::vector<float> values;
  for (const auto& d : draws) values.push_back(d.*field);
  return torch::tensor(values).to(like.device()).view({-1, 1, 1, 1});
}

// Shifts each sample by whole pixels, filling with zeros (mid-grey in [-1,1]).
torch::Tensor translate(const torch::Tensor& x, const std::vector<SampleDraw>& draws) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), pad = h / 8;
  const auto padded = torch::constant_pad_nd(x, {pad, pad, pad, pad});
  std::vector<int64_t> rows, columns;
  for (const auto& d : draws) {
    for (int64_t i = 0; i < h; ++i) rows.push_back(i + pad - d.shift_y);
    for (int64_t j = 0; j < w; ++j) columns.push_back(j + pad - d.shift_x);
  }
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  const auto row_index = torch::tensor(rows, options).view({n, 1, h, 1}).expand({n, c, h, w + 2 * pad});
  const auto column_index = torch::tensor(columns, options).view({n, 1, 1, w}).expand({n, c, h, w});
  return padded.gather(2, row_index).gather(3, column_index);
}

torch::Tensor cutout(const torch::Tensor& x, const std::vector<SampleDraw>& draws) {
  const int64_t h = x.size(2), w = x.size(3), half = h / 4;  // a square of half the side
  auto mask = torch::ones({x.size(0), 1, h, w}, x.options());
  for (size_t i = 0; i < draws.size(); ++i) {
    const int64_t y0 = std::max<int64_t>(0, draws[i].cutout_y - half), y1 = std::min(h, draws[i].cutout_y + half);
    const int64_t x0 = std::max<int64_t>(0, draws[i].cutout_x - half), x1 = std::min(w, draws[i].cutout_x + half);
    mask[static_cast<int64_t>(i)].narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).zero_();
  }
  return x * mask;
}

}  // namespace

AugmentPolicy parse_augment_policy(const std::string& text) {
  AugmentPolicy policy;
  if (text == "none" || text.empty()) return policy;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) {
    if (part == "color" || part == "colour") policy.color = true;
    else if (part == "translation") policy.translation = true;
    else if (part == "cutout") policy.cutout = true;
    else throw Error("--augment: unknown \"" + part + "\" (color, translation, cutout, or none)");
  }
  return policy;
}

std::string augment_policy_name(const AugmentPolicy& policy) {
  std::string name;
  if (policy.color) name += ",color";
  if (policy.translation) name += ",translation";
  if (policy.cutout) name += ",cutout";
  return name.empty() ? "none" : name.substr(1);
}

torch::Tensor diff_augment(const torch::Tensor& images, const AugmentPolicy& policy, const std::vector<uint64_t>& seeds) {
  if (static_cast<int64_t>(seeds.size()) != images.size(0)) throw Error("diff_augment: one seed per image");
  std::vector<SampleDraw> draws;
  for (uint64_t seed : seeds) draws.push_back(draw(seed, images.size(2)));
  auto x = images;
  if (policy.color) {
    x = x + per_sample(draws, &SampleDraw::brightness, x);
    if (x.size(1) > 1) {
      const auto mean = x.mean(1, true);
      x = (x - mean) * per_sample(draws, &SampleDraw::saturation, x) + mean;
    }
    const auto mean = x.mean({1, 2, 3}, true);
    x = (x - mean) * per_sample(draws, &SampleDraw::contrast, x) + mean;
  }
  if (policy.translation) x = translate(x, draws);
  if (policy.cutout) x = cutout(x, draws);
  return x;
}

}  // namespace atelier
