#include "models/fast_style.hpp"

#include <ATen/autocast_mode.h>

#include <mutex>
#include <optional>
#include <regex>
#include <sstream>

#include "atelier/error.hpp"
#include "torch/winograd_conv.hpp"

namespace atelier {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream text;
  text << "[";
  for (size_t i = 0; i < shape.size(); ++i) text << (i ? "," : "") << shape[i];
  text << "]";
  return text.str();
}

namespace {

namespace F = torch::nn::functional;
constexpr int64_t kMinimumSide = 8;
using Shapes = std::map<std::string, std::vector<int64_t>>;

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

// What tells the published architectures apart, in one place: a new one is
// a row here plus its branch in the three stages (encode, trunk, decode).
struct ArchitectureSpec {
  FastStyleArchitecture id;
  const char* name;
  const char* signature_key;  // a key that only this architecture's files hold
  double norm_eps;            // of every instance norm
  std::vector<int64_t> decoder_norm_scales;
  Shapes (*shapes)();
};

const std::vector<ArchitectureSpec>& architectures() {
  static const std::vector<ArchitectureSpec> specs = {
      {FastStyleArchitecture::PytorchExamples, "pytorch-examples", "conv1.conv2d.weight", 1e-5, {2, 4},
       pytorch_examples_shapes},
      // Engstrom's output conv has a norm too.
      {FastStyleArchitecture::Engstrom, "engstrom", "conv1.norm.scale", 1e-3, {2, 4, 4}, engstrom_shapes},
  };
  return specs;
}

const ArchitectureSpec& spec_of(FastStyleArchitecture architecture) {
  for (const auto& spec : architectures())
    if (spec.id == architecture) return spec;
  throw Error("internal: unregistered fast style architecture");
}

// Per-channel normalisation over H and W with the biased variance, then an
// affine map: InstanceNorm2d(affine) in PyTorch, tf.nn.moments in Engstrom's.
// For one image that is batch norm with batch statistics, whose kernel also
// takes channels-last input as it is (instance_norm first makes it
// contiguous, a third of the norm's time).
torch::Tensor instance_norm(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift,
                            double eps) {
  if (x.dim() == 5) {  // oneDNN's blocked layout [N,C/16,H,W,16] (the Winograd trunk): lane by lane
    const auto lanes = [&](const torch::Tensor& values) { return values.view({1, -1, 1, 1, x.size(4)}); };
    const auto mean = x.mean({2, 3}, /*keepdim=*/true);
    const auto m = torch::rsqrt((x - mean).square().mean({2, 3}, /*keepdim=*/true) + eps) * lanes(scale);
    return x * m + (lanes(shift) - mean * m);
  }
  if (x.size(0) == 1)
    return torch::batch_norm(x, scale, shift, /*running_mean=*/{}, /*running_var=*/{}, /*training=*/true,
                             /*momentum=*/0.0, eps, /*cudnn_enabled=*/false);
  return torch::instance_norm(x, scale, shift, /*running_mean=*/{}, /*running_var=*/{},
                              /*use_input_stats=*/true, /*momentum=*/0.0, eps, /*cudnn_enabled=*/false);
}

}  // namespace

const char* architecture_name(FastStyleArchitecture architecture) { return spec_of(architecture).name; }

std::map<std::string, std::vector<int64_t>> FastStyleNetwork::expected_shapes(FastStyleArchitecture architecture) {
  return spec_of(architecture).shapes();
}

FastStyleArchitecture FastStyleNetwork::detect(const std::vector<std::string>& keys) {
  for (const auto& key : keys)
    for (const auto& spec : architectures())
      if (key == spec.signature_key) return spec.id;
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
  // On the CPU, oneDNN's convolutions compute channels-last: in NCHW every
  // output is converted back (a third of a bf16 pass at 1080 px).
  set_channels_last(device.is_cpu());
  rewrite_cache_ = std::make_shared<RewriteCache>();
}

struct FastStyleNetwork::Rewritten {
  // pytorch/examples' decoder (empty for Engstrom's).
  std::optional<UpsampledConv3x3> deconv1, deconv2;
  std::optional<SpaceToDepthConv> deconv3;  // 32 -> 3 channels, 9x9: oneDNN pads the 3 outputs to 16
  // Engstrom's transposed convs (empty for pytorch/examples').
  std::optional<Stride2TransposedConv3x3> transposed1, transposed2;
  // The residual blocks' 3x3 convs by Winograd, in network order (empty where oneDNN has none).
  std::vector<winograd::Conv3x3> trunk;
};

struct FastStyleNetwork::RewriteCache {
  std::mutex mutex;
  std::vector<std::pair<const void*, int64_t>> made_from;  // each weight's storage and version
  std::shared_ptr<const Rewritten> rewritten;
};

std::shared_ptr<const FastStyleNetwork::Rewritten> FastStyleNetwork::rewritten() const {
  if (!device_.is_cpu() || torch::GradMode::is_enabled()) return nullptr;
  // Inference tensors keep no version: they cannot change outside inference mode.
  const auto version = [](const torch::Tensor& t) { return t.is_inference() ? int64_t{0} : int64_t(t._version()); };
  std::vector<std::pair<const void*, int64_t>> now;
  for (const auto& [key, tensor] : weights_) now.emplace_back(tensor.data_ptr(), version(tensor));
  std::lock_guard<std::mutex> lock(rewrite_cache_->mutex);
  if (rewrite_cache_->rewritten && rewrite_cache_->made_from == now) return rewrite_cache_->rewritten;
  auto made = std::make_shared<Rewritten>();
  const bool examples = architecture_ == FastStyleArchitecture::PytorchExamples;
  if (examples) {
    made->deconv1.emplace(weight("deconv1.conv2d.weight"), weight("deconv1.conv2d.bias"));
    made->deconv2.emplace(weight("deconv2.conv2d.weight"), weight("deconv2.conv2d.bias"));
    made->deconv3.emplace(weight("deconv3.conv2d.weight"), weight("deconv3.conv2d.bias"), 4);
  } else {
    made->transposed1.emplace(weight("deconv1.weight"));
    made->transposed2.emplace(weight("deconv2.weight"));
  }
  if (winograd::available())
    for (int i = 1; i <= 5; ++i)
      for (int j = 1; j <= 2; ++j) {
        const std::string conv = "res" + std::to_string(i) + ".conv" + std::to_string(j);
        // pytorch/examples pads by reflection (done before, in the blocked layout); Engstrom by zeros (SAME).
        if (examples)
          made->trunk.emplace_back(weight(conv + ".conv2d.weight"), weight(conv + ".conv2d.bias"), 0);
        else
          made->trunk.emplace_back(weight(conv + ".weight"), torch::Tensor(), 1);
      }
  rewrite_cache_->rewritten = made;
  rewrite_cache_->made_from = now;
  return made;
}

void FastStyleNetwork::set_channels_last(bool channels_last) {
  channels_last_ = channels_last;
  const auto format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& [key, tensor] : weights_)
    if (tensor.dim() == 4) tensor = tensor.contiguous(format);
}

torch::Tensor FastStyleNetwork::input_tensor(const torch::Tensor& rgb255) const {
  if (rgb255.dim() != 4 || rgb255.size(1) != 3) throw Error("fast style networks take [N,3,H,W] RGB images");
  // The 9x9 reflection padding needs more than 4 pixels each way.
  if (rgb255.size(2) < kMinimumSide || rgb255.size(3) < kMinimumSide)
    throw Error("image of " + std::to_string(rgb255.size(3)) + "x" + std::to_string(rgb255.size(2)) +
                " is too small for a fast style network (at least " + std::to_string(kMinimumSide) + " pixels a side)");
  auto x = rgb255.to(device_, torch::kFloat32);
  return channels_last_ ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

torch::Tensor FastStyleNetwork::forward(const torch::Tensor& rgb255, bool clamp) const {
  const auto x = input_tensor(rgb255);
  return decode(trunk(encode(x, {}, {x.size(2), x.size(3)})), {}, clamp);
}

const std::vector<int64_t>& FastStyleNetwork::encoder_norm_scales() {
  static const std::vector<int64_t> scales = {4, 2};
  return scales;
}

std::vector<int64_t> FastStyleNetwork::decoder_norm_scales() const {
  return spec_of(architecture_).decoder_norm_scales;
}

bool FastStyleNetwork::normalize(torch::Tensor& x, const std::string& scale_key, const std::string& shift_key,
                                 const NormPlan& plan, size_t& index) const {
  const double eps = spec_of(architecture_).norm_eps;
  if (index < plan.fixed.size()) {
    // Given statistics: batch norm's inference mode applies exactly that
    // (fused, in x's dtype and memory format).
    const auto& stats = plan.fixed[index];
    x = torch::batch_norm(x, weight(scale_key), weight(shift_key), stats.mean, stats.variance, /*training=*/false,
                          /*momentum=*/0.0, eps, /*cudnn_enabled=*/false);
  } else if (plan.stop_at_next) {
    return false;
  } else {
    x = instance_norm(x, weight(scale_key), weight(shift_key), eps);
  }
  ++index;
  return true;
}

torch::ScalarType convolution_dtype(const torch::Tensor& x) {
  return x.is_cpu() && at::autocast::is_cpu_enabled() ? at::autocast::get_autocast_cpu_dtype() : x.scalar_type();
}

// libtorch 1.13's CPU reflection_pad2d is a serial loop that took a third of
// a whole pass; this copies instead.
torch::Tensor reflection_pad(const torch::Tensor& x, int64_t p, torch::ScalarType dtype) {
  using torch::indexing::Slice;
  const int64_t h = x.size(2), w = x.size(3);
  if (p >= h || p >= w) throw Error("internal: reflection padding wider than the image");
  auto sizes = x.sizes().vec();  // [N,C,H,W], or oneDNN's blocked [N,C/16,H,W,16]
  sizes[2] += 2 * p;
  sizes[3] += 2 * p;
  auto out = x.dim() == 4 ? torch::empty(sizes, x.options().dtype(dtype).memory_format(x.suggest_memory_format()))
                          : torch::empty(sizes, x.options().dtype(dtype));
  auto rows = [&](int64_t begin, int64_t end) { return out.index({Slice(), Slice(), Slice(begin, end)}); };
  auto middle = rows(p, p + h);
  middle.index({Slice(), Slice(), Slice(), Slice(p, p + w)}).copy_(x);
  // Column -i mirrors column i, column w-1+i mirrors w-1-i; then the same for rows.
  middle.index({Slice(), Slice(), Slice(), Slice(0, p)}).copy_(middle.index({Slice(), Slice(), Slice(), Slice(p + 1, 2 * p + 1)}).flip(3));
  middle.index({Slice(), Slice(), Slice(), Slice(w + p, w + 2 * p)})
      .copy_(middle.index({Slice(), Slice(), Slice(), Slice(w - 1, w + p - 1)}).flip(3));
  rows(0, p).copy_(rows(p + 1, 2 * p + 1).flip(2));
  rows(h + p, h + 2 * p).copy_(rows(h - 1, h + p - 1).flip(2));
  return out;
}

namespace {

// pytorch/examples' ConvLayer: reflection pad k/2, conv (stride s);
// UpsampleConvLayer: nearest x2 first.
torch::Tensor pytorch_examples_conv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                    int64_t kernel, int64_t stride, bool upsample) {
  const auto dtype = convolution_dtype(x);
  auto y = x;
  if (upsample) {
    // Nearest upsampling only copies values: cast first, on a quarter of the data.
    y = F::interpolate(y.to(dtype), F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  }
  return torch::conv2d(reflection_pad(y, kernel / 2, dtype), weight, bias, stride);
}

// TF's SAME padding for a tile of an image whose size at this layer is
// `whole`: the left/top amount is the whole image's (so the stride-2 grid
// lines up), the rest goes after.
torch::Tensor pad_same(const torch::Tensor& x, int64_t kernel, int64_t stride, std::array<int64_t, 2> whole) {
  auto total = [&](int64_t n) {
    const int64_t out = (n + stride - 1) / stride;
    return std::max<int64_t>((out - 1) * stride + kernel - n, 0);
  };
  const int64_t top = total(whole[0]) / 2, left = total(whole[1]) / 2;
  const int64_t bottom = std::max<int64_t>(total(x.size(2)) - top, 0), right = std::max<int64_t>(total(x.size(3)) - left, 0);
  return F::pad(x, F::PadFuncOptions({left, right, top, bottom}));
}

std::array<int64_t, 2> halved(std::array<int64_t, 2> size) { return {(size[0] + 1) / 2, (size[1] + 1) / 2}; }

}  // namespace

torch::Tensor FastStyleNetwork::encode(const torch::Tensor& x, const NormPlan& plan,
                                       std::array<int64_t, 2> whole) const {
  size_t index = 0;
  if (architecture_ == FastStyleArchitecture::PytorchExamples) {
    auto conv = [&](const torch::Tensor& in, const std::string& name, int64_t kernel, int64_t stride) {
      return pytorch_examples_conv(in, weight(name + ".conv2d.weight"), weight(name + ".conv2d.bias"), kernel, stride,
                                   false);
    };
    auto y = conv(x, "conv1", 9, 1);
    if (!normalize(y, "in1.weight", "in1.bias", plan, index)) return y;
    y = conv(y.relu_(), "conv2", 3, 2);
    if (!normalize(y, "in2.weight", "in2.bias", plan, index)) return y;
    return conv(y.relu_(), "conv3", 3, 2);
  }
  auto conv = [&](const torch::Tensor& in, const std::string& name, int64_t kernel, int64_t stride,
                  std::array<int64_t, 2> size) {
    return torch::conv2d(pad_same(in, kernel, stride, size), weight(name + ".weight"), {}, stride);
  };
  auto y = conv(x, "conv1", 9, 1, whole);
  if (!normalize(y, "conv1.norm.scale", "conv1.norm.shift", plan, index)) return y;
  y = conv(y.relu_(), "conv2", 3, 2, whole);
  if (!normalize(y, "conv2.norm.scale", "conv2.norm.shift", plan, index)) return y;
  return conv(y.relu_(), "conv3", 3, 2, halved(whole));
}

torch::Tensor FastStyleNetwork::trunk(const torch::Tensor& encoded) const {
  const NormPlan local;
  size_t index = 0;  // unused: the trunk always computes its own statistics
  // In-place relu_ and add_ act on fresh intermediates: fewer large buffers.
  // For inference in fp32 where oneDNN has Winograd, the 128-channel map
  // stays in its blocked layout through the residual blocks (their convs by
  // Winograd, norms and padding done there).
  const auto fast = rewritten();
  const bool blocked = fast && !fast->trunk.empty() && winograd::takes(encoded);
  // The residual blocks' j-th conv (0..9) of `in`.
  auto winograd_conv = [&](const torch::Tensor& in, size_t j) {
    return architecture_ == FastStyleArchitecture::PytorchExamples ? fast->trunk[j](reflection_pad(in, 1, torch::kFloat32))
                                                                   : fast->trunk[j](in);
  };
  if (architecture_ == FastStyleArchitecture::PytorchExamples) {
    auto conv = [&](const torch::Tensor& in, const std::string& name, size_t j) {
      return blocked ? winograd_conv(in, j)
                     : pytorch_examples_conv(in, weight(name + ".conv2d.weight"), weight(name + ".conv2d.bias"), 3, 1, false);
    };
    auto y = encoded;
    normalize(y, "in3.weight", "in3.bias", local, index);
    y.relu_();
    if (blocked) y = winograd::to_blocked(y);
    for (int i = 1; i <= 5; ++i) {
      const std::string block = "res" + std::to_string(i);
      auto residual = conv(y, block + ".conv1", 2 * (i - 1));
      normalize(residual, block + ".in1.weight", block + ".in1.bias", local, index);
      residual = conv(residual.relu_(), block + ".conv2", 2 * (i - 1) + 1);
      normalize(residual, block + ".in2.weight", block + ".in2.bias", local, index);
      y = residual.add_(y);
    }
    return blocked ? winograd::from_blocked(y, encoded.size(1)) : y;
  }
  auto conv = [&](const torch::Tensor& in, const std::string& name, size_t j, bool relu) {
    auto y = blocked ? winograd_conv(in, j)
                     : torch::conv2d(pad_same(in, 3, 1, {in.size(2), in.size(3)}), weight(name + ".weight"), {}, 1);
    normalize(y, name + ".norm.scale", name + ".norm.shift", local, index);
    return relu ? y.relu_() : y;
  };
  auto y = encoded;
  normalize(y, "conv3.norm.scale", "conv3.norm.shift", local, index);
  y.relu_();
  if (blocked) y = winograd::to_blocked(y);
  for (int i = 1; i <= 5; ++i) {
    const std::string block = "res" + std::to_string(i);
    y = conv(conv(y, block + ".conv1", 2 * (i - 1), true), block + ".conv2", 2 * (i - 1) + 1, false).add_(y);
  }
  return blocked ? winograd::from_blocked(y, encoded.size(1)) : y;
}

torch::Tensor FastStyleNetwork::decode(const torch::Tensor& trunk_output, const NormPlan& plan, bool clamp) const {
  size_t index = 0;
  if (architecture_ == FastStyleArchitecture::PytorchExamples) {
    auto conv = [&](const torch::Tensor& in, const std::string& name, int64_t kernel, bool upsample) {
      return pytorch_examples_conv(in, weight(name + ".conv2d.weight"), weight(name + ".conv2d.bias"), kernel, 1,
                                   upsample);
    };
    const auto fast = rewritten();  // the same convolutions, for inference
    auto y = fast ? (*fast->deconv1)(trunk_output) : conv(trunk_output, "deconv1", 3, true);
    if (!normalize(y, "in4.weight", "in4.bias", plan, index)) return y;
    y = fast ? (*fast->deconv2)(y.relu_()) : conv(y.relu_(), "deconv2", 3, true);
    if (!normalize(y, "in5.weight", "in5.bias", plan, index)) return y;
    const auto out = fast ? (*fast->deconv3)(y.relu_()) : conv(y.relu_(), "deconv3", 9, false);
    return clamp ? out.clamp(0, 255) : out;
  }
  // TF's SAME stride-2 transposed conv: the full transposed convolution,
  // keeping the first 2H x 2W (its padding all falls after).
  // For inference the same as four 2x2 phase convs (resampled_conv.hpp).
  const auto fast = rewritten();
  auto deconv = [&](const torch::Tensor& in, const std::string& name) {
    if (fast) return name == "deconv1" ? (*fast->transposed1)(in) : (*fast->transposed2)(in);
    using torch::indexing::Slice;
    auto full = torch::conv_transpose2d(in, weight(name + ".weight"), {}, /*stride=*/2);
    return full.index({Slice(), Slice(), Slice(0, 2 * in.size(2)), Slice(0, 2 * in.size(3))});
  };
  auto y = deconv(trunk_output, "deconv1");
  if (!normalize(y, "deconv1.norm.scale", "deconv1.norm.shift", plan, index)) return y;
  y = deconv(y.relu_(), "deconv2");
  if (!normalize(y, "deconv2.norm.scale", "deconv2.norm.shift", plan, index)) return y;
  y = torch::conv2d(pad_same(y.relu_(), 9, 1, {y.size(2), y.size(3)}), weight("conv_out.weight"), {}, 1);
  if (!normalize(y, "conv_out.norm.scale", "conv_out.norm.shift", plan, index)) return y;
  const auto out = torch::tanh(y) * 150.0 + 127.5;
  return clamp ? out.clamp(0, 255) : out;
}

}  // namespace atelier
