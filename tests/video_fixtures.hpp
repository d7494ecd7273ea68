// Small synthetic videos written with FFmpeg's libraries for the video tests:
// moving gradients, any frame timestamps (variable rates), rotation metadata
// and a sine-wave audio track (PCM or AAC); and what a test reads back.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace atelier::testing {

struct ClipSpec {
  int frames = 12, width = 64, height = 48;
  int rate_num = 12, rate_den = 1;  // nominal frame rate
  int time_base_den = 0;            // 0: one unit per frame; else 1/time_base_den s
  std::vector<int64_t> pts;         // frame timestamps in the time base (empty: regular)
  int rotation = 0;                 // degrees clockwise a player turns it (display matrix)
  std::string audio;                // "", "pcm_s16le" or "aac": a 440 Hz tone over the clip
  bool video = true;                // false: the sound alone
};

// Writes `path` (container from the extension; MPEG-4 Part 2 video).
void write_clip(const std::string& path, const ClipSpec& spec);

struct StreamFacts {
  std::string video_codec, pixel_format, audio_codec;
  std::vector<std::string> audio_packets;  // the audio stream's packets, byte for byte
};
StreamFacts read_stream_facts(const std::string& path);

}  // namespace atelier::testing
