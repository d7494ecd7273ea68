// Reading a video through FFmpeg's libraries: its frames as 8-bit BGR with
// their own timestamps (variable frame rates stay variable), its rotation
// metadata and whether it has sound. Torch-free and FFmpeg-free to include.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atelier {

struct VideoInfo {
  cv::Size size;                   // stored frame size (before any rotation on display)
  double fps = 0;                  // average frame rate
  int frame_rate_num = 0, frame_rate_den = 1;  // the stream's nominal rate, exact
  int time_base_num = 1, time_base_den = 1;    // the unit of VideoFrame::pts
  long long frame_count = 0;       // as the container announces it (or duration x rate); 0: unknown
  std::string codec;               // "h264", "mjpeg", ...
  std::vector<int32_t> display_matrix;  // 9 numbers (FFmpeg's display matrix); empty: none
  int rotation = 0;                // degrees clockwise a player turns the frames: 0, 90, 180 or 270
  std::string audio_codec;         // empty: no audio stream
};

struct VideoFrame {
  cv::Mat bgr;          // CV_8UC3
  int64_t pts = 0;      // presentation time in VideoInfo's time base
  double seconds = 0;   // the same, in seconds
};

class VideoReader {
 public:
  // Throws atelier::Error in one line: no such file, a picture, not a video,
  // no video stream, no decoder.
  explicit VideoReader(const std::string& path);
  ~VideoReader();
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;

  const VideoInfo& info() const;
  // The next frame; false at the end, or where the file stops making sense
  // (cut short, corrupt): stopped_by() then says why.
  bool read(VideoFrame& frame);
  const std::string& stopped_by() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atelier
