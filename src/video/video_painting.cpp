#include "atelier/video_painting.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <vector>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/video_file.hpp"

namespace atelier {

namespace fs = std::filesystem;

namespace {

// The painting of frame `index`, before any blending ("frame..." held the
// blended frames of older versions: those are not taken for paintings).
std::string painting_path(const fs::path& folder, long long index) {
  char name[32];
  std::snprintf(name, sizeof name, "painted%07lld.png", index);
  return (folder / name).string();
}

// "painted0000012.png" -> 12; -1 for any other name.
long long painting_index(const std::string& name) {
  long long index = -1;
  char tail = 0;
  if (name.size() != 18 || std::sscanf(name.c_str(), "painted%7lld.pn%c", &index, &tail) != 2 || tail != 'g') return -1;
  return index;
}

// Where the first paint() keeps VideoPaintingOptions::painting_settings.
std::string settings_path(const fs::path& folder) { return (folder / "settings.json").string(); }

// Refuses a work folder painted with other settings, naming those that differ.
void check_same_settings(const std::string& folder, const std::string& settings) {
  if (settings.empty() || !fs::exists(settings_path(folder))) return;
  const std::vector<unsigned char> bytes = read_file_bytes(settings_path(folder));
  const std::string there(bytes.begin(), bytes.end());
  if (there == settings) return;
  std::string differences;
  const auto was = nlohmann::json::parse(there, nullptr, false), now = nlohmann::json::parse(settings, nullptr, false);
  if (was.is_object() && now.is_object()) {
    nlohmann::json keys = was;
    keys.update(now);
    for (const auto& [key, ignored] : keys.items())
      if (was.value(key, nlohmann::json()) != now.value(key, nlohmann::json()))
        differences += (differences.empty() ? "" : "; ") + key + " " + was.value(key, nlohmann::json()).dump() +
                       " there, " + now.value(key, nlohmann::json()).dump() + " now";
  }
  throw Error(folder + " holds frames painted with other settings (" +
              (differences.empty() ? "see " + settings_path(folder) : differences) +
              "): paint with the same ones, or delete the folder to start again");
}

cv::Mat bgr8_to_rgb(const cv::Mat& bgr8) {
  cv::Mat rgb;
  cv::cvtColor(bgr8, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
  return rgb;
}

// As save_image would store it: rounded and clamped to 8 bits.
cv::Mat rgb_to_bgr8(const cv::Mat& rgb) {
  cv::Mat bgr, bgr8;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bgr.convertTo(bgr8, CV_8UC3, 255.0);
  return bgr8;
}

// `picture` turned `degrees` clockwise (a multiple of 90; negative: back).
cv::Mat turned(const cv::Mat& picture, int degrees) {
  if (picture.empty()) return picture;
  cv::Mat out;
  switch ((degrees % 360 + 360) % 360) {
    case 90: cv::rotate(picture, out, cv::ROTATE_90_CLOCKWISE); return out;
    case 180: cv::rotate(picture, out, cv::ROTATE_180); return out;
    case 270: cv::rotate(picture, out, cv::ROTATE_90_COUNTERCLOCKWISE); return out;
    default: return picture;
  }
}

// "3, 7, 11 and 9 more": the first few of a list of frame indices.
std::string some_of(const std::vector<long long>& indices) {
  std::string text;
  const std::size_t shown = std::min<std::size_t>(indices.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) text += (i == 0 ? "" : ", ") + std::to_string(indices[i]);
  if (indices.size() > shown) text += " and " + std::to_string(indices.size() - shown) + " more";
  return text;
}

}  // namespace

void follow_previous_painting(GatysOptions& options, const OpticalFlow& flow, const VideoFrameHistory& history,
                              double temporal_weight) {
  if (history.previous_painting.empty() || temporal_weight <= 0) return;
  const CarriedFrame carried = carry_previous_output(flow, history.bgr, history.previous_bgr, history.previous_painting);
  options.init = GatysOptions::Init::Image;
  options.init_image = carried.warped;
  options.temporal_target = carried.warped;
  options.temporal_mask = carried.reliable;
  options.temporal_weight = temporal_weight * kGatysTemporalLossScale;
}

struct VideoPainting::Impl {
  std::string input, output, folder;
  VideoPaintingOptions options;
  std::unique_ptr<VideoReader> reader;  // opened by the constructor, read by the first pass
  VideoInfo info;
  // Every frame's time, and where the sound ends with max_frames (the first
  // frame left out), once a pass has read them all.
  std::optional<std::vector<int64_t>> times;
  int64_t end_pts = 0;

  std::unique_ptr<VideoReader> open_reader() {
    return reader ? std::move(reader) : std::make_unique<VideoReader>(input);
  }

  // Decodes the input (up to max_frames), calling `visit(index, frame)` for
  // each frame until it returns false; returns the frames' times when it
  // went through them all.
  template <typename Visit>
  bool each_frame(VideoReader& source, VideoPaintingResult& result, Visit visit) {
    std::vector<int64_t> pts;
    int64_t end = 0;
    long long index = 0;
    for (VideoFrame frame; source.read(frame); ++index) {
      if (options.max_frames > 0 && index >= options.max_frames) {
        end = frame.pts;
        break;
      }
      pts.push_back(frame.pts);
      if (!visit(index, frame)) {
        result.frames = index;
        return false;
      }
    }
    result.stopped_by = source.stopped_by();
    result.frames = index;
    if (index == 0) throw Error("cannot read " + input + ": no frame could be decoded");
    times = std::move(pts);
    end_pts = end;
    return true;
  }

  // The first stage: `paint(index, frame, previous frame)` for each frame of
  // `shard` not yet in the folder; the previous frame is kept only
  // `with_history` (painters that follow the motion), else it is empty.
  VideoPaintingResult paint_frames(const Shard& shard, const std::function<void(long long)>& on_frame,
                                   const std::function<bool()>& stop, bool with_history,
                                   const std::function<cv::Mat(long long, const VideoFrame&, const cv::Mat&)>& paint);

  cv::Mat saved_painting(long long index) const {
    const cv::Mat bgr8 = cv::imread(painting_path(folder, index), cv::IMREAD_COLOR);
    if (bgr8.empty()) throw Error("painted frame " + std::to_string(index) + " is missing from " + folder);
    return bgr8_to_rgb(bgr8);
  }

  // Before any output: every frame painted, or a line naming the missing ones.
  void check_all_painted() {
    VideoPaintingResult result;
    if (!fs::is_directory(folder))
      throw Error(folder + " does not exist: paint the frames first (stylize-video without --assemble, or its "
                           "--shard runs)");
    std::vector<long long> missing;
    const auto source = open_reader();
    each_frame(*source, result, [&](long long index, const VideoFrame&) {
      if (!fs::exists(painting_path(folder, index))) missing.push_back(index);
      return true;
    });
    if (!missing.empty())
      throw Error(std::to_string(missing.size()) + " of the " + std::to_string(result.frames) +
                  " frames are not painted yet in " + folder + " (frames " + some_of(missing) +
                  ", counted from 0): run the shards that paint them, then assemble again");
  }
};

VideoPainting::VideoPainting(const std::string& input, const std::string& output, const VideoPaintingOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->input = input;
  impl_->output = output;
  impl_->options = options;
  impl_->folder = output + ".frames";
  video_codec_for(output);
  TemporalBlender check(options.temporal_weight);  // bounds
  if (fs::exists(impl_->folder) && !options.resume)
    throw Error(impl_->folder + " holds an interrupted run: add --resume to continue it, or delete it");
  const fs::path directory = fs::path(output).parent_path();
  if (!fs::is_directory(directory.empty() ? "." : directory))
    throw Error("cannot write " + output + ": its directory does not exist");
  if (!fs::is_regular_file(input)) throw Error("cannot read " + input + ": no such file");
  refuse_overwriting_input(input, output);
  check_same_settings(impl_->folder, options.painting_settings);
  impl_->reader = std::make_unique<VideoReader>(input);
  impl_->info = impl_->reader->info();
}

VideoPainting::~VideoPainting() = default;

const VideoInfo& VideoPainting::info() const { return impl_->info; }
const std::string& VideoPainting::work_folder() const { return impl_->folder; }

long long VideoPainting::frames_already_painted(const Shard& shard) const {
  long long count = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(impl_->folder, error)) {
    const long long index = painting_index(entry.path().filename().string());
    if (index >= 0 && shard.owns(index) && (impl_->options.max_frames == 0 || index < impl_->options.max_frames))
      ++count;
  }
  return count;
}

VideoPaintingResult VideoPainting::run(const VideoFramePainter& paint, const std::function<void(long long)>& on_frame,
                                       const std::function<bool()>& stop) {
  const VideoPaintingResult painted = this->paint(paint, Shard{}, on_frame, stop);
  if (painted.interrupted) return painted;
  VideoPaintingResult result = assemble({}, stop);
  result.painted = painted.painted;
  return result;
}

VideoPaintingResult VideoPainting::paint(const VideoFramePainter& paint, const Shard& shard,
                                         const std::function<void(long long)>& on_frame,
                                         const std::function<bool()>& stop) {
  // Painters see the frames as a player shows them (a phone's portrait clip upright), so that strokes and a mask
  // fall the way the viewer sees them; the paintings are turned back to the stored frames.
  const int upright = impl_->info.rotation;
  return impl_->paint_frames(shard, on_frame, stop, false, [&](long long, const VideoFrame& frame, const cv::Mat&) {
    return turned(paint(turned(bgr8_to_rgb(frame.bgr), upright)), -upright);
  });
}

VideoPaintingResult VideoPainting::paint_in_order(const SequentialFramePainter& paint,
                                                  const std::function<void(long long)>& on_frame,
                                                  const std::function<bool()>& stop) {
  Impl& my = *impl_;
  return my.paint_frames(Shard{}, on_frame, stop, true,
                         [&](long long index, const VideoFrame& frame, const cv::Mat& previous_bgr) {
                           const int upright = my.info.rotation;  // as paint() does
                           VideoFrameHistory history{turned(frame.bgr, upright), turned(previous_bgr, upright), {}};
                           if (index > 0) history.previous_painting = turned(my.saved_painting(index - 1), upright);
                           return turned(paint(turned(bgr8_to_rgb(frame.bgr), upright), history), -upright);
                         });
}

VideoPaintingResult VideoPainting::Impl::paint_frames(
    const Shard& shard, const std::function<void(long long)>& on_frame, const std::function<bool()>& stop,
    bool with_history, const std::function<cv::Mat(long long, const VideoFrame&, const cv::Mat&)>& paint) {
  Impl& my = *this;
  fs::create_directories(my.folder);
  check_same_settings(my.folder, my.options.painting_settings);  // another shard may have begun since
  if (!my.options.painting_settings.empty() && !fs::exists(settings_path(my.folder)))
    write_file_atomically(settings_path(my.folder), my.options.painting_settings);
  VideoPaintingResult result;
  const auto source = my.open_reader();
  cv::Mat previous_bgr;  // the frame before, painted or not
  try {
    const bool done = my.each_frame(*source, result, [&](long long index, const VideoFrame& frame) {
      const std::string path = painting_path(my.folder, index);
      const cv::Mat before = previous_bgr;
      if (with_history) previous_bgr = frame.bgr.clone();
      if (!shard.owns(index) || fs::exists(path)) return true;
      if (stop && stop()) return false;
      save_image(Image{paint(index, frame, before), {}}, path);  // atomic: a painting is whole or absent
      ++result.painted;
      if (on_frame) on_frame(index + 1);
      return true;
    });
    result.interrupted = !done;
    if (!shard.whole()) my.times.reset();  // the assembly checks the other shards' frames
  } catch (const Error&) {
    std::error_code ignored;
    fs::remove(my.folder, ignored);  // only when empty: other shards may share it
    throw;
  }
  return result;
}

long long VideoPainting::check_all_painted() {
  if (!impl_->times) impl_->check_all_painted();
  return static_cast<long long>(impl_->times->size());
}

VideoPaintingResult VideoPainting::assemble(const std::function<void(long long)>& on_frame,
                                            const std::function<bool()>& stop) {
  Impl& my = *impl_;
  VideoPaintingResult result;
  if (!my.times) my.check_all_painted();
  const std::vector<int64_t> times = *my.times;
  result.frames = static_cast<long long>(times.size());

  const auto source = my.open_reader();
  const VideoInfo& info = my.info;
  VideoFileOptions settings;
  settings.fps = info.fps;
  settings.frame_rate_num = info.frame_rate_num;
  settings.frame_rate_den = info.frame_rate_den;
  settings.time_base_num = info.time_base_num;
  settings.time_base_den = info.time_base_den;
  settings.display_matrix = info.display_matrix;
  settings.audio_from = my.input;
  VideoFile video(my.output, info.size, settings);  // a temporary until finish()
  const TemporalBlender blender(my.options.temporal_weight);
  cv::Mat previous_input, previous_output;
  VideoFrame frame;
  for (std::size_t index = 0; index < times.size(); ++index) {
    if (stop && stop()) {
      result.frames = static_cast<long long>(index);
      result.interrupted = true;
      return result;
    }
    if (!source->read(frame)) throw Error(my.input + " changed while its frames were being assembled");
    // The blend sees the painting as saved, so frames painted anywhere give the same file.
    const cv::Mat blended = blender.blend(frame.bgr, my.saved_painting(static_cast<long long>(index)),
                                          previous_input, previous_output);
    cv::Mat bgr8 = rgb_to_bgr8(blended);
    if (bgr8.size() != info.size) cv::resize(bgr8, bgr8, info.size, 0, 0, cv::INTER_CUBIC);
    video.write(bgr8, times[index]);
    if (my.options.temporal_weight > 0) {
      previous_output = bgr8_to_rgb(bgr8);  // the next frame blends with exactly what was written
      previous_input = frame.bgr.clone();
    }
    if (on_frame) on_frame(static_cast<long long>(index) + 1);
  }
  // With max_frames, the sound of the frames painted: up to the next frame's time.
  video.finish(my.options.max_frames > 0 && my.end_pts > times.back()
                   ? static_cast<double>(my.end_pts) * info.time_base_num / info.time_base_den
                   : std::numeric_limits<double>::infinity());
  result.audio_notice = video.audio_notice();
  fs::remove_all(my.folder);
  return result;
}

}  // namespace atelier
