// Writing a video file the way every front end does: the codec chosen from
// the output's extension, frames written to a temporary file beside it,
// renamed into place when complete.
#pragma once
#include <opencv2/videoio.hpp>

#include <string>

namespace atelier {

// .mp4/.mov: mp4v, .avi: MJPG. Throws atelier::Error for anything else.
int fourcc_for(const std::string& output);

class VideoFile {
 public:
  // Throws atelier::Error when no encoder opens.
  VideoFile(const std::string& output, double fps, cv::Size size);
  void write(const cv::Mat& bgr8) { writer_.write(bgr8); }
  // Closes the file and renames it to the output.
  void finish();

 private:
  std::string output_, temporary_;
  cv::VideoWriter writer_;
};

// A picture (CV_32FC3 RGB in [0,1], any size) as a frame for write():
// resized to `size` (cubic), 8-bit BGR.
cv::Mat video_frame(const cv::Mat& rgb, cv::Size size);

}  // namespace atelier
