#include "atelier/video_painting.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <vector>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/video_file.hpp"

namespace atelier {

namespace fs = std::filesystem;

namespace {

std::string frame_path(const fs::path& folder, long long index) {
  char name[32];
  std::snprintf(name, sizeof name, "frame%07lld.png", index);
  return (folder / name).string();
}

cv::Mat bgr8_to_rgb(const cv::Mat& bgr8) {
  cv::Mat rgb;
  cv::cvtColor(bgr8, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
  return rgb;
}

}  // namespace

struct VideoPainting::Impl {
  std::string input, output, folder;
  VideoPaintingOptions options;
  std::unique_ptr<VideoReader> reader;
  long long already = 0;

  // The frame as saved: the next frame blends with exactly this, so a
  // resumed run gives the same file as one that was never interrupted.
  cv::Mat saved_output(long long index) const {
    const cv::Mat bgr8 = cv::imread(frame_path(folder, index), cv::IMREAD_COLOR);
    if (bgr8.empty()) throw Error("painted frame " + std::to_string(index) + " is missing from " + folder);
    return bgr8_to_rgb(bgr8);
  }

  void assemble(const std::vector<int64_t>& times, int64_t end_pts, VideoPaintingResult& result) const {
    const VideoInfo& info = reader->info();
    VideoFileOptions settings;
    settings.fps = info.fps;
    settings.frame_rate_num = info.frame_rate_num;
    settings.frame_rate_den = info.frame_rate_den;
    settings.time_base_num = info.time_base_num;
    settings.time_base_den = info.time_base_den;
    settings.display_matrix = info.display_matrix;
    settings.audio_from = input;
    VideoFile video(output, info.size, settings);
    for (std::size_t index = 0; index < times.size(); ++index) {
      cv::Mat frame = cv::imread(frame_path(folder, static_cast<long long>(index)), cv::IMREAD_COLOR);
      if (frame.empty()) throw Error("painted frame " + std::to_string(index) + " is missing from " + folder);
      if (frame.size() != info.size) cv::resize(frame, frame, info.size, 0, 0, cv::INTER_CUBIC);
      video.write(frame, times[index]);
    }
    // With max_frames, the sound of the frames painted: up to the next frame's time.
    video.finish(options.max_frames > 0 && end_pts > times.back()
                     ? static_cast<double>(end_pts) * info.time_base_num / info.time_base_den
                     : std::numeric_limits<double>::infinity());
    result.audio_notice = video.audio_notice();
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
  impl_->reader = std::make_unique<VideoReader>(input);
  while (fs::exists(frame_path(impl_->folder, impl_->already))) ++impl_->already;
}

VideoPainting::~VideoPainting() = default;

const VideoInfo& VideoPainting::info() const { return impl_->reader->info(); }
long long VideoPainting::frames_already_painted() const { return impl_->already; }
const std::string& VideoPainting::work_folder() const { return impl_->folder; }

VideoPaintingResult VideoPainting::run(const VideoFramePainter& paint, const std::function<void(long long)>& on_frame,
                                       const std::function<bool()>& stop) {
  Impl& my = *impl_;
  fs::create_directories(my.folder);
  const TemporalBlender blender(my.options.temporal_weight);
  VideoPaintingResult result;
  std::vector<int64_t> times;
  cv::Mat previous_input, previous_output;
  long long index = 0;
  int64_t end_pts = 0;  // where the sound stops with max_frames: the first frame left out
  for (VideoFrame frame; my.reader->read(frame); ++index) {
    if (my.options.max_frames > 0 && index >= my.options.max_frames) {
      end_pts = frame.pts;
      break;
    }
    times.push_back(frame.pts);
    if (index >= my.already) {
      if (stop && stop()) {
        result.frames = index;
        result.interrupted = true;
        return result;
      }
      if (index > 0 && previous_output.empty() && my.options.temporal_weight > 0)
        previous_output = my.saved_output(index - 1);  // resumed: the last frame painted before
      const cv::Mat painted = paint(bgr8_to_rgb(frame.bgr));
      const cv::Mat blended = blender.blend(frame.bgr, painted, previous_input, previous_output);
      save_image(Image{blended, {}}, frame_path(my.folder, index));  // atomic: a frame file is whole or absent
      if (my.options.temporal_weight > 0) previous_output = my.saved_output(index);
      if (on_frame) on_frame(index + 1);
    }
    previous_input = frame.bgr.clone();
  }
  result.stopped_by = my.reader->stopped_by();
  if (index == 0) {
    fs::remove_all(my.folder);
    throw Error("cannot read " + my.input + ": no frame could be decoded");
  }
  result.frames = index;
  my.assemble(times, end_pts, result);
  fs::remove_all(my.folder);
  return result;
}

}  // namespace atelier
