#include <cmath>

#include "atelier/error.hpp"
#include "gan/gan_metrics.hpp"

namespace atelier {
namespace {

torch::Tensor polynomial_kernel(const torch::Tensor& x, const torch::Tensor& y) {
  return (torch::mm(x, y.t()) / static_cast<double>(x.size(1)) + 1).pow(3);
}

// Gretton et al.'s unbiased MMD^2 for two samples of equal size m:
// the mean over i != j of k(x_i,x_j) + k(y_i,y_j) - k(x_i,y_j) - k(x_j,y_i).
double unbiased_mmd2(const torch::Tensor& x, const torch::Tensor& y) {
  const double m = static_cast<double>(x.size(0));
  const auto kxx = polynomial_kernel(x, x), kyy = polynomial_kernel(y, y), kxy = polynomial_kernel(x, y);
  const auto off_diagonal = [](const torch::Tensor& k) { return k.sum() - k.diagonal().sum(); };
  const auto total = off_diagonal(kxx) + off_diagonal(kyy) - 2 * off_diagonal(kxy);
  return total.item<double>() / (m * (m - 1));
}

// The square root of a symmetric positive semi-definite matrix.
torch::Tensor symmetric_sqrt(const torch::Tensor& matrix) {
  const auto [values, vectors] = torch::linalg::eigh(matrix, "L");
  return torch::mm(vectors * values.clamp_min(0).sqrt().unsqueeze(0), vectors.t());
}

}  // namespace

KidEstimate kernel_inception_distance(const torch::Tensor& a, const torch::Tensor& b, int64_t blocks) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1)) throw Error("KID: feature sets must be [N,D] alike");
  const int64_t n = std::min(a.size(0), b.size(0));
  blocks = std::max<int64_t>(1, std::min(blocks, n / 2));
  const int64_t size = n / blocks;
  if (size < 2) throw Error("KID needs at least 2 images in each set");
  const auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  std::vector<double> values;
  for (int64_t k = 0; k < blocks; ++k) values.push_back(unbiased_mmd2(x.narrow(0, k * size, size), y.narrow(0, k * size, size)));
  KidEstimate estimate;
  estimate.blocks = blocks;
  estimate.block_size = size;
  for (double value : values) estimate.kid += value / static_cast<double>(blocks);
  if (blocks > 1) {
    double squares = 0;
    for (double value : values) squares += (value - estimate.kid) * (value - estimate.kid);
    estimate.standard_error = std::sqrt(squares / static_cast<double>(blocks - 1) / static_cast<double>(blocks));
  }
  return estimate;
}

double frechet_distance(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1)) throw Error("FID: feature sets must be [N,D] alike");
  if (a.size(0) < 2 || b.size(0) < 2) throw Error("FID needs at least 2 images in each set");
  const auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  const auto mean_x = x.mean(0), mean_y = y.mean(0);
  const auto cov_x = torch::cov(x.t()), cov_y = torch::cov(y.t());
  // Tr sqrt(Cx Cy) = Tr sqrt(sqrt(Cx) Cy sqrt(Cx)), a symmetric PSD matrix.
  const auto root_x = symmetric_sqrt(cov_x);
  const auto middle = torch::mm(torch::mm(root_x, cov_y), root_x);
  const auto eigenvalues = torch::linalg::eigvalsh(0.5 * (middle + middle.t()), "L");
  const double trace_sqrt = eigenvalues.clamp_min(0).sqrt().sum().item<double>();
  return (mean_x - mean_y).square().sum().item<double>() + cov_x.trace().item<double>() +
         cov_y.trace().item<double>() - 2 * trace_sqrt;
}

torch::Tensor pooled_features(const ResNet50& network, const torch::Tensor& images, int64_t input_size,
                              int64_t batch_size) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> features;
  for (int64_t first = 0; first < images.size(0); first += batch_size) {
    auto x = images.narrow(0, first, std::min(batch_size, images.size(0) - first)).to(network.device());
    if (x.size(1) == 1) x = x.repeat({1, 3, 1, 1});
    if (x.size(2) != input_size || x.size(3) != input_size)
      x = torch::upsample_bilinear2d(x, {input_size, input_size}, /*align_corners=*/false).clamp(0, 1);
    features.push_back(network.forward(x.contiguous(), {"pool"}).at("pool").cpu());
  }
  return torch::cat(features);
}

}  // namespace atelier
