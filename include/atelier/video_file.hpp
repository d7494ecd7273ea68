// Writing a video file the way every front end does, through FFmpeg's
// libraries: H.264 (yuv420p, which browsers play) in .mp4, .mov or .mkv,
// MJPEG in .avi; frames at their own timestamps (a variable frame rate stays
// variable); the rotation metadata and the audio stream of a source video
// copied through unchanged; written to a temporary file beside the output
// and renamed into place when complete.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace atelier {

// "h264" for .mp4/.mov/.mkv, "mjpeg" for .avi. Throws atelier::Error for
// anything else, so a front end can check the output before any work.
std::string video_codec_for(const std::string& output);

struct VideoFileOptions {
  double fps = 25;                            // nominal frame rate
  int frame_rate_num = 0, frame_rate_den = 1;  // exact nominal rate (0: from fps)
  int time_base_num = 0, time_base_den = 1;    // unit of write()'s pts (0: one frame at the nominal rate)
  std::vector<int32_t> display_matrix;        // rotation metadata to keep (VideoInfo::display_matrix)
  std::string audio_from;                     // a video whose audio stream is copied (empty: none)
  int quality = 18;                           // H.264 CRF (0 lossless .. 51)
};

class VideoFile {
 public:
  // Frames of odd width or height are padded to even (edge pixels repeated):
  // H.264 in yuv420p needs even sizes. Throws atelier::Error in one line when
  // the output cannot be written or no encoder opens.
  VideoFile(const std::string& output, cv::Size size, const VideoFileOptions& options);
  VideoFile(const std::string& output, double fps, cv::Size size);
  ~VideoFile();  // an unfinished file's temporary is removed
  VideoFile(const VideoFile&) = delete;
  VideoFile& operator=(const VideoFile&) = delete;
  VideoFile(VideoFile&&) noexcept;
  VideoFile& operator=(VideoFile&&) noexcept;

  // The next frame (CV_8UC3 BGR of the size given), one nominal frame after
  // the previous one, or at `pts` in the time base of the options.
  void write(const cv::Mat& bgr8);
  void write(const cv::Mat& bgr8, int64_t pts);
  // Flushes the encoder, copies the rest of the audio (what plays before
  // `audio_end` seconds), renames to the output.
  void finish(double audio_end = std::numeric_limits<double>::infinity());

  cv::Size size() const;  // as written (even)
  // Empty when the source's audio is copied (or there is none); else one line
  // saying why it was left out (the container cannot hold its codec).
  const std::string& audio_notice() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A picture (CV_32FC3 RGB in [0,1], any size) as a frame for write():
// resized to `size` (cubic), 8-bit BGR.
cv::Mat video_frame(const cv::Mat& rgb, cv::Size size);

}  // namespace atelier
