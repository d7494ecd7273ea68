// The picture as L-BFGS sees it: a pyramid of levels, each half the size of
// the one before, added up (upsampled, each level at half the weight of the
// one before). L-BFGS without a line search starts every direction from the
// gradient, which on pixels moves fine detail far more readily than broad
// areas of colour; on the pyramid a broad change is a few coarse values, so
// the same loss comes in about half the iterations (docs/GATYS.md).
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "atelier/gatys_options.hpp"

namespace atelier {

// A step of L-BFGS on a pyramid moves the picture by at most this much on
// average (its values are in [0,1]); see ScaleRunner::limit_step.
constexpr double kGatysPyramidStepLimit = 0.05;

// The levels used for a picture of height x width: options.pyramid when set
// (at most as many as halve the shorter side to 8 px), else the default:
// with L-BFGS down to a coarsest level of at least kGatysPyramidCoarsest px
// on its shorter side, with Adam one (plain pixels).
int gatys_pyramid_levels(const GatysOptions& options, std::int64_t height, std::int64_t width);

// What the optimiser moves: every level's values in one flat tensor, level 0
// holding `start` ([1,3,H,W]) and the coarser levels zero.
torch::Tensor pyramid_parameter(const torch::Tensor& start, int levels);

// The picture ([1,3,height,width], differentiable) a parameter stands for.
torch::Tensor pyramid_picture(const torch::Tensor& parameter, std::int64_t height, std::int64_t width, int levels);

}  // namespace atelier
