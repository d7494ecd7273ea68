#include "stylize/gatys.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <set>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "losses/losses.hpp"
#include "stylize/gatys_pyramid.hpp"
#include "stylize/gatys_tiles.hpp"
#include "torch/tensor_image.hpp"

namespace atelier {
namespace {

// The longest side of any picture the optimisation works on.
constexpr int kMaxGatysSide = 16384;
// L-BFGS correction pairs: each is two copies of the picture.
constexpr int kMaxGatysHistory = 1000;

// Thrown from inside the optimiser's closure to stop at a NaN/inf loss.
struct NonFiniteLoss {
  int iteration;
};

cv::Size fit_longest_side(const cv::Size& size, double longest) {
  const double scale = longest / std::max(size.width, size.height);
  return {std::max(1, static_cast<int>(std::lround(size.width * scale))),
          std::max(1, static_cast<int>(std::lround(size.height * scale)))};
}

std::vector<std::string> all_layers(const GatysOptions& options) {
  std::set<std::string> unique(options.content_layers.begin(), options.content_layers.end());
  unique.insert(options.style_layers.begin(), options.style_layers.end());
  return {unique.begin(), unique.end()};
}

std::vector<double> normalised_blend(const GatysOptions& options, size_t style_count) {
  std::vector<double> blend = options.style_blend;
  if (blend.empty()) blend.assign(style_count, 1.0);
  if (blend.size() != style_count) {
    throw Error("--style-blend has " + std::to_string(blend.size()) + " weights for " +
                std::to_string(style_count) + " style images");
  }
  double sum = 0;
  for (double weight : blend) {
    if (!(weight >= 0) || !std::isfinite(weight)) throw Error("--style-blend weights must be finite and >= 0");
    sum += weight;
  }
  if (sum <= 0) throw Error("--style-blend weights must not all be zero");
  for (double& weight : blend) weight /= sum;
  return blend;
}

torch::Tensor initial_image(const cv::Mat& content, const GatysOptions& options, const torch::Device& device) {
  switch (options.init) {
    case GatysOptions::Init::Content:
      return image_to_tensor(content, device);
    case GatysOptions::Init::Noise: {
      torch::manual_seed(options.seed);
      return torch::rand({1, 3, content.rows, content.cols}).to(device);
    }
    case GatysOptions::Init::Image:
      if (options.init_image.empty()) throw Error("--init image needs an initial image");
      return image_to_tensor(resize_plane(options.init_image, content.size()), device);
  }
  throw Error("internal: unknown init");
}

void check_options(const VggFeatures& network, const std::vector<cv::Mat>& styles, const GatysOptions& options) {
  if (styles.empty()) throw Error("at least one style image is needed");
  for (const auto& layer : all_layers(options)) network.check_layer(layer);
  if (options.iterations < 1) throw Error("--iterations must be at least 1");
  if (options.coarse_iterations < 0) throw Error("--coarse-iterations must be 0 or more");
  if (options.pyramid < 0 || options.pyramid > kGatysMaxPyramidLevels)
    throw Error("--pyramid must be 0.." + std::to_string(kGatysMaxPyramidLevels));
  if (options.history < 1 || options.history > kMaxGatysHistory) throw Error("--history must be 1.." + std::to_string(kMaxGatysHistory));
  if (!(options.style_scale > 0)) throw Error("--style-scale must be positive");
  if (!options.style_masks.empty() && options.style_masks.size() != styles.size())
    throw Error(std::to_string(options.style_masks.size()) + " style masks for " + std::to_string(styles.size()) +
                " style images");
  for (const auto& mask : options.style_masks)
    if (mask.type() != CV_32FC1 || mask.empty()) throw Error("internal: style masks are CV_32FC1");
  if (!options.temporal_target.empty() && options.temporal_target.type() != CV_32FC3)
    throw Error("internal: the temporal target is CV_32FC3");
  if (!options.temporal_mask.empty() && options.temporal_mask.type() != CV_32FC1)
    throw Error("internal: the temporal mask is CV_32FC1");
  if (!(options.temporal_weight >= 0)) throw Error("--temporal-weight must be 0 or more");
  if (options.tile != 0 && (options.tile < 16 || options.tile > kMaxGatysSide))
    throw Error("--tile must be 16.." + std::to_string(kMaxGatysSide) + " pixels");
  if (options.max_memory < 0) throw Error("--max-memory must not be negative");
  for (int scale : options.scales)
    if (scale < 16 || scale > kMaxGatysSide) throw Error("--scales entries must be 16.." + std::to_string(kMaxGatysSide) + " pixels");
}

// The style images are resized to style_scale times each scale: refuse sizes
// no allocation could hold before trying.
void check_style_sizes(const std::vector<int>& scales, double style_scale) {
  for (int scale : scales)
    if (style_scale * scale > kMaxGatysSide)
      throw Error("--style-scale " + std::to_string(style_scale).substr(0, 6) + " makes the style images " +
                  std::to_string(static_cast<long long>(style_scale * scale)) + " px on their longest side (at most " +
                  std::to_string(kMaxGatysSide) + ")");
}

// Runs the optimiser over one scale, reporting progress and checkpoints, and
// stopping on a non-finite loss or a stop request (recorded in `result`).
class ScaleRunner {
 public:
  ScaleRunner(const GatysOptions& options, const GatysCallbacks& callbacks, GatysResult& result)
      : options_(options), callbacks_(callbacks), result_(result) {}

  // Optimises from `start` for the iterations left after progress.iteration,
  // with the optimiser's state from `resumed` when it holds one. Returns the
  // final image (the last finite one when the run stopped).
  // `steps` >= 0 runs that many instead, and the gradient is scaled by
  // `gradient_scale` (a tile of a scale in tiles: its share of the picture).
  torch::Tensor optimise(const GatysObjective& objective, const torch::Tensor& start, GatysProgress progress,
                         const GatysCheckpoint* resumed = nullptr, int steps = -1, double gradient_scale = 1.0) {
    const int remaining = steps >= 0 ? steps : progress.iterations - progress.iteration;
    const int levels = gatys_pyramid_levels(options_, start.size(2), start.size(3));
    auto parameter = pyramid_parameter(start.detach(), levels);
    // A checkpoint of another pyramid (or of before pyramids) resumes from its picture with a fresh optimiser.
    if (resumed && pyramid_levels_of(*resumed) != levels) resumed = nullptr;
    if (resumed && resumed->optimizer_tensors.count("parameter") &&
        static_cast<int64_t>(resumed->optimizer_tensors.at("parameter").values.size()) == parameter.numel())
      parameter = restored(resumed->optimizer_tensors.at("parameter"), start).reshape(parameter.sizes());
    parameter.requires_grad_(true);
    const auto picture = [&, height = start.size(2), width = start.size(3)] {
      return pyramid_picture(parameter, height, width, levels);
    };
    torch::Tensor last_good = picture().detach().clamp(0, 1);
    if (remaining <= 0) return last_good;
    auto optimizer = make_optimizer(parameter);
    if (resumed) restore_state(*optimizer, parameter, *resumed);

    auto closure = [&]() -> torch::Tensor {
      optimizer->zero_grad();
      // The loss is taken on the clamped image, which is what gets saved:
      // otherwise the optimiser matches statistics with out-of-range colours
      // that clamping at the end would lose. (Clamping the parameter in
      // place instead would corrupt L-BFGS's curvature history.)
      const torch::Tensor image = picture();
      GatysLoss terms = objective(image.clamp(0, 1));
      ++progress.iteration;
      const double total = terms.total.item<double>();
      if (!std::isfinite(total)) throw NonFiniteLoss{progress.iteration};
      const torch::Tensor minimised = gradient_scale == 1.0 ? terms.total : terms.total * gradient_scale;
      minimised.backward();
      last_good = image.detach().clamp(0, 1);
      record(progress, terms, total);
      report(progress, last_good);
      return minimised;
    };

    // One optimiser step is one iteration (one loss evaluation, for L-BFGS
    // too), so that between steps the optimiser's whole state is at hand for
    // a checkpoint that resumes exactly.
    const auto due = [&](int every) { return every > 0 && progress.iteration % every == 0; };
    try {
      for (int i = 0; i < remaining; ++i) {
        optimizer->step(closure);
        if (levels > 1) limit_step(*optimizer, parameter, start.size(2), start.size(3), levels);
        if (callbacks_.stop_requested && callbacks_.stop_requested()) throw StopRequested{};
        if (callbacks_.on_checkpoint && due(callbacks_.checkpoint_every) && progress.iteration < progress.iterations)
          callbacks_.on_checkpoint(checkpoint(progress, parameter, levels, picture(), *optimizer));
      }
    } catch (const NonFiniteLoss& stop) {
      result_.rgb = tensor_to_image(last_good);
      result_.finite = false;
      result_.message = "loss became NaN or infinite at iteration " + std::to_string(stop.iteration) +
                        " of scale " + std::to_string(progress.scale_index + 1) +
                        "; kept the last image with a finite loss";
      return last_good;
    } catch (const StopRequested&) {
      result_.rgb = tensor_to_image(last_good);
      result_.stopped = true;
      result_.message = "stopped at iteration " + std::to_string(progress.iteration) + " of scale " +
                        std::to_string(progress.scale_index + 1);
      if (callbacks_.on_checkpoint) callbacks_.on_checkpoint(checkpoint(progress, parameter, levels, picture(), *optimizer));
      return last_good;
    }
    // The optimiser's last step lands on an image it never evaluated; keep
    // it only if it is finite.
    const torch::Tensor image = picture().detach();
    return torch::isfinite(image).all().item<bool>() ? image.clamp(0, 1) : last_good;
  }

 private:
  struct StopRequested {};

  // L-BFGS's second step takes its scale from a first step too small to
  // measure the curvature; on a pyramid its broad moves can then throw most of
  // the picture out of [0,1], where the clamp leaves no gradient to come back
  // by (a 128 px run stuck at a loss 10^4 times the start's). A step that
  // moves the picture by more than kGatysPyramidStepLimit on average is
  // shortened to it, and L-BFGS is told the length it really took. Pixels keep
  // neural-style's steps exactly.
  void limit_step(torch::optim::Optimizer& optimizer, torch::Tensor& parameter, std::int64_t height,
                  std::int64_t width, int levels) const {
    if (options_.optimizer != GatysOptions::Optimizer::LBFGS) return;
    const auto found = optimizer.state().find(c10::guts::to_string(parameter.unsafeGetTensorImpl()));
    if (found == optimizer.state().end()) return;
    auto& state = static_cast<torch::optim::LBFGSParamState&>(*found->second);
    if (!state.d().defined()) return;
    torch::NoGradGuard no_grad;
    const double t = state.t();
    const double moved = t * pyramid_picture(state.d(), height, width, levels).abs().mean().item<double>();
    if (!(moved > kGatysPyramidStepLimit)) return;
    const double shortened = t * kGatysPyramidStepLimit / moved;
    parameter.add_(state.d(), shortened - t);
    state.t(shortened);
  }

  // The levels a checkpoint's parameter holds: 1 before pyramids, 0 (matching none) when unreadable.
  static int pyramid_levels_of(const GatysCheckpoint& checkpoint) {
    const auto found = checkpoint.optimizer_values.find("pyramid_levels");
    if (found == checkpoint.optimizer_values.end()) return 1;
    char* end = nullptr;
    const long levels = std::strtol(found->second.c_str(), &end, 10);
    return end != found->second.c_str() && *end == '\0' && levels >= 1 && levels <= kGatysMaxPyramidLevels ? static_cast<int>(levels) : 0;
  }

  std::unique_ptr<torch::optim::Optimizer> make_optimizer(const torch::Tensor& image) const {
    if (options_.optimizer == GatysOptions::Optimizer::Adam)
      return std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{image},
                                                  torch::optim::AdamOptions(options_.learning_rate));
    // No line search: one loss evaluation per iteration, as in neural-style;
    // tolerances off so it runs the iterations asked for. A step of one
    // iteration continues from the state the last step left (its history),
    // so N such steps are one step of N iterations.
    return std::make_unique<torch::optim::LBFGS>(std::vector<torch::Tensor>{image}, torch::optim::LBFGSOptions(1.0)
                                                                                     .max_iter(1)
                                                                                     .max_eval(1)
                                                                                     .history_size(options_.history)
                                                                                     .tolerance_grad(-1)
                                                                                     .tolerance_change(-1));
  }

  static TensorToWrite saved(const torch::Tensor& tensor) {
    const auto values = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    return {DType::F32, values.sizes().vec(),
            std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel())};
  }

  static torch::Tensor restored(const TensorToWrite& tensor, const torch::Tensor& like) {
    auto values = torch::tensor(tensor.values, torch::kFloat32).reshape(tensor.shape);
    return values.to(like.device());
  }

  static std::string exact(double value) {
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
  }

  // The picture, the parameter it is made of and the optimiser's state after `progress.iteration` steps.
  GatysCheckpoint checkpoint(const GatysProgress& progress, const torch::Tensor& parameter, int levels,
                             const torch::Tensor& picture, torch::optim::Optimizer& optimizer) const {
    GatysCheckpoint saved_state{progress.scale_index, progress.iteration, tensor_to_image(picture.detach().clamp(0, 1))};
    auto& tensors = saved_state.optimizer_tensors;
    auto& values = saved_state.optimizer_values;
    tensors["parameter"] = saved(parameter);
    values["pyramid_levels"] = std::to_string(levels);
    const auto found = optimizer.state().find(c10::guts::to_string(parameter.unsafeGetTensorImpl()));
    if (found == optimizer.state().end()) return saved_state;
    if (auto* lbfgs = dynamic_cast<torch::optim::LBFGSParamState*>(found->second.get())) {
      values["n_iter"] = std::to_string(lbfgs->n_iter());
      values["func_evals"] = std::to_string(lbfgs->func_evals());
      values["t"] = exact(lbfgs->t());
      values["prev_loss"] = exact(lbfgs->prev_loss());
      for (const auto& [name, tensor] : {std::pair<std::string, torch::Tensor>{"d", lbfgs->d()},
                                         {"H_diag", lbfgs->H_diag()},
                                         {"prev_flat_grad", lbfgs->prev_flat_grad()}})
        if (tensor.defined()) tensors[name] = saved(tensor);
      const auto save_list = [&](const std::string& name, const auto& list) {
        values[name + ".count"] = std::to_string(list.size());
        for (size_t i = 0; i < list.size(); ++i)
          if (list[i].defined()) tensors[name + "." + std::to_string(i)] = saved(list[i]);
      };
      save_list("old_dirs", lbfgs->old_dirs());
      save_list("old_stps", lbfgs->old_stps());
      save_list("ro", lbfgs->ro());
      if (lbfgs->al()) save_list("al", *lbfgs->al());
    } else if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(found->second.get())) {
      values["step"] = std::to_string(adam->step());
      tensors["exp_avg"] = saved(adam->exp_avg());
      tensors["exp_avg_sq"] = saved(adam->exp_avg_sq());
      if (adam->max_exp_avg_sq().defined()) tensors["max_exp_avg_sq"] = saved(adam->max_exp_avg_sq());
    }
    return saved_state;
  }

  // Puts the state a checkpoint holds back into a fresh optimiser of `image`.
  void restore_state(torch::optim::Optimizer& optimizer, const torch::Tensor& image,
                     const GatysCheckpoint& from) const {
    const auto& tensors = from.optimizer_tensors;
    const auto& values = from.optimizer_values;
    if (values.empty()) return;  // an older checkpoint: a fresh optimiser
    const auto number = [&](const std::string& name) {
      const auto found = values.find(name);
      if (found == values.end()) throw Error("checkpoint: optimiser value \"" + name + "\" is missing");
      return std::stod(found->second);
    };
    const auto tensor = [&](const std::string& name) {
      const auto found = tensors.find(name);
      return found == tensors.end() ? torch::Tensor() : restored(found->second, image);
    };
    const auto list = [&](const std::string& name) {
      std::vector<torch::Tensor> items(static_cast<size_t>(number(name + ".count")));
      for (size_t i = 0; i < items.size(); ++i) items[i] = tensor(name + "." + std::to_string(i));
      return items;
    };
    const std::string key = c10::guts::to_string(image.unsafeGetTensorImpl());
    if (options_.optimizer == GatysOptions::Optimizer::LBFGS) {
      auto state = std::make_unique<torch::optim::LBFGSParamState>();
      state->n_iter(static_cast<int64_t>(number("n_iter")));
      state->func_evals(static_cast<int64_t>(number("func_evals")));
      state->t(number("t"));
      state->prev_loss(number("prev_loss"));
      state->d(tensor("d"));
      state->H_diag(tensor("H_diag"));
      state->prev_flat_grad(tensor("prev_flat_grad"));
      const auto as_deque = [](const std::vector<torch::Tensor>& items) {
        return std::deque<torch::Tensor>(items.begin(), items.end());
      };
      state->old_dirs(as_deque(list("old_dirs")));
      state->old_stps(as_deque(list("old_stps")));
      state->ro(as_deque(list("ro")));
      if (values.count("al.count")) state->al(list("al"));
      optimizer.state()[key] = std::move(state);
    } else {
      auto state = std::make_unique<torch::optim::AdamParamState>();
      state->step(static_cast<int64_t>(number("step")));
      state->exp_avg(tensor("exp_avg"));
      state->exp_avg_sq(tensor("exp_avg_sq"));
      if (tensors.count("max_exp_avg_sq")) state->max_exp_avg_sq(tensor("max_exp_avg_sq"));
      optimizer.state()[key] = std::move(state);
    }
  }

  void record(GatysProgress& progress, const GatysLoss& terms, double total) {
    if (!have_first_loss_) result_.first_loss = total;
    have_first_loss_ = true;
    result_.final_loss = total;
    progress.total = total;
    progress.content = terms.content.item<double>();
    progress.style = terms.style.item<double>();
    progress.tv = terms.tv.item<double>();
    progress.temporal = terms.temporal.item<double>();
  }

  void report(const GatysProgress& progress, const torch::Tensor& image) const {
    if (callbacks_.on_progress) callbacks_.on_progress(progress);
    const auto due = [&](int every) { return every > 0 && progress.iteration % every == 0; };
    if (callbacks_.on_snapshot && due(callbacks_.snapshot_every))
      callbacks_.on_snapshot(tensor_to_image(image), progress);
  }

  const GatysOptions& options_;
  const GatysCallbacks& callbacks_;
  GatysResult& result_;
  bool have_first_loss_ = false;
};

}  // namespace

namespace {

// Adds one style's Gram matrices: its own with style masks, else into the blend.
void add_style(GatysStyleTargets& targets, std::map<std::string, torch::Tensor> grams, double weight, bool masked) {
  if (masked) {
    targets.per_style.push_back(std::move(grams));
    return;
  }
  for (const auto& [layer, gram] : grams) {
    auto weighted = gram * weight;
    auto [slot, inserted] = targets.blended.emplace(layer, weighted);
    if (!inserted) slot->second = slot->second + weighted;
  }
}

}  // namespace

GatysStyleTargets gatys_style_targets(const VggFeatures& network, const std::vector<cv::Mat>& styles,
                                      const std::vector<double>& blend, const GatysOptions& options, std::int64_t tile) {
  GatysStyleTargets targets;
  for (size_t i = 0; i < styles.size(); ++i)
    add_style(targets, gram_matrices_in_tiles(network, styles[i], options.style_layers, tile), blend.at(i),
              !options.style_masks.empty());
  return targets;
}

GatysObjective::GatysObjective(const VggFeatures& network, const torch::Tensor& content,
                               const std::vector<torch::Tensor>& styles, const std::vector<double>& blend,
                               const GatysOptions& options)
    : GatysObjective(network, content, [&] {
        torch::NoGradGuard no_grad;
        GatysStyleTargets targets;
        for (size_t i = 0; i < styles.size(); ++i) {
          const auto features = network.extract(styles[i], options.style_layers);
          std::map<std::string, torch::Tensor> grams;
          for (const auto& layer : options.style_layers) grams[layer] = gram_matrix(features.at(layer));
          add_style(targets, std::move(grams), blend.at(i), !options.style_masks.empty());
        }
        return targets;
      }(), options) {}

namespace {

// A weight map (CV_32FC1) or picture at the scale's size, cut to the window.
cv::Mat in_window(const cv::Mat& plane, const GatysWindow& window, cv::Size content_size) {
  if (window.rect.empty()) return resize_plane(plane, content_size);
  return resize_plane(plane, window.full)(window.rect).clone();
}

torch::Tensor plane_tensor(const cv::Mat& plane, const torch::Device& device) {
  return torch::from_blob(const_cast<float*>(plane.ptr<float>()), {1, 1, plane.rows, plane.cols}, torch::kFloat32)
      .clone()
      .to(device);
}

}  // namespace

GatysObjective::GatysObjective(const VggFeatures& network, const torch::Tensor& content,
                               const GatysStyleTargets& targets, const GatysOptions& options,
                               const GatysWindow& window)
    : network_(network),
      options_(options),
      layers_(all_layers(options)),
      style_targets_(targets.blended),
      region_targets_(targets.per_style) {
  torch::NoGradGuard no_grad;
  auto content_features = network.extract(content, options.content_layers);
  for (const auto& layer : options.content_layers) content_targets_[layer] = content_features.at(layer);
  const cv::Size size{static_cast<int>(content.size(3)), static_cast<int>(content.size(2))};
  for (const auto& mask : options.style_masks)
    region_masks_.push_back(plane_tensor(in_window(mask, window, size), content.device()));
  if (!options.temporal_target.empty()) {
    temporal_target_ = image_to_tensor(in_window(options.temporal_target, window, size), content.device());
    const cv::Mat mask = options.temporal_mask.empty() ? cv::Mat(size, CV_32FC1, cv::Scalar(1))
                                                       : in_window(options.temporal_mask, window, size);
    temporal_mask_ = plane_tensor(mask, content.device());
  }
  // The options' pictures are not needed past here; the tiles of a large scale each hold a copy of the options.
  options_.style_masks.clear();
  options_.temporal_target = cv::Mat();
  options_.temporal_mask = cv::Mat();
  options_.init_image = cv::Mat();
}

// Guided Gram matrices: each style's map, area-resized to a layer, weights
// its features; the Gram matrix over the map's own area is compared with the
// style's, and regions are averaged, so a small one counts as a large one.
torch::Tensor GatysObjective::region_style_loss(const std::map<std::string, torch::Tensor>& features,
                                                const torch::Tensor& image) const {
  auto total = torch::zeros({}, image.options());
  int counted = 0;
  for (size_t i = 0; i < region_masks_.size(); ++i) {
    auto region = torch::zeros({}, image.options());
    for (const auto& [layer, target] : region_targets_[i]) {
      const auto& f = features.at(layer);
      const auto mask = torch::nn::functional::interpolate(
          region_masks_[i], torch::nn::functional::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{f.size(2), f.size(3)})
                                .mode(torch::kArea));
      const double area = mask.square().mean().item<double>();
      if (area < 1e-6) continue;  // this region is empty at this layer
      const auto gram = gram_matrix((f * mask.to(f.scalar_type())).to(image.scalar_type())) / area;
      region = region + style_loss(gram, target);
    }
    if (region_masks_[i].max().item<float>() <= 0.0f) continue;  // no pixel of this style's region
    total = total + region;
    ++counted;
  }
  return counted > 0 ? total / counted : total;
}

GatysLoss GatysObjective::operator()(const torch::Tensor& image) const {
  std::map<std::string, torch::Tensor> features, grams;
  {
    AutocastScope autocast(options_.precision, image.device());
    features = network_.extract(image, layers_);
    for (const auto& [layer, target] : style_targets_) grams[layer] = gram_matrix(features.at(layer));
  }
  // Differences and means in the image's precision (fp32), whatever the above ran in.
  const auto as_image_type = [&](const torch::Tensor& tensor) { return tensor.to(image.scalar_type()); };
  auto content = torch::zeros({}, image.options());
  for (const auto& [layer, target] : content_targets_)
    content = content + content_loss(as_image_type(features.at(layer)), target);
  auto style = torch::zeros({}, image.options());
  for (const auto& [layer, target] : style_targets_) style = style + style_loss(as_image_type(grams.at(layer)), target);
  if (!region_masks_.empty()) style = region_style_loss(features, image);
  // Layer terms are averaged so that weights do not depend on layer counts.
  GatysLoss loss;
  loss.content = content * (options_.content_weight / std::max<size_t>(1, content_targets_.size()));
  loss.style = style * (options_.style_weight / std::max<size_t>(1, options_.style_layers.size()));
  loss.tv = total_variation_loss(image) * options_.tv_weight;
  loss.temporal = torch::zeros({}, image.options());
  if (temporal_target_.defined())  // the mask broadcasts over channels; the mean counts all three
    loss.temporal = (temporal_mask_ * (image - temporal_target_).square()).mean() * options_.temporal_weight;
  loss.total = loss.content + loss.style + loss.tv + loss.temporal;
  return loss;
}

std::vector<std::string> default_content_layers(const VggFeatures& network) {
  for (const char* layer : {"relu4_2", "relu3_2", "relu2_2", "relu1_2"})
    if (network.has_layer(layer)) return {layer};
  return {network.layers().back()};
}

std::vector<std::string> default_style_layers(const VggFeatures& network) {
  std::vector<std::string> layers;
  for (const char* layer : {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"})
    if (network.has_layer(layer)) layers.push_back(layer);
  return layers;
}

namespace {

// One scale in tiles, in raster order, each from the picture as the tiles
// before it left it; each tile's change is laid back with weights that sum to
// 1 over the tiles (cross-fades between neighbours), so every pixel changes
// by one tile's worth, continuing its neighbours'. Progress counts iterations over all tiles; a stop or a
// checkpoint falls between tiles (each tile's optimiser starts afresh), so
// a resumed run skips the tiles done and takes the same steps.
torch::Tensor optimise_in_tiles(const VggFeatures& network, const cv::Mat& content, const GatysStyleTargets& targets,
                                const GatysOptions& options, const GatysCallbacks& callbacks, GatysResult& result,
                                const torch::Tensor& start, GatysProgress progress, std::int64_t tile) {
  const auto tiles = gatys_tiles(content.size(), tile);
  const int fade = gatys_tile_fade(tiles);
  const int per_tile = gatys_iterations_at(options, progress.scale_index, progress.scale_count);
  progress.tiles = static_cast<int>(tiles.size());
  progress.tile_side = static_cast<int>(tile);
  progress.iterations = per_tile * progress.tiles;
  const int first = std::min(progress.iteration / per_tile, progress.tiles);
  torch::Tensor picture = start.detach();  // laid into in place: at print sizes a copy is half a gigabyte
  // Within a tile: progress and stop requests; checkpoints and snapshots are the whole picture's, between tiles.
  GatysCallbacks within;
  within.on_progress = callbacks.on_progress;
  within.stop_requested = callbacks.stop_requested;
  ScaleRunner runner{options, within, result};
  const auto whole = [&] { return tensor_to_image(picture); };
  for (int t = first; t < progress.tiles; ++t) {
    return_free_memory();  // what the tile before left: the next working set has another shape
    const GatysTile& part = tiles[t];
    const GatysObjective objective(network, image_to_tensor(content(part.outer), network.device()), targets, options,
                                   GatysWindow{content.size(), part.outer});
    progress.tile = t;
    progress.iteration = t * per_tile;
    const auto own = picture.index({torch::indexing::Slice(), torch::indexing::Slice(),
                                    torch::indexing::Slice(part.outer.y, part.outer.br().y),
                                    torch::indexing::Slice(part.outer.x, part.outer.br().x)});
    // A tile's losses are means over the tile, so per pixel its gradient is (picture / tile) times the whole
    // picture's; L-BFGS's first step follows the gradient's size: scaled to the picture's, tiles take the step
    // one pass would, and neighbours do not drift apart before the blend.
    const double share = double(part.outer.area()) / double(content.size().area());
    const torch::Tensor optimised = runner.optimise(objective, own, progress, nullptr, per_tile, share);
    progress.iteration = (t + 1) * per_tile;
    if (result.stopped) {  // the unfinished tile is dropped: the checkpoint is at its start
      progress.iteration = t * per_tile;
      if (callbacks.on_checkpoint) callbacks.on_checkpoint({progress.scale_index, progress.iteration, whole(), {}, {}});
      result.rgb = whole();
      return picture;
    }
    blend_tile(picture, optimised, part, gatys_tile_weight(part, content.size(), fade));
    if (!result.finite) {
      result.rgb = whole();
      return picture;
    }
    // Due when this tile's iterations passed a multiple of the interval.
    const auto due = [&](int every) { return every > 0 && t * per_tile / every != (t + 1) * per_tile / every; };
    if (callbacks.on_snapshot && due(callbacks.snapshot_every)) callbacks.on_snapshot(whole(), progress);
    if (callbacks.on_checkpoint && due(callbacks.checkpoint_every) && t + 1 < progress.tiles)
      callbacks.on_checkpoint({progress.scale_index, progress.iteration, whole(), {}, {}});
  }
  return picture;
}

}  // namespace

GatysResult stylize_gatys(const VggFeatures& network, const cv::Mat& content, const std::vector<cv::Mat>& styles,
                          const GatysOptions& requested, const GatysCallbacks& callbacks) {
  GatysOptions options = requested;
  if (options.content_layers.empty()) options.content_layers = default_content_layers(network);
  if (options.style_layers.empty()) options.style_layers = default_style_layers(network);
  check_options(network, styles, options);
  const auto blend = normalised_blend(options, styles.size());
  std::vector<int> scales = options.scales;
  if (scales.empty()) scales.push_back(std::max(content.cols, content.rows));
  check_style_sizes(scales, options.style_scale);
  const int first_scale = options.resume_from ? options.resume_from->scale_index : 0;
  if (first_scale < 0 || first_scale >= static_cast<int>(scales.size()))
    throw Error("checkpoint is for scale " + std::to_string(first_scale + 1) + " of a run with other --scales");

  GatysResult result;
  ScaleRunner runner{options, callbacks, result};
  torch::Tensor image;  // the current image, [1,3,H,W]
  for (int scale_index = first_scale; scale_index < static_cast<int>(scales.size()); ++scale_index) {
    const cv::Size size = fit_longest_side(content.size(), scales[scale_index]);
    const cv::Mat content_scaled = resize_plane(content, size);
    const std::int64_t tile = gatys_tile_side(size, options);
    std::vector<cv::Mat> style_pictures;
    for (const auto& style : styles)
      style_pictures.push_back(resize_plane(style, fit_longest_side(style.size(), options.style_scale * scales[scale_index])));
    const GatysStyleTargets targets = gatys_style_targets(network, style_pictures, blend, options, tile);
    style_pictures.clear();

    GatysProgress progress;
    progress.scale_index = scale_index;
    progress.scale_count = static_cast<int>(scales.size());
    progress.width = size.width;
    progress.height = size.height;
    progress.iterations = gatys_iterations_at(options, scale_index, progress.scale_count);
    torch::Tensor start;
    if (options.resume_from && scale_index == first_scale) {
      start = image_to_tensor(resize_plane(options.resume_from->rgb, size), network.device());
      progress.iteration = options.resume_from->iteration;
    } else if (image.defined()) {
      start = torch::nn::functional::interpolate(image, torch::nn::functional::InterpolateFuncOptions()
                                                            .size(std::vector<int64_t>{size.height, size.width})
                                                            .mode(torch::kBicubic)
                                                            .align_corners(false));
    } else {
      start = initial_image(content_scaled, options, network.device());
    }
    image = torch::Tensor();  // the coarser scale's picture is in `start` now
    const bool resuming = options.resume_from && scale_index == first_scale;
    if (tile > 0) {
      image = optimise_in_tiles(network, content_scaled, targets, options, callbacks, result, start, progress, tile);
    } else {
      const GatysObjective objective(network, image_to_tensor(content_scaled, network.device()), targets, options);
      image = runner.optimise(objective, start, progress, resuming ? &*options.resume_from : nullptr);
    }
    if (!result.finite || result.stopped) return result;
  }
  result.rgb = tensor_to_image(image);
  return result;
}

}  // namespace atelier
