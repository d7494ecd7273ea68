#include "atelier/fast_style.hpp"

#include <regex>
#include <sstream>

#include "atelier/error.hpp"

namespace atelier {
namespace {

namespace F = torch::nn::functional;
constexpr int64_t kMinimumSide = 8;
using Shapes = std::map<std::string, std::vector<int64_t>>;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream text;
  text << "[";
  for (size_t i = 0; i < shape.size(); ++i) text << (i ? "," : "") << shape[i];
  text << "]";
  return text.str();
}

// Old pytorch/examples checkpoints hold InstanceNorm running statistics that
// the network never uses; the reference code deletes exactly these.
bool is_stale_running_statistic(FastStyleArchitecture architecture, const std::string& key) {
  static const std::regex pattern(R"(^(res[1-5]\.)?in[1-5]\.running_(mean|var)$)");
  return architecture == FastStyleArchitecture::PytorchExamples && std::regex_match(key, pattern);
}

// (key prefix, in, out, kernel) of each convolution, in network order.
struct ConvSpec {
  std::string name;
  int64_t in, out, kernel;
};

const std::vector<ConvSpec>& pytorch_examples_convs() {
  static const std::vector<ConvSpec> convs = [] {
    std::vector<ConvSpec> list = {{"conv1", 3, 32, 9}, {"conv2", 32, 64, 3}, {"conv3", 64, 128, 3}};
    for (int i = 1; i <= 5; ++i)
      for (int j = 1; j <= 2; ++j) list.push_back({"res" + std::to_string(i) + ".conv" + std::to_string(j), 128, 128, 3});
    list.push_back({"deconv1", 128, 64, 3});
    list.push_back({"deconv2", 64, 32, 3});
    list.push_back({"deconv3", 32, 3, 9});
    return list;
  }();
  return convs;
}

Shapes pytorch_examples_shapes() {
  Shapes shapes;
  for (const auto& conv : pytorch_examples_convs()) {
    shapes[conv.name + ".conv2d.weight"] = {conv.out, conv.in, conv.kernel, conv.kernel};
    shapes[conv.name + ".conv2d.bias"] = {conv.out};
  }
  const std::vector<std::pair<std::string, int64_t>> norms = {{"in1", 32}, {"in2", 64}, {"in3", 128}, {"in4", 64},
                                                              {"in5", 32}};
  for (const auto& [name, channels] : norms) {
    shapes[name + ".weight"] = {channels};
    shapes[name + ".bias"] = {channels};
  }
  for (int i = 1; i <= 5; ++i)
    for (const char* norm : {"in1", "in2"}) {
      shapes["res" + std::to_string(i) + "." + norm + ".weight"] = {128};
      shapes["res" + std::to_string(i) + "." + norm + ".bias"] = {128};
    }
  return shapes;
}

Shapes engstrom_shapes() {
  std::vector<ConvSpec> convs = {{"conv1", 3, 32, 9}, {"conv2", 32, 64, 3}, {"conv3", 64, 128, 3}};
  for (int i = 1; i <= 5; ++i)
    for (int j = 1; j <= 2; ++j) convs.push_back({"res" + std::to_string(i) + ".conv" + std::to_string(j), 128, 128, 3});
  convs.push_back({"conv_out", 32, 3, 9});
  Shapes shapes;
  for (const auto& conv : convs) {
    shapes[conv.name + ".weight"] = {conv.out, conv.in, conv.kernel, conv.kernel};
    shapes[conv.name + ".norm.scale"] = {conv.out};
    shapes[conv.name + ".norm.shift"] = {conv.out};
  }
  // Transposed convolutions keep PyTorch's [in, out, kh, kw] layout.
  for (const auto& [name, in, out] : std::vector<std::tuple<std::string, int64_t, int64_t>>{{"deconv1", 128, 64},
                                                                                          {"deconv2", 64, 32}}) {
    shapes[name + ".weight"] = {in, out, 3, 3};
    shapes[name + ".norm.scale"] = {out};
    shapes[name + ".norm.shift"] = {out};
  }
  return shapes;
}

// Per-channel normalisation over H and W with the biased variance, then an
// affine map: InstanceNorm2d(affine) in PyTorch, tf.nn.moments in Engstrom's.
// (libtorch's fused kernel: one pass for the statistics, one to normalise.)
torch::Tensor instance_norm(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift,
                            double eps) {
  return torch::instance_norm(x, scale, shift, /*running_mean=*/{}, /*running_var=*/{},
                              /*use_input_stats=*/true, /*momentum=*/0.0, eps, /*cudnn_enabled=*/false);
}

// TensorFlow "SAME" padding: total max((ceil(n/s)-1)*s + k - n, 0), the
// smaller half first.
torch::Tensor pad_same(const torch::Tensor& x, int64_t kernel, int64_t stride) {
  auto amount = [&](int64_t n) {
    const int64_t out = (n + stride - 1) / stride;
    return std::max<int64_t>((out - 1) * stride + kernel - n, 0);
  };
  const int64_t pad_h = amount(x.size(2)), pad_w = amount(x.size(3));
  return F::pad(x, F::PadFuncOptions({pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}));
}

}  // namespace

const char* architecture_name(FastStyleArchitecture architecture) {
  return architecture == FastStyleArchitecture::PytorchExamples ? "pytorch-examples" : "engstrom";
}

std::map<std::string, std::vector<int64_t>> FastStyleNetwork::expected_shapes(FastStyleArchitecture architecture) {
  return architecture == FastStyleArchitecture::PytorchExamples ? pytorch_examples_shapes() : engstrom_shapes();
}

FastStyleArchitecture FastStyleNetwork::detect(const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    if (key == "conv1.conv2d.weight") return FastStyleArchitecture::PytorchExamples;
    if (key == "conv1.norm.scale") return FastStyleArchitecture::Engstrom;
  }
  throw Error("not a fast style network: expected the keys of pytorch/examples' TransformerNet "
              "(conv1.conv2d.weight, ...) or of Engstrom's transform net (conv1.weight, conv1.norm.scale, ...)");
}

FastStyleNetwork::FastStyleNetwork(FastStyleArchitecture architecture,
                                   const std::map<std::string, torch::Tensor>& weights, const torch::Device& device)
    : architecture_(architecture), device_(device) {
  const Shapes expected = expected_shapes(architecture);
  for (const auto& [key, shape] : expected) {
    auto found = weights.find(key);
    if (found == weights.end())
      throw Error(std::string("weights for ") + architecture_name(architecture) + " lack \"" + key + "\"");
    if (found->second.sizes().vec() != shape)
      throw Error("\"" + key + "\" has shape " + shape_text(found->second.sizes().vec()) + ", expected " +
                  shape_text(shape) + " for " + architecture_name(architecture));
    weights_[key] = found->second.to(device, torch::kFloat32);
  }
  for (const auto& [key, tensor] : weights)
    if (!expected.count(key) && !is_stale_running_statistic(architecture, key))
      throw Error(std::string("unexpected key \"") + key + "\" for " + architecture_name(architecture));
}

void FastStyleNetwork::set_channels_last(bool channels_last) {
  channels_last_ = channels_last;
  const auto format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& [key, tensor] : weights_)
    if (tensor.dim() == 4) tensor = tensor.contiguous(format);
}

torch::Tensor FastStyleNetwork::forward(const torch::Tensor& rgb255) const {
  if (rgb255.dim() != 4 || rgb255.size(1) != 3) throw Error("fast style networks take [N,3,H,W] RGB images");
  // The 9x9 reflection padding needs more than 4 pixels each way.
  if (rgb255.size(2) < kMinimumSide || rgb255.size(3) < kMinimumSide)
    throw Error("image of " + std::to_string(rgb255.size(3)) + "x" + std::to_string(rgb255.size(2)) +
                " is too small for a fast style network (at least " + std::to_string(kMinimumSide) + " pixels a side)");
  auto x = rgb255.to(device_, torch::kFloat32);
  if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto y = architecture_ == FastStyleArchitecture::PytorchExamples ? forward_pytorch_examples(x) : forward_engstrom(x);
  return y.clamp(0, 255);
}

torch::Tensor FastStyleNetwork::forward_pytorch_examples(const torch::Tensor& input) const {
  constexpr double kEps = 1e-5;
  // ConvLayer: reflection pad k/2, conv (stride s). UpsampleConvLayer: nearest x2 first.
  auto conv = [&](const torch::Tensor& x, const std::string& name, int64_t kernel, int64_t stride, bool upsample) {
    auto y = x;
    if (upsample)
      y = F::interpolate(y, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
    y = F::pad(y, F::PadFuncOptions({kernel / 2, kernel / 2, kernel / 2, kernel / 2}).mode(torch::kReflect));
    return torch::conv2d(y, weight(name + ".conv2d.weight"), weight(name + ".conv2d.bias"), stride);
  };
  auto norm = [&](const torch::Tensor& x, const std::string& name) {
    return instance_norm(x, weight(name + ".weight"), weight(name + ".bias"), kEps);
  };
  // In-place relu_ and add_ act on fresh intermediates: fewer large buffers.
  auto y = norm(conv(input, "conv1", 9, 1, false), "in1").relu_();
  y = norm(conv(y, "conv2", 3, 2, false), "in2").relu_();
  y = norm(conv(y, "conv3", 3, 2, false), "in3").relu_();
  for (int i = 1; i <= 5; ++i) {
    const std::string block = "res" + std::to_string(i);
    auto residual = norm(conv(y, block + ".conv1", 3, 1, false), block + ".in1").relu_();
    y = norm(conv(residual, block + ".conv2", 3, 1, false), block + ".in2").add_(y);
  }
  y = norm(conv(y, "deconv1", 3, 1, true), "in4").relu_();
  y = norm(conv(y, "deconv2", 3, 1, true), "in5").relu_();
  return conv(y, "deconv3", 9, 1, false);
}

torch::Tensor FastStyleNetwork::forward_engstrom(const torch::Tensor& input) const {
  constexpr double kEps = 1e-3;
  auto norm = [&](const torch::Tensor& x, const std::string& name) {
    return instance_norm(x, weight(name + ".norm.scale"), weight(name + ".norm.shift"), kEps);
  };
  auto conv = [&](const torch::Tensor& x, const std::string& name, int64_t kernel, int64_t stride, bool relu) {
    auto y = norm(torch::conv2d(pad_same(x, kernel, stride), weight(name + ".weight"), {}, stride), name);
    return relu ? y.relu_() : y;
  };
  // TF's SAME stride-2 transposed conv: the full transposed convolution,
  // keeping the first 2H x 2W (its padding all falls after).
  auto deconv = [&](const torch::Tensor& x, const std::string& name) {
    using torch::indexing::Slice;
    auto full = torch::conv_transpose2d(x, weight(name + ".weight"), {}, /*stride=*/2);
    auto y = full.index({Slice(), Slice(), Slice(0, 2 * x.size(2)), Slice(0, 2 * x.size(3))});
    return norm(y, name).relu_();
  };
  auto y = conv(input, "conv1", 9, 1, true);
  y = conv(y, "conv2", 3, 2, true);
  y = conv(y, "conv3", 3, 2, true);
  for (int i = 1; i <= 5; ++i) {
    const std::string block = "res" + std::to_string(i);
    y = conv(conv(y, block + ".conv1", 3, 1, true), block + ".conv2", 3, 1, false).add_(y);
  }
  y = deconv(y, "deconv1");
  y = deconv(y, "deconv2");
  return torch::tanh(conv(y, "conv_out", 9, 1, false)) * 150.0 + 127.5;
}

}  // namespace atelier
