#include <algorithm>
#include <cmath>
#include <cstdio>

#include "atelier/error.hpp"
#include "atelier/gan_tools.hpp"
#include "gan/gan.hpp"
#include "util/splitmix.hpp"

namespace atelier {

torch::Tensor latent_for(uint64_t seed, int64_t index, int64_t dim, double truncation) {
  if (!(truncation == 0 || (truncation >= kMinTruncation && std::isfinite(truncation))))
  {
    char text[32];
    std::snprintf(text, sizeof text, "%g", truncation);
    throw Error(std::string("truncation ") + text + " must be 0 (off) or a finite number of at least 0.1");
  }
  SplitMix random(mix_seed(seed, static_cast<uint64_t>(index), 0x1A7E));
  auto latent = torch::empty({dim});
  auto* values = latent.data_ptr<float>();
  for (int64_t i = 0; i < dim; ++i) {
    double value = random.normal();
    while (truncation > 0 && std::abs(value) > truncation) value = random.normal();
    values[i] = static_cast<float>(value);
  }
  return latent;
}

torch::Tensor latents_for(uint64_t seed, int64_t first, int64_t count, int64_t dim, double truncation) {
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < count; ++i) rows.push_back(latent_for(seed, first + i, dim, truncation));
  return torch::stack(rows);
}

torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  const double cosine = std::clamp(torch::dot(a / a.norm(), b / b.norm()).item<double>(), -1.0, 1.0);
  const double omega = std::acos(cosine);
  if (std::sin(omega) < 1e-6) return a * (1 - t) + b * t;  // (anti)parallel: straight line
  return a * (std::sin((1 - t) * omega) / std::sin(omega)) + b * (std::sin(t * omega) / std::sin(omega));
}

}  // namespace atelier
