// How close generated pictures are to real ones, measured on the pooled
// features of an ImageNet classifier (here ResNet-50, not the Inception
// network of the papers: values compare only within one network and one
// input size).
//  KID (Binkowski et al. 2018): the squared MMD with the cubic polynomial
//      kernel k(x,y) = (x.y/d + 1)^3, estimated without bias (Gretton et
//      al.'s U-statistic) on disjoint blocks; the mean over blocks with its
//      standard error. Identical sets give exactly 0.
//  FID (Heusel et al. 2017): the Frechet distance between Gaussians fitted
//      to the two feature sets.
#pragma once
#include <torch/torch.h>

#include "models/resnet.hpp"

namespace atelier {

struct KidEstimate {
  double kid = 0, standard_error = 0;
  int64_t blocks = 0, block_size = 0;
};

// Features [N,D] and [M,D]; blocks of min(N,M)/blocks samples (at least 2).
KidEstimate kernel_inception_distance(const torch::Tensor& a, const torch::Tensor& b, int64_t blocks = 10);
double frechet_distance(const torch::Tensor& a, const torch::Tensor& b);

// ResNet-50 "pool" features [N,2048] of images [N,C,S,S] in 0..1 (grey
// ones repeated to RGB), resized to input_size x input_size.
torch::Tensor pooled_features(const ResNet50& network, const torch::Tensor& images, int64_t input_size,
                              int64_t batch_size = 50);

}  // namespace atelier
