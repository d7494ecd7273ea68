#include "losses/losses.hpp"

namespace atelier {
namespace {

// Guards the division for an all-zero target (e.g. a dead relu layer).
constexpr double kTinyMeanSquare = 1e-12;

torch::Tensor relative_squared_error(const torch::Tensor& value, const torch::Tensor& target) {
  auto scale = target.pow(2).mean().detach().clamp_min(kTinyMeanSquare);
  return (value - target).pow(2).mean() / scale;
}

}  // namespace

namespace {

// G = F^T F * scale for F [N, HW, C], with a backward of one product,
// dF = F (dG + dG^T) * scale, where autograd's bmm backward takes two.
struct GramFunction : torch::autograd::Function<GramFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& flat, double scale) {
    context->save_for_backward({flat});
    context->saved_data["scale"] = scale;
    return torch::bmm(flat.transpose(1, 2), flat) * scale;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list gradients) {
    const auto flat = context->get_saved_variables()[0];
    const double scale = context->saved_data["scale"].toDouble();
    const auto symmetric = (gradients[0] + gradients[0].transpose(1, 2)).to(flat.scalar_type()) * scale;
    return {torch::bmm(flat, symmetric), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor gram_matrix(const torch::Tensor& features) {
  const auto n = features.size(0), c = features.size(1);
  const auto hw = features.size(2) * features.size(3);
  const double scale = 1.0 / static_cast<double>(c * hw);
  if (!features.is_contiguous() && features.is_contiguous(torch::MemoryFormat::ChannelsLast)) {
    // Channels-last (the CPU's VGG): [N,HW,C] is a view; no NCHW copy.
    return GramFunction::apply(features.permute({0, 2, 3, 1}).reshape({n, hw, c}), scale);
  }
  return GramFunction::apply(features.reshape({n, c, hw}).transpose(1, 2), scale);
}

torch::Tensor content_loss(const torch::Tensor& features, const torch::Tensor& target) {
  return relative_squared_error(features, target);
}

torch::Tensor style_loss(const torch::Tensor& gram, const torch::Tensor& target_gram) {
  return relative_squared_error(gram, target_gram);
}

torch::Tensor total_variation_loss(const torch::Tensor& image) {
  using torch::indexing::Slice;
  auto dy = image.index({Slice(), Slice(), Slice(1, torch::indexing::None), Slice()}) -
            image.index({Slice(), Slice(), Slice(torch::indexing::None, -1), Slice()});
  auto dx = image.index({Slice(), Slice(), Slice(), Slice(1, torch::indexing::None)}) -
            image.index({Slice(), Slice(), Slice(), Slice(torch::indexing::None, -1)});
  return dy.pow(2).mean() + dx.pow(2).mean();
}

}  // namespace atelier
