#include "models/magenta.hpp"

#include <algorithm>

#include "atelier/error.hpp"
#include "models/fast_style.hpp"
#include "torch/tensor_image.hpp"
#include "torch/winograd_conv.hpp"

namespace atelier {
// A named namespace, not an anonymous one: the library compiles in unity
// batches, where anonymous helpers of different files would collide.
namespace magenta_detail {

using Shapes = std::map<std::string, std::vector<int64_t>>;

// Eps of every conditional instance norm: 1e-5 as the fp16 graph stores it.
constexpr double kNormEps = 1.0013580322265625e-05;

// `weights` checked against `expected` (every key present with its shape, no
// other key) and moved to `device` as float32.
std::map<std::string, torch::Tensor> checked(const Shapes& expected, const std::map<std::string, torch::Tensor>& weights,
                                             const std::string& what, const torch::Device& device) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [key, shape] : expected) {
    const auto found = weights.find(key);
    if (found == weights.end()) throw Error("weights for " + what + " lack \"" + key + "\"");
    if (found->second.sizes().vec() != shape)
      throw Error("\"" + key + "\" has shape " + shape_text(found->second.sizes().vec()) + ", expected " +
                  shape_text(shape) + " for " + what);
    out[key] = found->second.to(device, torch::kFloat32).contiguous();
  }
  for (const auto& [key, tensor] : weights)
    if (!expected.count(key)) throw Error("unexpected key \"" + key + "\" for " + what);
  return out;
}

struct Block {
  int64_t in, hidden, out, stride;
  bool residual;
};

// MobileNetV2 (width 1.0) as the README's table gives it.
const std::vector<Block>& predictor_blocks() {
  static const std::vector<Block> blocks = {
      {32, 32, 16, 1, false},    {16, 96, 24, 2, false},    {24, 144, 24, 1, true},    {24, 144, 32, 2, false},
      {32, 192, 32, 1, true},    {32, 192, 32, 1, true},    {32, 192, 64, 2, false},   {64, 384, 64, 1, true},
      {64, 384, 64, 1, true},    {64, 384, 64, 1, true},    {64, 384, 96, 1, false},   {96, 576, 96, 1, true},
      {96, 576, 96, 1, true},    {96, 576, 160, 2, false},  {160, 960, 160, 1, true},  {160, 960, 160, 1, true},
      {160, 960, 320, 1, false}};
  return blocks;
}

void add_conv(Shapes& shapes, const std::string& name, int64_t in, int64_t out, int64_t kernel, bool bias) {
  shapes[name + ".weight"] = {out, in, kernel, kernel};
  if (bias) shapes[name + ".bias"] = {out};
}

struct TransferConv {
  std::string name;
  int64_t in, out, kernel;
  bool norm;  // conditional instance norm (and then no bias)
};

const std::vector<TransferConv>& transfer_convs() {
  static const std::vector<TransferConv> convs = [] {
    std::vector<TransferConv> list = {{"transfer.contract.conv1", 3, 8, 9, false},
                                      {"transfer.contract.conv2", 8, 16, 3, false},
                                      {"transfer.contract.conv3", 16, 32, 3, false}};
    for (int r = 1; r <= 5; ++r)
      for (int c = 1; c <= 2; ++c)
        list.push_back({"transfer.residual" + std::to_string(r) + ".conv" + std::to_string(c), 32, 32, 3, true});
    list.push_back({"transfer.expand.conv1", 32, 16, 3, true});
    list.push_back({"transfer.expand.conv2", 16, 8, 3, true});
    list.push_back({"transfer.expand.conv3", 8, 3, 9, true});
    return list;
  }();
  return convs;
}

torch::Tensor relu6(torch::Tensor x) { return x.clamp_(0.0, 6.0); }

}  // namespace magenta_detail

namespace md = magenta_detail;

torch::Tensor pad_tf_same(const torch::Tensor& x, int64_t kernel, int64_t stride) {
  auto total = [&](int64_t n) {
    const int64_t out = (n + stride - 1) / stride;
    return std::max<int64_t>((out - 1) * stride + kernel - n, 0);
  };
  const int64_t rows = total(x.size(2)), cols = total(x.size(3));
  if (rows == 0 && cols == 0) return x;
  return torch::constant_pad_nd(x, {cols / 2, cols - cols / 2, rows / 2, rows - rows / 2}, 0.0);
}

// ------------------------------------------------------------ predictor

std::map<std::string, std::vector<int64_t>> MagentaPredictor::expected_shapes() {
  md::Shapes shapes;
  md::add_conv(shapes, "predictor.conv0", 3, 32, 3, true);
  const auto& blocks = md::predictor_blocks();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& b = blocks[i];
    const std::string name = "predictor.block" + std::to_string(i);
    if (i > 0) md::add_conv(shapes, name + ".expand", b.in, b.hidden, 1, true);
    shapes[name + ".depthwise.weight"] = {b.hidden, 1, 3, 3};
    shapes[name + ".depthwise.bias"] = {b.hidden};
    md::add_conv(shapes, name + ".project", b.hidden, b.out, 1, true);
  }
  md::add_conv(shapes, "predictor.conv_last", 320, 1280, 1, true);
  md::add_conv(shapes, "predictor.bottleneck", 1280, kMagentaStyleSize, 1, true);
  return shapes;
}

MagentaPredictor::MagentaPredictor(const std::map<std::string, torch::Tensor>& weights, const torch::Device& device)
    : device_(device), weights_(md::checked(expected_shapes(), weights, "the Magenta style predictor", device)) {}

torch::Tensor MagentaPredictor::forward(const torch::Tensor& rgb) const {
  if (rgb.dim() != 4 || rgb.size(1) != 3) throw Error("the style predictor takes [N,3,H,W] RGB images");
  if (rgb.size(2) < 2 || rgb.size(3) < 2) throw Error("a style picture needs at least 2x2 pixels");
  auto w = [&](const std::string& key) -> const torch::Tensor& { return weights_.at(key); };
  auto conv = [&](const torch::Tensor& x, const std::string& name, int64_t kernel, int64_t stride, int64_t groups) {
    const std::vector<int64_t> strides = {stride, stride}, none = {0, 0}, dilation = {1, 1};
    return torch::conv2d(pad_tf_same(x, kernel, stride), w(name + ".weight"), w(name + ".bias"), strides, none,
                         dilation, groups);
  };
  auto x = md::relu6(conv(rgb.to(device_, torch::kFloat32), "predictor.conv0", 3, 2, 1));
  const auto& blocks = md::predictor_blocks();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& b = blocks[i];
    const std::string name = "predictor.block" + std::to_string(i);
    auto h = i > 0 ? md::relu6(conv(x, name + ".expand", 1, 1, 1)) : x;
    h = md::relu6(conv(h, name + ".depthwise", 3, b.stride, b.hidden));
    h = conv(h, name + ".project", 1, 1, 1);
    x = b.residual ? h.add_(x) : h;
  }
  x = md::relu6(conv(x, "predictor.conv_last", 1, 1, 1)).mean({2, 3}, /*keepdim=*/true);
  return conv(x, "predictor.bottleneck", 1, 1, 1).flatten(1);
}

// ------------------------------------------------------------- transfer

std::map<std::string, std::vector<int64_t>> MagentaTransfer::expected_shapes() {
  md::Shapes shapes;
  for (const auto& conv : md::transfer_convs()) {
    md::add_conv(shapes, conv.name, conv.in, conv.out, conv.kernel, !conv.norm);
    if (!conv.norm) continue;
    for (const char* part : {".norm.gamma", ".norm.beta"}) {
      shapes[conv.name + part + ".weight"] = {conv.out, kMagentaStyleSize};
      shapes[conv.name + part + ".bias"] = {conv.out};
    }
  }
  return shapes;
}

MagentaTransfer::MagentaTransfer(const std::map<std::string, torch::Tensor>& weights, const torch::Device& device)
    : device_(device),
      weights_(md::checked(expected_shapes(), weights, "the Magenta style transfer network", device)),
      contract1_(weights_.at("transfer.contract.conv1.weight"), weights_.at("transfer.contract.conv1.bias"), 2),
      contract1_by4_(weights_.at("transfer.contract.conv1.weight"), weights_.at("transfer.contract.conv1.bias"), 4),
      contract2_(weights_.at("transfer.contract.conv2.weight"), weights_.at("transfer.contract.conv2.bias")),
      expand1_(weights_.at("transfer.expand.conv1.weight")),
      expand2_(weights_.at("transfer.expand.conv2.weight")),
      expand3_(weights_.at("transfer.expand.conv3.weight"), torch::Tensor(), 4) {
  if (!device.is_cpu() || !winograd::available()) return;
  for (int r = 1; r <= 5; ++r)
    for (int c = 1; c <= 2; ++c)
      residual_winograd_.emplace_back(
          weights_.at("transfer.residual" + std::to_string(r) + ".conv" + std::to_string(c) + ".weight"), torch::Tensor(),
          /*padding=*/0);
}

torch::Tensor MagentaTransfer::checked_style(const torch::Tensor& style, int64_t batch) const {
  if (style.dim() != 2 || style.size(1) != kMagentaStyleSize || (style.size(0) != 1 && style.size(0) != batch))
    throw Error("a Magenta style vector holds " + std::to_string(kMagentaStyleSize) + " numbers");
  return style.to(device_, torch::kFloat32);
}

torch::Tensor MagentaTransfer::conv(const torch::Tensor& x, const std::string& name, int64_t kernel, int64_t stride,
                                    bool bias) const {
  return torch::conv2d(reflection_pad(x, kernel / 2, x.scalar_type()), weights_.at(name + ".weight"),
                       bias ? weights_.at(name + ".bias") : torch::Tensor(), stride);
}

// Conditional instance norm, as the graph computes it (biased two-pass
// variance; scale and shift projected from the style vector), with the
// plan's statistics where it gives them. In float32 also under bf16
// autocast: the statistics need it.
bool MagentaTransfer::normalize(torch::Tensor& x, const std::string& name, const torch::Tensor& style,
                                const NormPlan& plan, size_t& index, bool relu, const torch::Tensor& residual) const {
  const auto input = x.to(torch::kFloat32);
  torch::Tensor mean, variance;  // [N or 1, C]
  if (index < plan.fixed.size()) {
    mean = plan.fixed[index].mean.to(device_, torch::kFloat32).view({1, -1});
    variance = plan.fixed[index].variance.to(device_, torch::kFloat32).view({1, -1});
  } else if (plan.stop_at_next) {
    return false;
  } else {  // two passes: libtorch 1.13's var_mean is ten times slower here
    const auto means = input.mean({2, 3}, /*keepdim=*/true);
    variance = (input - means).square().mean({2, 3}).flatten(1);
    mean = means.flatten(1);
  }
  auto w = [&](const std::string& key) -> const torch::Tensor& { return weights_.at(name + key); };
  const auto gamma = torch::addmm(w(".norm.gamma.bias"), style, w(".norm.gamma.weight").t()).to(torch::kFloat32);
  const auto beta = torch::addmm(w(".norm.beta.bias"), style, w(".norm.beta.weight").t()).to(torch::kFloat32);
  const auto scale = torch::rsqrt(variance + md::kNormEps) * gamma, shift = beta - mean * scale;
  // Per channel, over NCHW or oneDNN's blocked layout [N,C/16,H,W,16].
  auto spread = [&](const torch::Tensor& values) {
    return input.dim() == 5 ? values.view({values.size(0), -1, 1, 1, input.size(4)})
                            : values.view({values.size(0), -1, 1, 1});
  };
  x = input * spread(scale) + spread(shift);
  if (relu) x.relu_();
  if (residual.defined()) x.add_(residual);
  ++index;
  return true;
}

const std::vector<int64_t>& MagentaTransfer::decoder_norm_scales() {
  static const std::vector<int64_t> scales = {2, 4, 4};
  return scales;
}

torch::Tensor MagentaTransfer::encode(const torch::Tensor& rgb) const {
  if (rgb.dim() != 4 || rgb.size(1) != 3) throw Error("the style transfer network takes [N,3,H,W] RGB images");
  const int64_t h = rgb.size(2), w = rgb.size(3);
  if (h % kMagentaMultiple || w % kMagentaMultiple || h < 8 || w < 8)
    throw Error("the style transfer network takes sides that are multiples of 4 and at least 8, not " +
                std::to_string(w) + "x" + std::to_string(h));
  // The 9x9 conv, then the 3x3 with stride 2, without the full-size map between them.
  const auto picture = rgb.to(device_, torch::kFloat32);
  auto x = (contract1_by4_.by_winograd(picture) ? contract1_by4_ : contract1_).in_depth(picture, 2);
  x = contract2_(x, /*relu_first=*/true).relu_();
  return conv(x, "transfer.contract.conv3", 3, 2, true).relu_();
}

torch::Tensor MagentaTransfer::trunk(const torch::Tensor& encoded, const torch::Tensor& style) const {
  const auto s = checked_style(style, encoded.size(0));
  const NormPlan own;  // the trunk runs on the whole map: its own statistics
  size_t index = 0;
  // In fp32 on a CPU with oneDNN's Winograd, the 32-channel map stays in its
  // blocked layout from the first conv to the last (norms and padding work on it).
  const bool blocked = !residual_winograd_.empty() && winograd::takes(encoded);
  auto x = blocked ? winograd::to_blocked(encoded) : encoded;
  auto conv_of = [&](const torch::Tensor& y, const std::string& name, size_t which) {
    return blocked ? residual_winograd_[which](reflection_pad(y, 1, torch::kFloat32)) : conv(y, name, 3, 1, false);
  };
  for (int r = 1; r <= 5; ++r) {
    const std::string block = "transfer.residual" + std::to_string(r);
    auto y = conv_of(x, block + ".conv1", 2 * (r - 1));
    normalize(y, block + ".conv1", s, own, index, /*relu=*/true);
    y = conv_of(y, block + ".conv2", 2 * (r - 1) + 1);
    normalize(y, block + ".conv2", s, own, index, /*relu=*/false, /*residual=*/x);
    x = y;
  }
  return blocked ? winograd::from_blocked(x, encoded.size(1)) : x;
}

torch::Tensor MagentaTransfer::decode(const torch::Tensor& trunk_output, const torch::Tensor& style,
                                      const NormPlan& plan) const {
  const auto s = checked_style(style, trunk_output.size(0));
  size_t index = 0;
  auto x = expand1_(trunk_output);  // nearest x2, then the 3x3 conv
  if (!normalize(x, "transfer.expand.conv1", s, plan, index, /*relu=*/true)) return x;
  x = expand2_(x);
  if (!normalize(x, "transfer.expand.conv2", s, plan, index, /*relu=*/true)) return x;
  x = expand3_(x);  // the 9x9 conv
  if (!normalize(x, "transfer.expand.conv3", s, plan, index)) return x;
  return torch::sigmoid(x);
}

torch::Tensor MagentaTransfer::forward(const torch::Tensor& rgb, const torch::Tensor& style) const {
  return decode(trunk(encode(rgb), style), style, {});
}

torch::Tensor MagentaStages::input(const cv::Mat& rgb) const { return image_to_tensor(rgb, transfer_.device()); }

torch::Tensor MagentaStages::encode(const torch::Tensor& input, const NormPlan&, std::array<int64_t, 2>) const {
  return transfer_.encode(input);  // no norms in the contracting part; reflect padding needs no whole size
}

// --------------------------------------------------------------- loading

namespace magenta_detail {

template <typename Network>
Network load_network(const std::string& path, const torch::Device& device) {
  const auto state = load_state_dict(path);
  try {
    return Network(state, device);
  } catch (const Error& error) {
    throw Error(path + ": " + error.what());
  }
}

}  // namespace magenta_detail

MagentaPredictor load_magenta_predictor(const std::string& path, const torch::Device& device) {
  return md::load_network<MagentaPredictor>(path, device);
}

MagentaTransfer load_magenta_transfer(const std::string& path, const torch::Device& device) {
  return md::load_network<MagentaTransfer>(path, device);
}

}  // namespace atelier
