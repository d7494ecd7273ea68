#include "atelier/studio_painter.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>

#include "atelier/fast_style.hpp"
#include "atelier/gatys.hpp"
#include "atelier/gatys_checkpoint.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/postprocess.hpp"
#include "atelier/tensor_image.hpp"
#include "atelier/vgg.hpp"

namespace atelier::studio {
namespace {

namespace fs = std::filesystem;

bool is_fast_style(const std::string& architecture) {
  return architecture == "pytorch-examples" || architecture == "engstrom";
}
bool is_feature_network(const std::string& architecture) {
  return architecture.rfind("vgg", 0) == 0 || architecture.rfind("resnet", 0) == 0;
}

// Gatys peak memory per pixel of the image being optimised (VGG19
// activations and their gradients, L-BFGS history), from bench_gatys:
// 512x384 peaks at 1076 MiB in fp32 and 746 MiB in bf16, of which ~250 MiB
// is the process and the weights.
constexpr std::int64_t kGatysBytesPerPixelF32 = 5 << 10;
constexpr std::int64_t kGatysBytesPerPixelBF16 = 3 << 10;
// Decoding an upload at its own size: 8-bit samples, then float RGB.
constexpr std::int64_t kDecodeBytesPerPixel = 4 + 12;

// The size of a width x height picture whose longest side becomes `longest`.
cv::Size scaled_size(int width, int height, int longest) {
  const double scale = static_cast<double>(longest) / std::max(width, height);
  return {std::max(1, static_cast<int>(std::lround(width * scale))),
          std::max(1, static_cast<int>(std::lround(height * scale)))};
}

// The picture styles are shown on in the gallery: a small landscape (sky,
// sun, hills, a house), drawn rather than shipped.
cv::Mat thumbnail_scene() {
  cv::Mat bgr(128, 160, CV_8UC3);
  for (int y = 0; y < bgr.rows; ++y)
    bgr.row(y).setTo(cv::Scalar(235 - y / 2, 200 - y / 3, 140 + y / 3));
  cv::circle(bgr, {118, 34}, 16, cv::Scalar(80, 210, 250), cv::FILLED, cv::LINE_AA);
  std::vector<cv::Point> hill = {{0, 95}, {40, 70}, {90, 88}, {160, 66}, {160, 128}, {0, 128}};
  cv::fillPoly(bgr, std::vector<std::vector<cv::Point>>{hill}, cv::Scalar(70, 140, 60), cv::LINE_AA);
  cv::rectangle(bgr, {46, 80}, {74, 104}, cv::Scalar(60, 60, 170), cv::FILLED);
  std::vector<cv::Point> roof = {{42, 80}, {60, 64}, {78, 80}};
  cv::fillPoly(bgr, std::vector<std::vector<cv::Point>>{roof}, cv::Scalar(40, 40, 90), cv::LINE_AA);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / 255);
  return rgb;
}

// Memory to decode a job's uploads at their own size, before any resize.
std::int64_t decode_bytes(const JobRecord& job) {
  const std::int64_t content_pixels =
      job.params.at("content_width").get<std::int64_t>() * job.params.at("content_height").get<std::int64_t>();
  return kDecodeBytesPerPixel * (content_pixels + job.params.value("style_pixels", std::int64_t{0}));
}

// Keep colours, then the photo's alpha, then save atomically.
void write_result(const std::string& dir, cv::Mat rgb, const Image& content, bool keep_colors) {
  if (keep_colors) rgb = keep_original_colors(rgb, content.rgb);
  Image output{rgb, {}};
  if (content.has_alpha()) output.alpha = resize_plane(content.alpha, rgb.size());
  save_image(output, dir + "/result.png");
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
    if (is_fast_style(entry.architecture)) installed.styles[entry.name] = entry;
    if (is_feature_network(entry.architecture)) installed.feature_networks[entry.name] = entry;
  }
  return installed;
}

nlohmann::json StudioPainter::models() const {
  const Installed found = installed();
  nlohmann::json styles = nlohmann::json::array(), networks = nlohmann::json::array();
  for (const auto& [name, entry] : found.styles)
    styles.push_back({{"name", name},
                      {"architecture", entry.architecture},
                      {"thumbnail_url", "/api/v1/models/" + name + "/thumbnail"}});
  for (const auto& [name, entry] : found.feature_networks)
    networks.push_back({{"name", name}, {"architecture", entry.architecture}});
  bool gatys_available = true;
  try {
    store_.resolve(options_.gatys_weights);
  } catch (const Error&) {
    gatys_available = false;
  }
  return {{"styles", styles},
          {"feature_networks", networks},
          {"gatys_weights", options_.gatys_weights},
          {"gatys_available", gatys_available}};
}

void StudioPainter::check(const JobRecord& job) const {
  if (job.method == "fast") {
    const std::string model = job.params.at("model");
    if (!installed().styles.count(model)) throw Error("model: no installed style \"" + model + "\" (see GET /models)");
  } else {
    store_.resolve(options_.gatys_weights);  // throws naming the directories searched
  }
}

std::int64_t StudioPainter::estimate_bytes(const JobRecord& job, std::int64_t budget) const {
  const cv::Size size = scaled_size(job.params.at("content_width"), job.params.at("content_height"),
                                    job.params.at("size"));
  const std::int64_t decode = decode_bytes(job);
  if (job.method == "fast") {
    // Tiles when the whole picture would not fit: then only the tiles count.
    const TilingPlan whole = plan_tiling(size.height, size.width, 0);
    if (budget <= 0 || decode + whole.estimated_bytes <= budget) return decode + whole.estimated_bytes;
    try {
      return decode + plan_tiling(size.height, size.width, std::max<std::int64_t>(1, budget - decode)).estimated_bytes;
    } catch (const Error& error) {
      throw Refusal(422, std::string("too large for the studio's memory limit: ") + first_line(error.what()));
    }
  }
  std::error_code error;
  const auto weights = fs::file_size(store_.resolve(options_.gatys_weights), error);
  const std::int64_t per_pixel =
      job.params.at("precision") == "bf16" ? kGatysBytesPerPixelBF16 : kGatysBytesPerPixelF32;
  return decode + (error ? 0 : static_cast<std::int64_t>(weights)) + per_pixel * size.area();
}

std::shared_ptr<const FastStyleNetwork> StudioPainter::fast_network(const std::string& model) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& network = fast_networks_[model];
  if (!network) {
    const Installed found = installed();
    const auto entry = found.styles.find(model);
    if (entry == found.styles.end()) {
      fast_networks_.erase(model);
      throw Error("no installed style \"" + model + "\"");
    }
    network = std::make_shared<FastStyleNetwork>(load_fast_style_network(entry->second.path, parse_device(options_.device)));
  }
  return network;
}

std::shared_ptr<const VggFeatures> StudioPainter::vgg() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!vgg_)
    vgg_ = std::make_shared<VggFeatures>(VggFeatures::load(store_.resolve(options_.gatys_weights), std::nullopt,
                                                           Pooling::Max, parse_device(options_.device)));
  return vgg_;
}

PaintOutcome StudioPainter::paint(const JobRun& run, int& width, int& height) {
  return run.job.method == "fast" ? paint_fast(run, width, height) : paint_gatys(run, width, height);
}

PaintOutcome StudioPainter::paint_fast(const JobRun& run, int& width, int& height) {
  const nlohmann::json& params = run.job.params;
  const auto network = fast_network(params.at("model"));
  Image content = load_image(run.dir + "/content", LoadOptions{0});
  content = resize_longest_side(content, params.at("size"));
  run.report(0, 1, nlohmann::json::object());
  const Precision precision = parse_precision(params.at("precision"));
  // The job was admitted with its estimate; tiles keep it within that.
  const std::int64_t budget = std::max<std::int64_t>(1, run.job.estimated_bytes - decode_bytes(run.job));
  cv::Mat rgb = stylize_image_within(*network, content.rgb, budget, precision);
  if (run.cancel_requested()) return PaintOutcome::Stopped;  // one pass cannot stop midway: drop its result
  const double strength = params.at("strength");
  if (strength < 1.0) cv::addWeighted(rgb, strength, content.rgb, 1.0 - strength, 0.0, rgb);
  write_result(run.dir, rgb, content, params.at("keep_colors"));
  run.preview(rgb);
  run.report(1, 1, nlohmann::json::object());
  width = rgb.cols;
  height = rgb.rows;
  return PaintOutcome::Done;
}

PaintOutcome StudioPainter::paint_gatys(const JobRun& run, int& width, int& height) {
  const nlohmann::json& params = run.job.params;
  const auto network = vgg();
  Image content = resize_longest_side(load_image(run.dir + "/content", LoadOptions{0}), params.at("size"));
  std::vector<cv::Mat> styles;
  for (int i = 0; i < params.at("styles").get<int>(); ++i)
    styles.push_back(load_image(run.dir + "/style-" + std::to_string(i), LoadOptions{0}).rgb);

  GatysOptions options;
  options.content_layers = default_content_layers(*network);
  options.style_layers = default_style_layers(*network);
  options.style_weight = 2000.0 * params.at("strength").get<double>();  // strength 0.5: the CLI's default
  options.iterations = params.at("iterations");
  options.precision = parse_precision(params.at("precision"));

  // A re-run continues from the checkpoint its earlier run left.
  const std::string checkpoint_path = run.dir + "/checkpoint.safetensors";
  const std::string description = params.dump();
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
  callbacks.on_checkpoint = [&](const GatysCheckpoint& checkpoint) {
    write_gatys_checkpoint(checkpoint_path, description, checkpoint);
  };
  callbacks.stop_requested = [&] { return run.cancel_requested() || run.shutdown_requested(); };

  const GatysResult result = stylize_gatys(*network, content.rgb, styles, options, callbacks);
  if (result.stopped) return PaintOutcome::Stopped;
  if (!result.finite) throw Error(result.message);
  write_result(run.dir, result.rgb, content, params.at("keep_colors"));
  fs::remove(checkpoint_path);
  run.preview(result.rgb);
  width = result.rgb.cols;
  height = result.rgb.rows;
  return PaintOutcome::Done;
}

std::vector<unsigned char> StudioPainter::thumbnail(const std::string& model) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto cached = thumbnails_.find(model);
    if (cached != thumbnails_.end()) return cached->second;
  }
  const auto network = fast_network(model);  // throws for names that are not installed styles
  const cv::Mat rgb = stylize_image(*network, thumbnail_scene());
  std::vector<unsigned char> jpeg = encode_image(Image{rgb, {}}, ".jpg", SaveOptions{85});
  std::lock_guard<std::mutex> lock(mutex_);
  thumbnails_[model] = jpeg;
  return jpeg;
}

}  // namespace atelier::studio
