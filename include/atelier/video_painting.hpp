// Painting a whole video, the way every front end does, in two stages:
// each frame painted (any method, given as a function) and saved as a
// lossless PNG in a work folder beside the output (OUT.frames/, so that an
// interrupted run resumes where it stopped, and so that shards on several
// machines can share the painting, each its own frames); then the assembly:
// each painting blended with the previous output along the optical flow of
// the input frames (temporal.hpp) unless the weight is 0, and written into
// OUT through a temporary file: H.264 (or MJPEG in .avi) at the input's own
// frame times, with its rotation metadata and its audio stream copied
// through. One run does both stages; the same frames give the same file
// however they were painted.
#pragma once
#include <opencv2/core.hpp>

#include <functional>
#include <memory>
#include <string>

#include "atelier/gatys_options.hpp"
#include "atelier/shard.hpp"
#include "atelier/temporal.hpp"
#include "atelier/video_reader.hpp"

namespace atelier {

// Paints one frame: CV_32FC3 RGB in [0,1] in, the same out (any size: it is
// fitted to the frame's). Frames come as a player shows them: a clip with
// rotation metadata (a phone's portrait video) upright.
using VideoFramePainter = std::function<cv::Mat(const cv::Mat& rgb)>;

// What a method that follows the motion itself (Gatys on video) sees of a
// frame besides its pixels: the frame and the one before as decoded (8-bit
// BGR) and that one's painting as saved (CV_32FC3 RGB [0,1]); the previous
// ones are empty for the first frame.
struct VideoFrameHistory {
  cv::Mat bgr, previous_bgr, previous_painting;
};
using SequentialFramePainter = std::function<cv::Mat(const cv::Mat& rgb, const VideoFrameHistory& history)>;

// Gatys on video (Ruder et al. 2016): the frame's optimisation starts from
// the previous painting carried along the optical flow and is held to it,
// where the flow is reliable, by a temporal loss of weight
// `temporal_weight` (0..1, as --temporal-weight) times
// kGatysTemporalLossScale. The first frame (no history) and a weight of 0
// leave `options` as they are.
constexpr double kGatysTemporalLossScale = 2e4;
void follow_previous_painting(GatysOptions& options, const OpticalFlow& flow, const VideoFrameHistory& history,
                              double temporal_weight);

struct VideoPaintingOptions {
  double temporal_weight = kDefaultTemporalWeight;  // 0: every frame on its own (used by the assembly)
  bool resume = false;  // continue from the work folder of an interrupted run (shards share it: they set this)
  long long max_frames = 0;  // paint only the first frames (and their sound); 0: all
  // What shapes each painting (a JSON object, the front end's own words; empty:
  // not checked): kept in the work folder by the first paint(), and a folder
  // painted with other settings is refused, so that shards and resumed runs
  // cannot mix paintings of two styles in one video.
  std::string painting_settings;
};

struct VideoPaintingResult {
  long long frames = 0;       // frames of the video (so far, when interrupted)
  long long painted = 0;      // frames painted by this call
  bool interrupted = false;   // stopped on request: the work folder stays for a resume
  std::string audio_notice;   // one line when the input's sound could not be kept
  std::string stopped_by;     // why the input ended early, if it said
};

class VideoPainting {
 public:
  // Checks everything that can be known before painting and opens the input.
  // One-line atelier::Error: unknown output extension, a missing directory,
  // the output being the input, a work folder left without `resume` or
  // painted with other `painting_settings`, an input that is not a video.
  VideoPainting(const std::string& input, const std::string& output, const VideoPaintingOptions& options);
  ~VideoPainting();

  const VideoInfo& info() const;
  // Frames of `shard` already painted in the work folder.
  long long frames_already_painted(const Shard& shard = {}) const;
  const std::string& work_folder() const;

  // Both stages, as one process does them: paint(), then assemble() unless
  // interrupted. on_frame(index + 1) follows each frame painted.
  VideoPaintingResult run(const VideoFramePainter& paint, const std::function<void(long long)>& on_frame = {},
                          const std::function<bool()>& stop = {});

  // The first stage: paints the frames of `shard` (index % count) not yet in
  // the work folder, calling `on_frame(index + 1)` after each, and keeps the
  // folder; stops when `stop()` says so.
  VideoPaintingResult paint(const VideoFramePainter& paint, const Shard& shard = {},
                            const std::function<void(long long)>& on_frame = {},
                            const std::function<bool()>& stop = {});
  // The first stage for a method that follows the motion: every frame not
  // yet in the work folder, in order, each seeing the painting before it
  // (read back from the folder, so a resumed run sees what one run would).
  VideoPaintingResult paint_in_order(const SequentialFramePainter& paint,
                                     const std::function<void(long long)>& on_frame = {},
                                     const std::function<bool()>& stop = {});
  // Before the second stage: the number of frames, once every one is painted
  // (else a one-line atelier::Error naming the missing ones).
  long long check_all_painted();
  // The second stage: check_all_painted() unless paint() has just painted
  // them all, then blends and writes the output, calling `on_frame(index +
  // 1)` after each frame, and removes the work folder; stops, keeping it,
  // when `stop()` says so.
  VideoPaintingResult assemble(const std::function<void(long long)>& on_frame = {},
                               const std::function<bool()>& stop = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atelier
