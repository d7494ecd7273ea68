#include "torch/winograd_conv.hpp"

#include <ATen/autocast_mode.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <map>
#include <mutex>

#include "atelier/error.hpp"

namespace atelier::winograd {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;
constexpr int64_t kBlock = 16;  // channels per block of nChw16c
// Transformed weights kept per convolution: tiles at print sizes come in a few shapes, not more.
constexpr size_t kMaxPlans = 8;

dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Scratch space per call (not oneDNN's own, shared by every call of a primitive), so
// that two jobs may run one network at once.
dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

struct Shapes {
  memory::desc src, weights, bias, dst;
  memory::dims padding;
};

// For an input of height x width; the output is as large with padding 1, 2 smaller a side with 0.
Shapes shapes(int64_t n, int64_t channels, int64_t outputs, int64_t height, int64_t width, int64_t padding) {
  const int64_t shrink = 2 - 2 * padding;
  return {memory::desc({n, channels, height, width}, kF32, Tag::nChw16c),
          memory::desc({outputs, channels, 3, 3}, kF32, Tag::any), memory::desc({outputs}, kF32, Tag::x),
          memory::desc({n, outputs, height - shrink, width - shrink}, kF32, Tag::nChw16c),
          {padding, padding}};
}

dnnl::convolution_forward::primitive_desc forward_desc(const Shapes& s, bool relu) {
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_winograd,
                                             s.src, s.weights, s.bias, s.dst, {1, 1}, s.padding, s.padding);
  auto attr = user_scratchpad();
  if (relu) {  // applied as each output tile is written: no pass of its own over the activations
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  return {desc, attr, cpu()};
}

// The weights as oneDNN's primitive wants them, reordered from torch's OIHW.
memory reordered_weights(const torch::Tensor& weight, const memory::desc& wanted) {
  dnnl::stream stream(cpu());
  const memory::dims dims(weight.sizes().begin(), weight.sizes().end());
  memory plain({dims, kF32, Tag::oihw}, cpu(), weight.data_ptr<float>());
  memory transformed(wanted, cpu());
  dnnl::reorder(plain, transformed).execute(stream, plain, transformed);
  stream.wait();
  return transformed;
}

void execute(const dnnl::primitive& primitive, const memory::desc& scratchpad,
             std::unordered_map<int, memory> arguments) {
  const auto scratch = torch::empty({static_cast<int64_t>(scratchpad.get_size())}, torch::kUInt8);
  arguments.insert({DNNL_ARG_SCRATCHPAD, memory(scratchpad, cpu(), scratch.data_ptr())});
  dnnl::stream stream(cpu());
  primitive.execute(stream, arguments);
  stream.wait();
}

}  // namespace

bool available() {
  static const bool yes = [] {
    try {
      forward_desc(shapes(1, kBlock, kBlock, 8, 8, 1), true);
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return yes;
}

bool takes(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && !at::autocast::is_cpu_enabled() && available();
}

int64_t whole_blocks(int64_t channels) { return (channels + kBlock - 1) / kBlock * kBlock; }

torch::Tensor to_blocked(const torch::Tensor& nchw) {
  const auto n = nchw.size(0), c = nchw.size(1), h = nchw.size(2), w = nchw.size(3);
  const auto padded = c % kBlock ? torch::constant_pad_nd(nchw, {0, 0, 0, 0, 0, whole_blocks(c) - c}) : nchw;
  return padded.reshape({n, whole_blocks(c) / kBlock, kBlock, h, w}).permute({0, 1, 3, 4, 2}).contiguous();
}

torch::Tensor from_blocked(const torch::Tensor& blocked, int64_t channels) {
  const auto n = blocked.size(0), blocks = blocked.size(1), h = blocked.size(2), w = blocked.size(3);
  auto nhwc = blocked.permute({0, 2, 3, 1, 4}).contiguous().reshape({n, h, w, blocks * kBlock});
  if (channels >= 0 && channels != blocks * kBlock) nhwc = nhwc.slice(3, 0, channels).contiguous();  // padding dropped
  return nhwc.permute({0, 3, 1, 2});
}

torch::Tensor reflection_pad1(const torch::Tensor& blocked) {
  const auto n = blocked.size(0), blocks = blocked.size(1), h = blocked.size(2), w = blocked.size(3);
  if (h < 2 || w < 2) throw Error("internal: reflection padding needs 2x2 pixels");
  const auto mirrored = [](int64_t length) {  // 1, 0, 1, ..., length - 1, length - 2
    auto index = torch::arange(-1, length + 1, torch::kLong).abs_();
    index[length + 1] = length - 2;
    return index;
  };
  // Each padded pixel's source as one index into the flattened picture: one copy, not one per axis.
  const auto source = (mirrored(h).view({-1, 1}) * w + mirrored(w).view({1, -1})).view({-1});
  return blocked.reshape({n, blocks, h * w, kBlock}).index_select(2, source).view({n, blocks, h + 2, w + 2, kBlock});
}

torch::Tensor upsample2x(const torch::Tensor& blocked) {
  const auto n = blocked.size(0), blocks = blocked.size(1), h = blocked.size(2), w = blocked.size(3);
  return blocked.view({n, blocks, h, 1, w, 1, kBlock})
      .expand({n, blocks, h, 2, w, 2, kBlock})
      .reshape({n, blocks, 2 * h, 2 * w, kBlock});
}

torch::Tensor pool2x2(const torch::Tensor& blocked, bool max, bool ceil) {
  const auto n = blocked.size(0), blocks = blocked.size(1), h = blocked.size(2), w = blocked.size(3);
  // Each block of 16 channels is a channels-last picture of its own.
  const auto pictures = blocked.reshape({n * blocks, h, w, kBlock}).permute({0, 3, 1, 2});
  const auto pooled = max ? torch::max_pool2d(pictures, {2, 2}, {2, 2}, {0, 0}, {1, 1}, ceil)
                          : torch::avg_pool2d(pictures, {2, 2}, {2, 2}, {0, 0}, ceil);
  return pooled.permute({0, 2, 3, 1}).reshape({n, blocks, pooled.size(2), pooled.size(3), kBlock});
}

// The primitives and transformed weights for one picture shape.
struct Plan {
  dnnl::convolution_forward::primitive_desc forward_desc;
  dnnl::convolution_forward forward;
  memory forward_weights;
  dnnl::convolution_backward_data::primitive_desc backward_desc;
  dnnl::convolution_backward_data backward;
  memory backward_weights;
};

struct Conv3x3::Plans {
  torch::Tensor source_weight, source_bias;  // as given (detached: they share the versions of the caller's)
  torch::Tensor weight, bias;  // contiguous float32 [K,C,3,3], [K], zero-padded to whole blocks of 16
  int64_t padding = 1;
  std::array<int64_t, 2> versions{-1, -1};  // the sources' when `weight` was made: an update in place remakes it
  std::mutex mutex;
  std::map<std::array<int64_t, 4>, std::shared_ptr<const Plan>> by_shape;  // (N, H, W, relu)

  // Before each pass: the weights as they are now (an optimiser may have changed them in place).
  void refresh() {
    std::lock_guard<std::mutex> lock(mutex);
    // Inference tensors (made under InferenceMode) keep no version: they cannot change outside it.
    const auto version = [](const torch::Tensor& t) { return t.is_inference() ? int64_t{0} : int64_t(t._version()); };
    const std::array<int64_t, 2> now{version(source_weight), version(source_bias)};
    if (now == versions) return;
    versions = now;
    by_shape.clear();
    const auto k = source_weight.size(0), c = source_weight.size(1);
    weight = torch::zeros({whole_blocks(k), whole_blocks(c), 3, 3}, torch::kFloat32);
    weight.slice(0, 0, k).slice(1, 0, c).copy_(source_weight);
    bias = torch::zeros({whole_blocks(k)}, torch::kFloat32);
    bias.slice(0, 0, k).copy_(source_bias);
  }

  std::shared_ptr<const Plan> at(int64_t n, int64_t height, int64_t width, bool relu) {
    std::lock_guard<std::mutex> lock(mutex);
    const std::array<int64_t, 4> key{n, height, width, relu};
    const auto found = by_shape.find(key);
    if (found != by_shape.end()) return found->second;
    if (by_shape.size() >= kMaxPlans) by_shape.clear();
    std::shared_ptr<const Plan> plan;  // null: a shape oneDNN's Winograd refuses, remembered so as not to ask again
    try {
      plan = make(n, height, width, relu);
    } catch (const dnnl::error&) {
    }
    return by_shape[key] = plan;
  }

  // The plan of a shape operator() let through (it sends refused ones to libtorch).
  std::shared_ptr<const Plan> accepted(int64_t n, int64_t height, int64_t width, bool relu) {
    auto plan = at(n, height, width, relu);
    if (!plan) throw Error("internal: Winograd convolution of a shape oneDNN refuses");
    return plan;
  }

 private:
  std::shared_ptr<const Plan> make(int64_t n, int64_t height, int64_t width, bool relu) const {
    const Shapes s = shapes(n, weight.size(1), weight.size(0), height, width, padding);
    auto forward = forward_desc(s, relu);
    const dnnl::convolution_backward_data::desc backward(dnnl::algorithm::convolution_winograd, s.src, s.weights,
                                                         s.dst, {1, 1}, s.padding, s.padding);
    dnnl::convolution_backward_data::primitive_desc backward_pd(backward, user_scratchpad(), cpu(), forward);
    return std::make_shared<const Plan>(Plan{forward, dnnl::convolution_forward(forward),
                                             reordered_weights(weight, forward.weights_desc()), backward_pd,
                                             dnnl::convolution_backward_data(backward_pd),
                                             reordered_weights(weight, backward_pd.weights_desc())});
  }
};

namespace {

struct PlansHolder : torch::CustomClassHolder {
  explicit PlansHolder(std::shared_ptr<Conv3x3::Plans> p) : plans(std::move(p)) {}
  std::shared_ptr<Conv3x3::Plans> plans;
};

torch::Tensor run_forward(Conv3x3::Plans& plans, const torch::Tensor& blocked, bool relu) {
  const auto input = blocked.contiguous();
  const auto n = input.size(0), h = input.size(2), w = input.size(3);
  const auto plan = plans.accepted(n, h, w, relu);
  const int64_t shrink = 2 - 2 * plans.padding;
  const torch::Tensor bias = plans.bias;  // held for the call
  auto output = torch::empty({n, plans.weight.size(0) / kBlock, h - shrink, w - shrink, kBlock}, input.options());
  execute(plan->forward, plan->forward_desc.scratchpad_desc(),
          {{DNNL_ARG_SRC, memory(plan->forward_desc.src_desc(), cpu(), input.data_ptr())},
           {DNNL_ARG_WEIGHTS, plan->forward_weights},
           {DNNL_ARG_BIAS, memory(plan->forward_desc.bias_desc(), cpu(), bias.data_ptr())},
           {DNNL_ARG_DST, memory(plan->forward_desc.dst_desc(), cpu(), output.data_ptr())}});
  return output;
}

// `relu`: the forward's plan, whose backward primitive is the same either way.
torch::Tensor run_backward(Conv3x3::Plans& plans, const torch::Tensor& output_gradient, bool relu) {
  const auto gradient = output_gradient.contiguous();
  const int64_t grow = 2 - 2 * plans.padding;  // the input's size from the output's
  const auto n = gradient.size(0), h = gradient.size(2) + grow, w = gradient.size(3) + grow;
  const auto plan = plans.accepted(n, h, w, relu);
  auto input_gradient = torch::empty({n, plans.weight.size(1) / kBlock, h, w, kBlock}, gradient.options());
  execute(plan->backward, plan->backward_desc.scratchpad_desc(),
          {{DNNL_ARG_DIFF_DST, memory(plan->backward_desc.diff_dst_desc(), cpu(), gradient.data_ptr())},
           {DNNL_ARG_WEIGHTS, plan->backward_weights},
           {DNNL_ARG_DIFF_SRC, memory(plan->backward_desc.diff_src_desc(), cpu(), input_gradient.data_ptr())}});
  return input_gradient;
}

struct ConvFunction : torch::autograd::Function<ConvFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& blocked,
                               const std::shared_ptr<Conv3x3::Plans>& plans, bool relu) {
    context->saved_data["plans"] = c10::IValue::make_capsule(c10::make_intrusive<PlansHolder>(plans));
    auto output = run_forward(*plans, blocked, relu);
    context->saved_data["relu"] = relu;
    if (relu) context->save_for_backward({output});  // relu's gradient passes where its output is positive
    return output;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list gradients) {
    const auto holder = c10::static_intrusive_pointer_cast<PlansHolder>(context->saved_data["plans"].toCapsule());
    auto gradient = gradients[0];
    const bool relu = context->saved_data["relu"].toBool();
    if (relu) gradient = torch::threshold_backward(gradient, context->get_saved_variables()[0], 0);
    return {run_backward(*holder->plans, gradient, relu), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool Conv3x3::suits(const torch::Tensor& weight) {
  return weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 && weight.scalar_type() == torch::kFloat32 &&
         weight.device().is_cpu();
}

Conv3x3::Conv3x3(const torch::Tensor& weight, const torch::Tensor& bias, int padding)
    : plans_(std::make_shared<Plans>()) {
  if (!suits(weight)) throw Error("internal: Winograd convolution needs float32 CPU 3x3 weights");
  if (padding != 0 && padding != 1) throw Error("internal: Winograd convolution pads by 0 or 1");
  plans_->padding = padding;
  plans_->source_weight = weight.detach();
  plans_->source_bias = bias.defined() ? bias.detach() : torch::zeros({weight.size(0)});
}

int64_t Conv3x3::outputs() const { return plans_->source_weight.size(0); }

torch::Tensor Conv3x3::operator()(const torch::Tensor& blocked, bool then_relu) const {
  plans_->refresh();
  if (blocked.dim() != 5 || blocked.size(1) * kBlock != plans_->weight.size(1) || blocked.size(4) != kBlock ||
      blocked.scalar_type() != torch::kFloat32 || blocked.size(2) + 2 * plans_->padding < 3 ||
      blocked.size(3) + 2 * plans_->padding < 3)
    throw Error("internal: Winograd convolution given a tensor of another shape or type");
  if (!plans_->at(blocked.size(0), blocked.size(2), blocked.size(3), then_relu)) {
    // A shape oneDNN's Winograd refuses: the same convolution by libtorch, in and out of the blocked layout.
    const auto x = torch::conv2d(from_blocked(blocked, plans_->source_weight.size(1)), plans_->source_weight,
                                 plans_->source_bias, 1, plans_->padding);
    return to_blocked(then_relu ? torch::relu(x) : x);
  }
  return ConvFunction::apply(blocked, plans_, then_relu);
}

void BlockedPass::conv(const Conv3x3& conv, bool then_relu, bool reflect) {
  if (!blocked_) x_ = to_blocked(x_);
  blocked_ = true;
  x_ = conv(reflect ? reflection_pad1(x_) : x_, then_relu);
  channels_ = conv.outputs();
  relu_done_ = then_relu;
}

torch::Tensor& BlockedPass::nchw() {
  if (blocked_) x_ = from_blocked(x_, channels_);
  blocked_ = relu_done_ = false;
  return x_;
}

void BlockedPass::relu() {
  if (!relu_done_) x_ = torch::relu(x_);
  relu_done_ = false;
}

void BlockedPass::pool2x2(bool max, bool ceil) {
  if (blocked_) {
    x_ = winograd::pool2x2(x_, max, ceil);
    return;
  }
  x_ = max ? torch::max_pool2d(x_, {2, 2}, {2, 2}, {0, 0}, {1, 1}, ceil) : torch::avg_pool2d(x_, {2, 2}, {2, 2}, {0, 0}, ceil);
}

void BlockedPass::upsample2x() {
  namespace F = torch::nn::functional;
  x_ = blocked_ ? winograd::upsample2x(x_)
                : F::interpolate(x_, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
}

torch::Tensor BlockedPass::features() const { return blocked_ ? from_blocked(x_, channels_) : x_; }

}  // namespace atelier::winograd
