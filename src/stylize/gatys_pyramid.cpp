#include "stylize/gatys_pyramid.hpp"

#include <algorithm>

namespace atelier {
namespace {

// Each level adds half the weight of the one finer: its values move the
// picture as a quarter as many pixels would, so a step that suits the fine
// level does not overshoot on the coarse ones (a full weight did).
constexpr double kLevelWeight = 0.5;

std::int64_t level_side(std::int64_t side, int level) { return (side + (std::int64_t{1} << level) - 1) >> level; }

}  // namespace

int gatys_pyramid_levels(const GatysOptions& options, std::int64_t height, std::int64_t width) {
  const std::int64_t shorter = std::min(height, width);
  int most = 1;  // halvings that leave the shorter side at least 8 px
  while (most < kGatysMaxPyramidLevels && level_side(shorter, most) >= 8) ++most;
  if (options.pyramid > 0) return std::min(options.pyramid, most);
  if (options.optimizer != GatysOptions::Optimizer::LBFGS) return 1;
  int levels = 1;
  while (levels < most && level_side(shorter, levels) >= kGatysPyramidCoarsest) ++levels;
  return levels;
}

torch::Tensor pyramid_parameter(const torch::Tensor& start, int levels) {
  const std::int64_t height = start.size(2), width = start.size(3);
  std::int64_t count = start.numel();
  for (int level = 1; level < levels; ++level) count += 3 * level_side(height, level) * level_side(width, level);
  auto parameter = torch::zeros({count}, start.options());
  parameter.narrow(0, 0, start.numel()).copy_(start.reshape({-1}));
  return parameter;
}

torch::Tensor pyramid_picture(const torch::Tensor& parameter, std::int64_t height, std::int64_t width, int levels) {
  std::int64_t offset = 3 * height * width;
  auto picture = parameter.narrow(0, 0, offset).view({1, 3, height, width});
  double weight = 1.0;
  for (int level = 1; level < levels; ++level) {
    const std::int64_t h = level_side(height, level), w = level_side(width, level);
    const auto values = parameter.narrow(0, offset, 3 * h * w).view({1, 3, h, w});
    offset += 3 * h * w;
    weight *= kLevelWeight;
    const auto upsampled = torch::nn::functional::interpolate(
        values, torch::nn::functional::InterpolateFuncOptions()
                    .size(std::vector<int64_t>{height, width})
                    .mode(torch::kBilinear)
                    .align_corners(false));
    picture = picture + upsampled * weight;
  }
  return picture;
}

}  // namespace atelier
