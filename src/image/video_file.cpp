#include "atelier/video_file.hpp"

#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "atelier/error.hpp"

namespace atelier {

namespace fs = std::filesystem;

int fourcc_for(const std::string& output) {
  const std::string extension = fs::path(output).extension().string();
  if (extension == ".mp4" || extension == ".mov") return cv::VideoWriter::fourcc('m', 'p', '4', 'v');
  if (extension == ".avi") return cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
  throw Error("cannot write " + output + ": use a .mp4, .mov or .avi output");
}

VideoFile::VideoFile(const std::string& output, double fps, cv::Size size) : output_(output) {
  const fs::path target(output);
  temporary_ = (target.parent_path() / ("." + target.stem().string() + ".tmp" + target.extension().string())).string();
  writer_.open(temporary_, cv::CAP_FFMPEG, fourcc_for(output), fps, size);
  if (!writer_.isOpened()) throw Error("cannot write " + output + ": no encoder for it in this OpenCV");
}

void VideoFile::finish() {
  writer_.release();
  fs::rename(temporary_, output_);
}

cv::Mat video_frame(const cv::Mat& rgb, cv::Size size) {
  cv::Mat resized, bgr8;
  cv::resize(rgb, resized, size, 0, 0, cv::INTER_CUBIC);
  resized.convertTo(bgr8, CV_8UC3, 255.0);
  cv::cvtColor(bgr8, bgr8, cv::COLOR_RGB2BGR);
  return bgr8;
}

}  // namespace atelier
