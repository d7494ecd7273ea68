#include "atelier/studio_painter.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/gatys_checkpoint.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_names.hpp"
#include "atelier/regions.hpp"
#include "atelier/runtime.hpp"
#include "atelier/tiling.hpp"

namespace atelier::studio {
namespace {

namespace fs = std::filesystem;

bool is_feature_network(const std::string& architecture) {
  return architecture.rfind("vgg", 0) == 0 || architecture.rfind("resnet", 0) == 0;
}

// Gatys peak memory per pixel of the image being optimised (VGG19
// activations and their gradients, L-BFGS history), from bench_gatys:
// 512x384 peaks at 1076 MiB in fp32 and 746 MiB in bf16, of which ~250 MiB
// is the process and the weights; plus 0.8 KB for the default pyramid's
// longer history (fp32 in both: 100 pairs x 2 x 3 x 4 bytes x 1/3).
constexpr std::int64_t kGatysBytesPerPixelF32 = 6 << 10;
constexpr std::int64_t kGatysBytesPerPixelBF16 = 4 << 10;
// Guided Gram matrices keep, per region, each style layer's features times
// the region's mask for the backward pass: VGG19's relu1_1..relu5_1 hold
// 122 values a pixel (64 + 128/4 + 256/16 + 512/64 + 512/256), 488 bytes in
// fp32, and their gradients as many again.
constexpr std::int64_t kGatysBytesPerRegionPixel = 1 << 10;
// Decoding an upload at its own size: 8-bit samples, then float RGB.
constexpr std::int64_t kDecodeBytesPerPixel = 4 + 12;

// The size of a width x height picture whose longest side becomes `longest`.
cv::Size scaled_size(int width, int height, int longest) {
  const double scale = static_cast<double>(longest) / std::max(width, height);
  return {std::max(1, static_cast<int>(std::lround(width * scale))),
          std::max(1, static_cast<int>(std::lround(height * scale)))};
}

// Changes when a style's weights file does (replaced, retrained): part of
// the previews' cache keys.
std::string file_version(const ModelStore::Entry& entry) {
  std::error_code error;
  const auto modified = fs::last_write_time(entry.path, error).time_since_epoch().count();
  return sha256_hex(entry.path + "\n" + std::to_string(entry.bytes) + "\n" + std::to_string(modified)).substr(0, 16);
}

// The styles a masked job places, one per region (or per painting, or its
// model, for a grey mask): an upload's index, or -1 and a model's name.
std::vector<std::pair<int, std::string>> placed_styles(const JobRecord& job, const JobSettings& settings) {
  std::vector<std::pair<int, std::string>> places;
  for (const auto& region : settings.regions) places.emplace_back(region.style, region.model);
  if (!places.empty()) return places;
  if (job.method == "fast") return {{-1, settings.model}};
  for (int i = 0; i < settings.styles; ++i) places.emplace_back(i, "");
  return places;
}

std::size_t distinct_styles(const std::vector<std::pair<int, std::string>>& places) {
  return std::set<std::pair<int, std::string>>(places.begin(), places.end()).size();
}

// Memory to decode a job's uploads at their own size, before any resize,
// and, with a mask, to keep each style's whole painting (once per style,
// however many regions take it), the composite (float RGB at the result's
// size) and each region's weights (two float planes) beside the pass.
std::int64_t decode_bytes(const JobRecord& job, const JobSettings& settings) {
  const std::int64_t content_pixels = std::int64_t{settings.content_width} * settings.content_height;
  std::int64_t bytes = kDecodeBytesPerPixel * (content_pixels + settings.style_pixels);
  if (settings.mask) {
    const std::int64_t result_pixels =
        scaled_size(settings.content_width, settings.content_height, settings.size).area();
    const auto places = placed_styles(job, settings);
    bytes += kDecodeBytesPerPixel * settings.mask_pixels +
             12 * result_pixels * (static_cast<std::int64_t>(distinct_styles(places)) + 3) +
             8 * result_pixels * static_cast<std::int64_t>(places.size());
  }
  return bytes;
}

// Peak memory of AdaIN encoding a job's paintings (one at a time, each shrunk to
// kAdainStyleSize on its shorter side): bounded by a 4:1 painting's, or all of
// the uploads' pixels when fewer, through the whole pass's costs (which count
// the decoder too: an over-estimate).
std::int64_t adain_style_encoding_bytes(std::int64_t style_pixels) {
  const std::int64_t side = kAdainStyleSize;
  const std::int64_t pixels = std::min(style_pixels, 4 * side * side);
  if (pixels <= 0) return 0;
  return plan_adain_tiling(side, (pixels + side - 1) / side, "relu4_1", 0).estimated_bytes;
}

FinishOptions finish_options(const JobRecord& job, const JobSettings& settings) {
  FinishOptions finishing;
  // An optimisation's strength is its style weight; Magenta's moves the style vector, AdaIN's the features.
  if (job.method == "fast") finishing.strength = settings.strength;
  finishing.original_colors = settings.keep_colors;
  return finishing;
}

// A one-pass job's end: finished, saved and shown, unless cancelled meanwhile.
PaintOutcome save_one_pass(const JobRun& run, const JobSettings& settings, const cv::Mat& rgb, const Image& content,
                           int& width, int& height) {
  if (run.cancel_requested()) return PaintOutcome::Stopped;  // one pass cannot stop midway: drop its result
  const Image finished = finish(rgb, content, {}, finish_options(run.job, settings));
  save_image(finished, run.dir + "/result.png");
  run.preview(finished.rgb);
  run.report(1, 1, nlohmann::json::object());
  width = rgb.cols;
  height = rgb.rows;
  return PaintOutcome::Done;
}

// The weights of a job's mask (grey, or its regions' colours) at `size`,
// as the CLI reads masks; what they say (a region no pixel has, a mask
// stretched to another shape) goes to the job's warnings.
RegionWeights job_mask_weights(const JobRun& run, const JobSettings& settings, cv::Size size, int styles) {
  std::vector<cv::Vec3b> colours;
  for (const auto& region : settings.regions) colours.push_back(parse_region(region.color + "=style").colour);
  const cv::Mat mask = load_image(run.dir + "/mask", LoadOptions{0}).rgb;
  RegionWeights weights = mask_weights(mask, size, colours, styles, settings.feather);
  for (const auto& notice : weights.notices)
    if (run.warn) run.warn(notice);
  return weights;
}

}  // namespace

struct StudioPainter::Installed {
  std::map<std::string, ModelStore::Entry> styles, feature_networks;
};

StudioPainter::StudioPainter(PainterOptions options) : options_(std::move(options)), store_(options_.models_dir) {}
StudioPainter::~StudioPainter() = default;

StudioPainter::Installed StudioPainter::installed() const {
  Installed installed;
  for (const auto& entry : store_.list()) {
    if (!entry.problem.empty()) continue;
    if (is_fast_style_architecture(entry.architecture)) installed.styles[entry.name] = entry;
    if (is_feature_network(entry.architecture)) installed.feature_networks[entry.name] = entry;
  }
  return installed;
}

nlohmann::json StudioPainter::models() const {
  const Installed found = installed();
  nlohmann::json styles = nlohmann::json::array(), networks = nlohmann::json::array();
  for (const auto& [name, entry] : found.styles)
    styles.push_back({{"name", name},
                      {"display_name", entry.display_name},
                      {"title", entry.title},
                      {"artist", entry.artist},
                      {"family", entry.family},
                      {"family_name", family_name(entry.family)},
                      {"architecture", entry.architecture},
                      {"version", file_version(entry)},
                      {"thumbnail_url", "/api/v1/models/" + name + "/thumbnail"}});
  for (const auto& [name, entry] : found.feature_networks)
    networks.push_back({{"name", name}, {"architecture", entry.architecture}});
  bool gatys_available = true;
  try {
    store_.resolve(options_.gatys_weights);
  } catch (const Error&) {
    gatys_available = false;
  }
  std::string magenta_missing, adain_missing;
  try {
    magenta_paths();
  } catch (const Error& error) {
    magenta_missing = first_line(error.what());
  }
  try {
    adain_paths();
  } catch (const Error& error) {
    adain_missing = first_line(error.what());
  }
  return {{"styles", styles},
          {"feature_networks", networks},
          {"gatys_weights", options_.gatys_weights},
          {"gatys_available", gatys_available},
          {"magenta_available", magenta_missing.empty()},
          {"magenta_missing", magenta_missing},
          {"adain_available", adain_missing.empty()},
          {"adain_missing", adain_missing},
          {"defaults", {{"gatys_size", JobSettings::kGatysSize}, {"gatys_iterations", JobSettings::kGatysIterations}}}};
}

ModelStore::Entry StudioPainter::installed_style(const std::string& model) const {
  const Installed found = installed();
  const auto exact = found.styles.find(model);
  if (exact != found.styles.end()) return exact->second;
  // A short name resolves as on the command line; a file path is not a name.
  const bool looks_like_path = model.empty() || model.front() == '/' || model.find("..") != std::string::npos ||
                               fs::path(model).extension() == ".safetensors";
  if (!looks_like_path) {
    try {
      const std::string path = store_.resolve(model);
      for (const auto& [name, entry] : found.styles) {
        std::error_code error;
        if (fs::equivalent(entry.path, path, error)) return entry;
      }
    } catch (const Error&) {
      // not found or ambiguous: refused below like any unknown name
    }
  }
  throw Error("model: no installed style \"" + model + "\" (see GET /api/v1/models)");
}

std::pair<std::string, std::string> StudioPainter::magenta_paths() const {
  std::vector<std::string> missing;
  std::string paths[2];
  const char* names[] = {kMagentaPredictorName, kMagentaTransferName};
  for (int i = 0; i < 2; ++i) {
    try {
      paths[i] = store_.resolve(names[i]);
    } catch (const Error&) {
      missing.push_back(names[i]);
    }
  }
  if (!missing.empty())
    throw Error("magenta: the Magenta weights are not installed (" + missing.front() +
                (missing.size() > 1 ? " and " + missing.back() : "") +
                " not found): run `atelier models fetch magenta`, or `atelier models import` the two .tflite files");
  return {paths[0], paths[1]};
}

std::pair<std::string, std::string> StudioPainter::adain_paths() const {
  std::vector<std::string> missing;
  std::string paths[2];
  const std::string names[] = {options_.adain_encoder, options_.adain_decoder};
  for (int i = 0; i < 2; ++i) {
    try {
      paths[i] = store_.resolve(names[i]);
    } catch (const Error&) {
      missing.push_back(names[i]);
    }
  }
  const std::string dir = store_.install_dir();
  if (!missing.empty())
    throw Error("adain: the AdaIN networks are not installed (" + missing.front() +
                (missing.size() > 1 ? " and " + missing.back() : "") +
                " not found): import naoto0804/pytorch-AdaIN's with `atelier models import vgg_normalised.pth -o " +
                dir + "/adain/vgg_normalised.safetensors` and `atelier models import decoder.pth -o " + dir +
                "/adain/decoder.safetensors`, or train a decoder with `atelier train-arbitrary`");
  return {paths[0], paths[1]};
}

void StudioPainter::check(const JobRecord& job) const {
  const JobSettings settings = job_settings(job.params);
  for (const auto& region : settings.regions) {
    if (region.style >= 0) continue;
    try {
      installed_style(region.model);
    } catch (const Error&) {
      throw Error("region " + region.color + ": \"" + region.model +
                  "\" is neither an uploaded painting's number or file name nor an installed style (see GET "
                  "/api/v1/models)");
    }
  }
  if (job.method == "fast") {
    if (settings.regions.empty()) installed_style(settings.model);
  } else if (job.method == "magenta") {
    magenta_paths();
  } else if (job.method == "adain") {
    adain_paths();
  } else {
    store_.resolve(options_.gatys_weights);  // throws naming the directories searched
  }
}

std::int64_t StudioPainter::estimate_bytes(const JobRecord& job, std::int64_t budget) const {
  const JobSettings settings = job_settings(job.params);
  const cv::Size size = scaled_size(settings.content_width, settings.content_height, settings.size);
  const std::int64_t decode = decode_bytes(job, settings);
  if (job.method == "fast" || job.method == "magenta" || job.method == "adain") {
    // A magenta or adain job's regions may take fast styles too: the larger plan of the two.
    const bool uses_models = job.method == "fast" || std::any_of(settings.regions.begin(), settings.regions.end(),
                                                                 [](const JobRegion& region) { return region.style < 0; });
    const auto plan = [&](std::int64_t max_memory) {
      const TilingPlan fast = uses_models ? plan_tiling(size.height, size.width, max_memory) : TilingPlan{};
      if (job.method == "fast") return fast;
      // AdaIN at relu4_1 pads to 8 pixels, at relu3_1 to 4: the larger, without loading the networks.
      const TilingPlan own = job.method == "adain" ? plan_adain_tiling(size.height, size.width, "relu4_1", max_memory)
                                                   : plan_magenta_tiling(size.height, size.width, max_memory);
      return fast.estimated_bytes > own.estimated_bytes ? fast : own;
    };
    // AdaIN encodes each new painting whole, before painting: at most 512 pixels on its shorter side.
    const std::int64_t encode =
        job.method == "adain" ? adain_style_encoding_bytes(settings.style_pixels) : std::int64_t{0};
    // Tiles when the whole picture would not fit: then only the tiles count.
    const TilingPlan whole = plan(0);
    if (budget <= 0 || decode + std::max(whole.estimated_bytes, encode) <= budget)
      return decode + std::max(whole.estimated_bytes, encode);
    if (decode + encode > budget)
      throw Refusal(422, "too large for the studio's memory limit: encoding the paintings needs about " +
                             format_memory_size(decode + encode));
    try {
      return decode + std::max(plan(std::max<std::int64_t>(1, budget - decode)).estimated_bytes, encode);
    } catch (const Error& error) {
      throw Refusal(422, std::string("too large for the studio's memory limit: ") + first_line(error.what()));
    }
  }
  std::error_code error;
  const auto weights = fs::file_size(store_.resolve(options_.gatys_weights), error);
  const std::int64_t per_pixel = settings.precision == "bf16" ? kGatysBytesPerPixelBF16 : kGatysBytesPerPixelF32;
  const std::int64_t regions = settings.mask ? static_cast<std::int64_t>(placed_styles(job, settings).size()) : 0;
  return decode + (error ? 0 : static_cast<std::int64_t>(weights)) +
         (per_pixel + regions * kGatysBytesPerRegionPixel) * size.area();
}

std::shared_ptr<const FastStylePainter> StudioPainter::fast_painter(const std::string& model) {
  {
    // A loaded style is found by the name it was asked by, without listing the store again.
    std::lock_guard<std::mutex> lock(mutex_);
    const auto loaded = fast_painters_.find(model);
    if (loaded != fast_painters_.end()) return loaded->second;
  }
  ModelStore::Entry entry;
  try {
    entry = installed_style(model);
  } catch (const Error&) {
    throw Error("no installed style \"" + model + "\"");
  }
  auto painter = std::make_shared<const FastStylePainter>(entry.path, options_.device);
  std::lock_guard<std::mutex> lock(mutex_);
  return fast_painters_.emplace(model, std::move(painter)).first->second;
}

std::shared_ptr<const GatysPainter> StudioPainter::gatys_painter() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!gatys_)
    gatys_ = std::make_shared<const GatysPainter>(GatysPainter::Network{store_.resolve(options_.gatys_weights), "", "max",
                                                                        options_.device});
  return gatys_;
}

std::shared_ptr<const MagentaPainter> StudioPainter::magenta_painter() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!magenta_) {
    const auto [predictor, transfer] = magenta_paths();
    magenta_ = std::make_shared<const MagentaPainter>(predictor, transfer, options_.device);
  }
  return magenta_;
}

std::shared_ptr<const AdainPainter> StudioPainter::adain_painter() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!adain_) {
    const auto [encoder, decoder] = adain_paths();
    adain_ = std::make_shared<const AdainPainter>(encoder, decoder, options_.device);
  }
  return adain_;
}

template <typename Value>
Value StudioPainter::cached(StyleCache<Value>& cache, const std::string& key, const std::function<Value()>& compute) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = cache.values.find(key);
    if (found != cache.values.end()) {
      ++cache.counts.reused;
      return found->second;
    }
  }
  Value value = compute();  // outside the lock: other jobs go on meanwhile
  std::lock_guard<std::mutex> lock(mutex_);
  ++cache.counts.predicted;
  if (cache.values.emplace(key, value).second) {
    cache.order.push_back(key);
    if (cache.order.size() > kCachedStyleVectors) {
      cache.values.erase(cache.order.front());
      cache.order.pop_front();
    }
  }
  return value;
}

StyleVectorCounts StudioPainter::style_vector_counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return style_vectors_.counts;
}

StyleVectorCounts StudioPainter::adain_style_counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return adain_styles_.counts;
}

PaintOutcome StudioPainter::paint(const JobRun& run, int& width, int& height) {
  if (run.job.method == "fast") return paint_fast(run, width, height);
  if (run.job.method == "magenta") return paint_magenta(run, width, height);
  if (run.job.method == "adain") return paint_adain(run, width, height);
  return paint_gatys(run, width, height);
}

PaintOutcome StudioPainter::paint_fast(const JobRun& run, int& width, int& height) {
  const JobSettings settings = job_settings(run.job.params);
  if (settings.regions.empty()) fast_painter(settings.model);  // a missing style fails before the photo is read
  Image content = load_image(run.dir + "/content", LoadOptions{0});
  content = resize_longest_side(content, settings.size);
  run.report(0, 1, nlohmann::json::object());
  // The job was admitted with its estimate; tiles keep it within that.
  const std::int64_t budget = std::max<std::int64_t>(1, run.job.estimated_bytes - decode_bytes(run.job, settings));
  if (settings.mask) return paint_masked(run, settings, content, nullptr, budget, width, height);
  const cv::Mat rgb = fast_painter(settings.model)->paint(content.rgb, parse_precision(settings.precision), budget);
  return save_one_pass(run, settings, rgb, content, width, height);
}

PaintOutcome StudioPainter::paint_magenta(const JobRun& run, int& width, int& height) {
  const JobSettings settings = job_settings(run.job.params);
  const auto painter = magenta_painter();
  const Image content = resize_longest_side(load_image(run.dir + "/content", LoadOptions{0}), settings.size);
  run.report(0, 1, nlohmann::json::object());
  // Each painting's vector is predicted once per upload (its bytes' hash)
  // and the photo's own once per upload and size, so that another strength
  // or blend of the same pictures only runs the transfer network.
  std::vector<StyleVector> styles;
  for (int i = 0; i < settings.styles; ++i) {
    const std::string path = run.dir + "/style-" + std::to_string(i);
    styles.push_back(cached<StyleVector>(style_vectors_, "style:" + sha256_file(path), [&] {
      return painter->style_vector(load_image(path, LoadOptions{0}).rgb);
    }));
  }
  const auto with_strength = [&](StyleVector style) {
    if (settings.strength >= 1.0) return style;
    const std::string key = "photo:" + sha256_file(run.dir + "/content") + "@" + std::to_string(settings.size);
    const StyleVector own = cached<StyleVector>(style_vectors_, key, [&] { return painter->style_vector(content.rgb); });
    return interpolate_style_vectors(style, own, settings.strength);
  };
  // Within the memory the job was admitted with, in tiles if need be (as a fast job).
  const std::int64_t budget = std::max<std::int64_t>(1, run.job.estimated_bytes - decode_bytes(run.job, settings));
  const auto paint_with = [&](const StyleVector& style) {
    return painter->paint(content.rgb, with_strength(style), /*strength=*/1.0, parse_precision(settings.precision),
                          StylePictureOptions{}, budget);
  };
  if (settings.mask)
    return paint_masked(run, settings, content, [&](int upload) { return paint_with(styles.at(upload)); }, budget,
                        width, height);
  std::vector<double> weights = settings.style_blend;
  if (weights.empty()) weights.assign(styles.size(), 1.0);
  const StyleVector style = blend_style_vectors(styles, weights);
  if (run.cancel_requested()) return PaintOutcome::Stopped;
  const cv::Mat rgb = paint_with(style);
  return save_one_pass(run, settings, rgb, content, width, height);
}

PaintOutcome StudioPainter::paint_adain(const JobRun& run, int& width, int& height) {
  const JobSettings settings = job_settings(run.job.params);
  const auto painter = adain_painter();
  const Image content = resize_longest_side(load_image(run.dir + "/content", LoadOptions{0}), settings.size);
  run.report(0, 1, nlohmann::json::object());
  const Precision precision = parse_precision(settings.precision);
  // Each painting's statistics are encoded once per upload (its bytes' hash)
  // and precision, so that another strength or blend only runs the photo.
  std::vector<AdainStyle> styles;
  for (int i = 0; i < settings.styles; ++i) {
    const std::string path = run.dir + "/style-" + std::to_string(i);
    styles.push_back(cached<AdainStyle>(adain_styles_, "style:" + sha256_file(path) + "@" + settings.precision, [&] {
      return painter->style(load_image(path, LoadOptions{0}).rgb, kAdainStyleSize, precision);
    }));
  }
  if (run.cancel_requested()) return PaintOutcome::Stopped;
  AdainOptions options;
  options.alpha = settings.strength;
  options.weights = settings.style_blend;
  options.precision = precision;
  // Within the memory the job was admitted with, in tiles if need be (as a fast job).
  options.max_memory = std::max<std::int64_t>(1, run.job.estimated_bytes - decode_bytes(run.job, settings));
  if (settings.mask)
    return paint_masked(run, settings, content,
                        [&](int upload) { return painter->paint(content.rgb, {styles.at(upload)}, options); },
                        options.max_memory, width, height);
  const cv::Mat rgb = painter->paint(content.rgb, styles, options);
  return save_one_pass(run, settings, rgb, content, width, height);
}

PaintOutcome StudioPainter::paint_gatys(const JobRun& run, int& width, int& height) {
  const JobSettings settings = job_settings(run.job.params);
  const auto painter = gatys_painter();
  Image content = resize_longest_side(load_image(run.dir + "/content", LoadOptions{0}), settings.size);
  std::vector<cv::Mat> styles;
  for (int i = 0; i < settings.styles; ++i)
    styles.push_back(load_image(run.dir + "/style-" + std::to_string(i), LoadOptions{0}).rgb);

  GatysOptions options;
  options.style_weight = 2000.0 * settings.strength;  // strength 0.5: the CLI's default
  options.iterations = settings.iterations;
  options.precision = parse_precision(settings.precision);
  if (settings.mask) {  // guided Gram matrices, as `stylize --method gatys --mask`: each style where its region is
    options.style_masks = job_mask_weights(run, settings, content.rgb.size(), settings.styles).weights;
    if (!settings.regions.empty()) {
      std::vector<cv::Mat> by_region;
      for (const auto& region : settings.regions) by_region.push_back(styles.at(region.style));
      styles = by_region;
    }
  }

  // A re-run continues from the checkpoint its earlier run left.
  const std::string checkpoint_path = run.dir + "/checkpoint.safetensors";
  const std::string description = run.job.params.dump();
  if (fs::exists(checkpoint_path)) {
    try {
      options.resume_from = read_gatys_checkpoint(checkpoint_path, description);
    } catch (const Error&) {
      fs::remove(checkpoint_path);  // unreadable or from other settings: start afresh
    }
  }

  GatysCallbacks callbacks;
  callbacks.on_progress = [&](const GatysProgress& step) {
    run.report(step.iteration, step.iterations,
               {{"total", step.total}, {"content", step.content}, {"style", step.style}, {"tv", step.tv}});
  };
  callbacks.snapshot_every = std::max(1, options.iterations / std::max(1, options_.previews));
  callbacks.on_snapshot = [&](const cv::Mat& rgb, const GatysProgress&) { run.preview(rgb); };
  callbacks.checkpoint_every = options_.checkpoint_every;
  GatysCheckpointWriter checkpoints(checkpoint_path, description);
  callbacks.on_checkpoint = [&](GatysCheckpoint checkpoint) { checkpoints.write(std::move(checkpoint)); };
  callbacks.stop_requested = [&] { return run.cancel_requested() || run.shutdown_requested(); };

  const GatysResult result = painter->paint(content.rgb, styles, options, callbacks);
  checkpoints.finish();  // before the checkpoint is removed below
  if (result.stopped) return PaintOutcome::Stopped;
  if (!result.finite) throw Error(result.message);
  save_image(finish(result.rgb, content, {}, finish_options(run.job, settings)), run.dir + "/result.png");
  fs::remove(checkpoint_path);
  run.preview(result.rgb);
  width = result.rgb.cols;
  height = result.rgb.rows;
  return PaintOutcome::Done;
}

PaintOutcome StudioPainter::paint_masked(const JobRun& run, const JobSettings& settings, const Image& content,
                                         const std::function<cv::Mat(int upload)>& paint_upload, std::int64_t budget,
                                         int& width, int& height) {
  const Precision precision = parse_precision(settings.precision);
  std::map<std::pair<int, std::string>, cv::Mat> painted_once;
  std::vector<cv::Mat> painted;
  for (const auto& place : placed_styles(run.job, settings)) {
    if (run.cancel_requested()) return PaintOutcome::Stopped;
    cv::Mat& picture = painted_once[place];  // once per style, however many regions take it
    if (picture.empty() && place.first >= 0) {
      picture = paint_upload(place.first);
    } else if (picture.empty()) {
      picture = fast_painter(place.second)->paint(content.rgb, precision, budget);
      // A fast job's strength is finish()'s; in a magenta or adain job it weakens the fast styles' regions alike.
      if (run.job.method != "fast" && settings.strength < 1)
        cv::addWeighted(picture, settings.strength, content.rgb, 1 - settings.strength, 0, picture);
    }
    painted.push_back(picture);
  }
  const RegionWeights weights = job_mask_weights(run, settings, content.rgb.size(), static_cast<int>(painted.size()));
  return save_one_pass(run, settings, composite(content.rgb, painted, weights.weights), content, width, height);
}

cv::Mat StudioPainter::preview(const std::string& model, const cv::Mat& photo) {
  // Previews come from a lane of their own: one thread, so that a job keeps its cores.
  static thread_local const bool one_thread = (use_one_thread_here(), true);
  (void)one_thread;
  const std::string version = file_version(installed_style(model));  // throws for names that are not installed styles
  {
    // A replaced weights file is loaded afresh, as its previews' cache key says.
    std::lock_guard<std::mutex> lock(mutex_);
    std::string& loaded = painter_versions_[model];
    if (loaded != version) fast_painters_.erase(model);
    loaded = version;
  }
  return fast_painter(model)->paint(photo);
}

}  // namespace atelier::studio
