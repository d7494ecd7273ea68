// Painting a whole video, the way every front end does: each frame painted
// (any method, given as a function), blended with the previous output along
// the optical flow (temporal.hpp) unless the weight is 0, saved as a lossless
// PNG in a work folder beside the output (OUT.frames/, so that an interrupted
// run resumes where it stopped), then assembled into OUT through a temporary
// file: H.264 (or MJPEG in .avi) at the input's own frame times, with its
// rotation metadata and its audio stream copied through.
#pragma once
#include <opencv2/core.hpp>

#include <functional>
#include <memory>
#include <string>

#include "atelier/temporal.hpp"
#include "atelier/video_reader.hpp"

namespace atelier {

// Paints one frame: CV_32FC3 RGB in [0,1] in, the same out (any size: it is
// fitted to the frame's).
using VideoFramePainter = std::function<cv::Mat(const cv::Mat& rgb)>;

struct VideoPaintingOptions {
  double temporal_weight = kDefaultTemporalWeight;  // 0: every frame on its own
  bool resume = false;  // continue from the work folder of an interrupted run
  long long max_frames = 0;  // paint only the first frames (and their sound); 0: all
};

struct VideoPaintingResult {
  long long frames = 0;       // frames written (or painted, when interrupted)
  bool interrupted = false;   // stopped on request: the work folder stays for a resume
  std::string audio_notice;   // one line when the input's sound could not be kept
  std::string stopped_by;     // why the input ended early, if it said
};

class VideoPainting {
 public:
  // Checks everything that can be known before painting and opens the input.
  // One-line atelier::Error: unknown output extension, a missing directory,
  // the output being the input, a work folder left without `resume`, an
  // input that is not a video.
  VideoPainting(const std::string& input, const std::string& output, const VideoPaintingOptions& options);
  ~VideoPainting();

  const VideoInfo& info() const;
  long long frames_already_painted() const;  // found in the work folder
  const std::string& work_folder() const;

  // Paints every frame not yet in the work folder, calling `on_frame(index
  // + 1)` after each; stops, keeping the folder, when `stop()` says so.
  // Otherwise assembles the output and removes the folder.
  VideoPaintingResult run(const VideoFramePainter& paint, const std::function<void(long long)>& on_frame = {},
                          const std::function<bool()>& stop = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atelier
