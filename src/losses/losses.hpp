// The losses of neural style transfer by optimisation (Gatys et al. 2016).
//
// Definitions (F: features [N,C,H,W], x: image [N,3,H,W] RGB in [0,1]):
//   gram(F)            = F F^T / (C*H*W)                        per batch item, [N,C,C]
//   content(F, T)      = mean((F - T)^2) / mean(T^2)             relative squared error
//   style(G, T)        = mean((G - T)^2) / mean(T^2)             G, T Gram matrices
//   total_variation(x) = mean((x[..,i+1,j]-x[..,i,j])^2) + mean((x[..,i,j+1]-x[..,i,j])^2)
//
// Dividing by the target's mean square makes each term independent of the
// network's input convention (caffe features are ~60x larger than
// torchvision's) and of the layer's magnitude, so one set of default weights
// works for every VGG file and every layer counts alike.
#pragma once
#include <torch/torch.h>

namespace atelier {

torch::Tensor gram_matrix(const torch::Tensor& features);
torch::Tensor content_loss(const torch::Tensor& features, const torch::Tensor& target);
torch::Tensor style_loss(const torch::Tensor& gram, const torch::Tensor& target_gram);
torch::Tensor total_variation_loss(const torch::Tensor& image);

}  // namespace atelier
