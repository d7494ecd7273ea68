#include "models/resampled_conv.hpp"

#include "atelier/error.hpp"
#include "models/fast_style.hpp"
#include "torch/winograd_conv.hpp"

namespace atelier {
namespace resampled_conv_detail {

using torch::indexing::Slice;

// Which of a 3x3 kernel's rows (columns) each row of a 2x2 phase window
// takes, [2,3] for output parity 0 and 1. Nearest upsampling by 2 then
// padding 1: output row 2i+a reads input rows i-1+a and i+a. Stride-2
// transposed conv: output row 2m gets tap 2 from input row m-1 and tap 0
// from row m, row 2m+1 tap 1 from row m.
const float kUpsampledTaps[2][6] = {{1, 0, 0, 0, 1, 1}, {1, 1, 0, 0, 0, 1}};
const float kTransposedTaps[2][6] = {{0, 0, 1, 1, 0, 0}, {0, 0, 0, 0, 1, 0}};

// A 3x3 kernel [K,C,3,3] as four 2x2 phase kernels stacked, [4K,C,2,2],
// phase (a,b) at rows (2a+b)K.., kept in the kernel's memory format.
torch::Tensor phase_kernels(const torch::Tensor& weight, const float (&taps)[2][6]) {
  if (weight.dim() != 4 || weight.size(2) != 3 || weight.size(3) != 3)
    throw Error("internal: phase convolutions take 3x3 weights");
  const auto w = weight.to(torch::kFloat32);
  const auto rows = [&](int64_t parity) {
    return torch::from_blob(const_cast<float*>(taps[parity]), {2, 3}, torch::kFloat32).to(w.device());
  };
  std::vector<torch::Tensor> phases;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b) phases.push_back(torch::einsum("ys,kcst,xt->kcyx", {rows(a), w, rows(b)}));
  return torch::cat(phases).contiguous(weight.suggest_memory_format());
}

// One pixel of edge padding (replicate), by copies: on the input of an
// upsampling, it is what reflection padding of the upsampled picture reads.
torch::Tensor replicate_pad1(const torch::Tensor& x, torch::ScalarType dtype) {
  const int64_t h = x.size(2), w = x.size(3);
  auto out = torch::empty({x.size(0), x.size(1), h + 2, w + 2},
                          x.options().dtype(dtype).memory_format(x.suggest_memory_format()));
  auto middle = out.index({Slice(), Slice(), Slice(1, h + 1)});
  middle.index({Slice(), Slice(), Slice(), Slice(1, w + 1)}).copy_(x);
  middle.index({Slice(), Slice(), Slice(), Slice(0, 1)}).copy_(middle.index({Slice(), Slice(), Slice(), Slice(1, 2)}));
  middle.index({Slice(), Slice(), Slice(), Slice(w + 1, w + 2)}).copy_(middle.index({Slice(), Slice(), Slice(), Slice(w, w + 1)}));
  out.index({Slice(), Slice(), Slice(0, 1)}).copy_(out.index({Slice(), Slice(), Slice(1, 2)}));
  out.index({Slice(), Slice(), Slice(h + 1, h + 2)}).copy_(out.index({Slice(), Slice(), Slice(h, h + 1)}));
  return out;
}

// The four phase outputs of a 2x2 phase conv (y: [N, 4K, .., ..], phase
// (a,b) at channels (2a+b)K.., read from (a, b) on when `offset`) put back as
// one picture [N, K, 2h, 2w], channels-last when `channels_last`.
torch::Tensor interleave_phases(const torch::Tensor& y, int64_t k, int64_t h, int64_t w, bool offset, bool channels_last) {
  const int64_t n = y.size(0);
  // The output's memory as [N, h, 2, w, 2, K] (channels-last) or [N, K, h, 2, w, 2].
  auto out = channels_last ? torch::empty({n, 2 * h, 2 * w, k}, y.options().memory_format(torch::MemoryFormat::Contiguous))
                           : torch::empty({n, k, 2 * h, 2 * w}, y.options().memory_format(torch::MemoryFormat::Contiguous));
  const auto phase_view = channels_last ? out.view({n, h, 2, w, 2, k}) : out.view({n, k, h, 2, w, 2});
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b) {
      const int64_t first = (2 * a + b) * k, top = offset ? a : 0, left = offset ? b : 0;
      const auto phase = y.index({Slice(), Slice(first, first + k), Slice(top, top + h), Slice(left, left + w)});
      if (channels_last)
        phase_view.select(4, b).select(2, a).copy_(phase.permute({0, 2, 3, 1}));
      else
        phase_view.select(5, b).select(3, a).copy_(phase);
    }
  return channels_last ? out.permute({0, 3, 1, 2}) : out;
}

// One row of zeros above and one column left, in x's memory format.
torch::Tensor zero_pad_top_left(const torch::Tensor& x, torch::ScalarType dtype) {
  const int64_t h = x.size(2), w = x.size(3);
  auto out = torch::empty({x.size(0), x.size(1), h + 1, w + 1}, x.options().dtype(dtype).memory_format(x.suggest_memory_format()));
  out.index({Slice(), Slice(), Slice(1, h + 1), Slice(1, w + 1)}).copy_(x);
  out.index({Slice(), Slice(), 0}).zero_();
  out.index({Slice(), Slice(), Slice(), 0}).zero_();
  return out;
}

bool is_channels_last(const torch::Tensor& x) { return x.suggest_memory_format() == torch::MemoryFormat::ChannelsLast; }

}  // namespace resampled_conv_detail

namespace rcd = resampled_conv_detail;
using torch::indexing::Slice;

UpsampledConv3x3::UpsampledConv3x3(const torch::Tensor& weight, const torch::Tensor& bias)
    : phases_(rcd::phase_kernels(weight, rcd::kUpsampledTaps)), outputs_(weight.size(0)) {
  if (bias.defined()) bias_ = bias.to(torch::kFloat32).repeat({4});
}

torch::Tensor UpsampledConv3x3::operator()(const torch::Tensor& x) const {
  // Output phase (a,b) at input pixel (i,j) is the 2x2 window of the padded input at (i+a, j+b).
  const auto y = torch::conv2d(rcd::replicate_pad1(x, convolution_dtype(x)), phases_, bias_);
  return rcd::interleave_phases(y, outputs_, x.size(2), x.size(3), /*offset=*/true, rcd::is_channels_last(x));
}

// conv_transpose2d's weight is [C,K,3,3]: as a conv's, [K,C,3,3], over windows of rows (m-1, m).
Stride2TransposedConv3x3::Stride2TransposedConv3x3(const torch::Tensor& weight)
    : phases_(rcd::phase_kernels(weight.transpose(0, 1), rcd::kTransposedTaps)), outputs_(weight.size(1)) {}

torch::Tensor Stride2TransposedConv3x3::operator()(const torch::Tensor& x) const {
  const auto y = torch::conv2d(rcd::zero_pad_top_left(x, convolution_dtype(x)), phases_);
  return rcd::interleave_phases(y, outputs_, x.size(2), x.size(3), /*offset=*/false, rcd::is_channels_last(x));
}

SpaceToDepthConv::SpaceToDepthConv(const torch::Tensor& weight, const torch::Tensor& bias, int64_t factor)
    : factor_(factor), padding_(weight.size(2) / 2) {
  const int64_t kernel = weight.size(2), r = factor;
  if (weight.dim() != 4 || kernel != weight.size(3) || kernel % 2 == 0 || r < 1 || padding_ % r)
    throw Error("internal: a space-to-depth convolution takes odd square kernels whose padding the factor divides");
  const int64_t outputs = weight.size(0), inputs = weight.size(1), taps = (kernel - 2) / r + 2;
  // Output (k, phase qy,qx) reads padded pixel (ri+qy+ty, rj+qx+tx) for tap (ty,tx): in the
  // space-to-depth picture, pixel (i + (qy+ty)/r, ...) of channel (c, (qy+ty)%r, (qx+tx)%r).
  const auto w = weight.to(torch::kCPU, torch::kFloat32).contiguous();
  auto big = torch::zeros({outputs, r, r, inputs, r, r, taps, taps});
  for (int64_t qy = 0; qy < r; ++qy)
    for (int64_t qx = 0; qx < r; ++qx)
      for (int64_t ty = 0; ty < kernel; ++ty)
        for (int64_t tx = 0; tx < kernel; ++tx)
          big.index({Slice(), qy, qx, Slice(), (qy + ty) % r, (qx + tx) % r, (qy + ty) / r, (qx + tx) / r})
              .copy_(w.index({Slice(), Slice(), ty, tx}));
  weight_ = big.view({outputs * r * r, inputs * r * r, taps, taps}).to(weight.device());
  if (bias.defined()) bias_ = bias.to(torch::kFloat32).repeat_interleave(r * r);
  // By 4, channel (c, phase) is lane `phase` of block c in oneDNN's blocked layout, so the
  // depth map can be written in it directly and convolved by Winograd.
  if (r == 4 && taps == 3 && winograd::Conv3x3::suits(weight_) && winograd::available())
    winograd_.emplace(weight_, bias_.defined() ? bias_ : torch::zeros({outputs * r * r}), /*padding=*/0);
}

torch::Tensor SpaceToDepthConv::in_depth(const torch::Tensor& x, int64_t depth) const {
  const int64_t r = factor_;
  if (depth < 1 || r % depth) throw Error("internal: a space-to-depth convolution's output by " + std::to_string(depth));
  if (x.size(2) % r || x.size(3) % r)
    throw Error("internal: a space-to-depth convolution needs sides that are multiples of " + std::to_string(r));
  const int64_t n = x.size(0), h = x.size(2) / r, w = x.size(3) / r, k = weight_.size(0) / (r * r);
  torch::Tensor phases;  // [N, K, h, w, r, r]: output pixel (r*i + row phase, r*j + column phase)
  if (by_winograd(x)) {
    phases = (*winograd_)(padded_space_to_depth(x, padding_, r, torch::kFloat32, /*blocked=*/true)).view({n, k, h, w, r, r});
  } else {
    const auto y = torch::conv2d(padded_space_to_depth(x, padding_, r, convolution_dtype(x)), weight_, bias_);
    if (depth == r) return y;
    phases = y.view({n, k, r, r, h, w}).permute({0, 1, 4, 5, 2, 3});
  }
  // Phase a*depth + p by r is coarse phase a and fine phase p by `depth`.
  const int64_t s = r / depth;
  return phases.reshape({n, k, h, w, s, depth, s, depth})
      .permute({0, 1, 5, 7, 2, 4, 3, 6})
      .reshape({n, k * depth * depth, h * s, w * s});
}

DepthStride2Conv3x3::DepthStride2Conv3x3(const torch::Tensor& weight, const torch::Tensor& bias) : bias_(bias) {
  if (weight.dim() != 4 || weight.size(2) != 3 || weight.size(3) != 3)
    throw Error("internal: a strided convolution of a depth map takes 3x3 weights");
  const int64_t outputs = weight.size(0), inputs = weight.size(1);
  // Tap t of the 3x3 kernel reads depth row (t == 0 ? i-1 : i), phase (t == 1 ? even : odd).
  const int64_t row[3] = {0, 1, 1}, phase[3] = {1, 0, 1};
  const auto w = weight.to(torch::kCPU, torch::kFloat32).contiguous();
  auto depth = torch::zeros({outputs, inputs, 2, 2, 2, 2});  // [K, C, row phase, column phase, dy, dx]
  for (int64_t ty = 0; ty < 3; ++ty)
    for (int64_t tx = 0; tx < 3; ++tx)
      depth.index({Slice(), Slice(), phase[ty], phase[tx], row[ty], row[tx]}).copy_(w.index({Slice(), Slice(), ty, tx}));
  weight_ = depth.view({outputs, inputs * 4, 2, 2}).to(weight.device());
}

torch::Tensor DepthStride2Conv3x3::operator()(const torch::Tensor& depth, bool relu_first) const {
  const int64_t h = depth.size(2), w = depth.size(3);
  // One row above and one column left, copies of the first (only their odd phases are read).
  auto padded = torch::empty({depth.size(0), depth.size(1), h + 1, w + 1}, depth.options().dtype(convolution_dtype(depth)));
  auto inner = padded.index({Slice(), Slice(), Slice(1, h + 1), Slice(1, w + 1)});
  if (relu_first)
    torch::clamp_min_out(inner, depth, 0);
  else
    inner.copy_(depth);
  padded.index({Slice(), Slice(), 0, Slice(1, w + 1)}).copy_(inner.index({Slice(), Slice(), 0}));
  padded.index({Slice(), Slice(), Slice(), 0}).copy_(padded.index({Slice(), Slice(), Slice(), 1}));
  return torch::conv2d(padded, weight_, bias_);
}

torch::Tensor padded_space_to_depth(const torch::Tensor& x, int64_t padding, int64_t factor, torch::ScalarType dtype,
                                    bool blocked) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), r = factor, p = padding;
  if (p >= h || p >= w || (h + 2 * p) % r || (w + 2 * p) % r || (blocked && (r != 4 || !x.is_cpu())))
    throw Error("internal: padded space-to-depth of a picture too small or of the wrong size");
  if (!x.is_cpu()) return torch::pixel_unshuffle(reflection_pad(x, p, dtype), r);
  const auto in = x.to(dtype).contiguous();
  const int64_t out_h = (h + 2 * p) / r, out_w = (w + 2 * p) / r;
  auto out = blocked ? torch::empty({n, c, out_h, out_w, r * r}, in.options())
                     : torch::empty({n, c * r * r, out_h, out_w}, in.options());
  // The source row (column) of each output row (column), phase by phase: padding reflected.
  auto sources = [&](int64_t out_side, int64_t side) {
    std::vector<int64_t> source(r * out_side);
    for (int64_t phase = 0; phase < r; ++phase)
      for (int64_t i = 0; i < out_side; ++i) {
        const int64_t at = std::abs(i * r + phase - p);
        source[phase * out_side + i] = at < side ? at : 2 * (side - 1) - at;
      }
    return source;
  };
  const auto rows = sources(out_h, h), cols = sources(out_w, w);
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, in.scalar_type(), "padded_space_to_depth", [&] {
    const scalar_t* src = in.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    if (blocked) {  // output row `row` is row i of (picture, channel), its 16 phases side by side
      at::parallel_for(0, n * c * out_h, 4, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
          const int64_t i = row % out_h;
          scalar_t* to = dst + row * out_w * r * r;
          for (int64_t row_phase = 0; row_phase < r; ++row_phase) {
            const scalar_t* line = src + (row / out_h * h + rows[row_phase * out_h + i]) * w;
            for (int64_t column_phase = 0; column_phase < r; ++column_phase) {
              const int64_t* from = cols.data() + column_phase * out_w;
              const int64_t lane = row_phase * r + column_phase;
              for (int64_t j = 0; j < out_w; ++j) to[j * r * r + lane] = line[from[j]];
            }
          }
        }
      });
      return;
    }
    // Output row `row` is row i of plane (picture and channel, row phase, column phase).
    at::parallel_for(0, n * c * r * r * out_h, 16, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t i = row % out_h, plane = row / out_h, column_phase = plane % r, row_phase = plane / r % r;
        const scalar_t* line = src + (plane / (r * r) * h + rows[row_phase * out_h + i]) * w;
        const int64_t* from = cols.data() + column_phase * out_w;
        scalar_t* to = dst + row * out_w;
        for (int64_t j = 0; j < out_w; ++j) to[j] = line[from[j]];
      }
    });
  });
  return out;
}

}  // namespace atelier
