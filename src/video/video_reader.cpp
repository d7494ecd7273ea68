#include "atelier/video_reader.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "video/libav.hpp"

namespace atelier {
namespace video {

std::string av_message(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

void quiet_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(std::getenv("ATELIER_FFMPEG_LOG") ? AV_LOG_INFO : AV_LOG_QUIET); });
}

}  // namespace video

using namespace video;

namespace {

std::string picture_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(64);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return sniff_image_format(head);
}

// Degrees clockwise to turn the frames upright, as ffmpeg's autorotate does.
int clockwise_rotation(const int32_t* matrix) {
  const double counterclockwise = av_display_rotation_get(matrix);
  if (std::isnan(counterclockwise)) return 0;
  long degrees = std::lround(-counterclockwise) % 360;
  if (degrees < 0) degrees += 360;
  return static_cast<int>(degrees);
}

}  // namespace

struct VideoReader::Impl {
  std::string path;
  InputPtr input;
  CodecPtr decoder;
  PacketPtr packet{av_packet_alloc()};
  FramePtr frame{av_frame_alloc()};
  ScalerPtr scaler;
  int stream = -1;
  VideoInfo info;
  std::string stopped_by;
  bool draining = false, done = false;
  int64_t next_pts = 0;  // for frames without a timestamp

  std::string fail(const std::string& why) const { return "cannot read " + path + ": " + why; }

  void open() {
    quiet_ffmpeg_logs();
    if (!std::filesystem::is_regular_file(path)) throw Error(fail("no such file"));
    // FFmpeg opens a picture as a one-frame "video".
    const std::string picture = picture_format(path);
    if (!picture.empty()) throw Error(fail("it is a " + picture + " picture, not a video"));
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0)
      throw Error(fail("not a video FFmpeg can read (unknown container)"));
    input.reset(raw);
    if (avformat_find_stream_info(input.get(), nullptr) < 0) throw Error(fail("not a video (no stream information)"));
    const AVCodec* codec = nullptr;
    stream = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream == AVERROR_STREAM_NOT_FOUND) throw Error(fail("it has no video stream"));
    if (stream < 0 || !codec) throw Error(fail("no decoder for its video codec in this FFmpeg"));
    AVStream* video = input->streams[stream];
    decoder.reset(avcodec_alloc_context3(codec));
    avcodec_parameters_to_context(decoder.get(), video->codecpar);
    decoder->thread_count = 0;  // FFmpeg's choice
    if (avcodec_open2(decoder.get(), codec, nullptr) < 0) throw Error(fail("its video decoder does not open"));
    describe(video, codec);
  }

  void describe(AVStream* video, const AVCodec* codec) {
    info.size = {video->codecpar->width, video->codecpar->height};
    if (info.size.width <= 0 || info.size.height <= 0) throw Error(fail("not a video (no frame size)"));
    info.codec = codec->name;
    info.time_base_num = video->time_base.num;
    info.time_base_den = video->time_base.den;
    AVRational rate = video->r_frame_rate.num > 0 ? video->r_frame_rate : video->avg_frame_rate;
    const AVRational average = video->avg_frame_rate.num > 0 ? video->avg_frame_rate : rate;
    if (rate.num <= 0 || rate.den <= 0) throw Error(fail("not a video (no frame rate)"));
    info.frame_rate_num = rate.num;
    info.frame_rate_den = rate.den;
    info.fps = av_q2d(average);
    if (video->nb_frames > 0) {
      info.frame_count = video->nb_frames;
    } else {
      const double seconds = video->duration != AV_NOPTS_VALUE ? video->duration * av_q2d(video->time_base)
                             : input->duration != AV_NOPTS_VALUE ? input->duration / double(AV_TIME_BASE)
                                                                 : 0.0;
      info.frame_count = static_cast<long long>(std::floor(seconds * info.fps + 0.5));
    }
    size_t bytes = 0;
    if (const uint8_t* matrix = av_stream_get_side_data(video, AV_PKT_DATA_DISPLAYMATRIX, &bytes);
        matrix && bytes >= 9 * sizeof(int32_t)) {
      info.display_matrix.resize(9);
      std::memcpy(info.display_matrix.data(), matrix, 9 * sizeof(int32_t));
      info.rotation = clockwise_rotation(info.display_matrix.data());
    }
    const int audio = av_find_best_stream(input.get(), AVMEDIA_TYPE_AUDIO, -1, stream, nullptr, 0);
    if (audio >= 0) info.audio_codec = avcodec_get_name(input->streams[audio]->codecpar->codec_id);
  }

  // Feeds the decoder until it gives a frame; false at the end.
  bool decode_next() {
    while (true) {
      const int received = avcodec_receive_frame(decoder.get(), frame.get());
      if (received == 0) return true;
      if (received == AVERROR_EOF) return false;
      if (received != AVERROR(EAGAIN)) {
        if (stopped_by.empty()) stopped_by = "its video data does not decode (" + av_message(received) + ")";
        return false;
      }
      if (draining) return false;
      const int read = av_read_frame(input.get(), packet.get());
      if (read < 0) {
        if (read != AVERROR_EOF) stopped_by = "it stops making sense (" + av_message(read) + ")";
        draining = true;
        avcodec_send_packet(decoder.get(), nullptr);
        continue;
      }
      if (packet->stream_index == stream) {
        const int sent = avcodec_send_packet(decoder.get(), packet.get());
        // A damaged packet is skipped, as players do; the next may decode.
        if (sent < 0 && sent != AVERROR(EAGAIN) && stopped_by.empty())
          stopped_by = "a damaged frame (" + av_message(sent) + ")";
      }
      av_packet_unref(packet.get());
    }
  }

  void convert(VideoFrame& out) {
    const int width = frame->width, height = frame->height;
    scaler.reset(sws_getCachedContext(scaler.release(), width, height, static_cast<AVPixelFormat>(frame->format),
                                      width, height, AV_PIX_FMT_BGR24,
                                      SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr,
                                      nullptr));
    if (!scaler) throw Error(fail("its pixel format cannot be converted"));
    out.bgr.create(height, width, CV_8UC3);
    uint8_t* planes[1] = {out.bgr.data};
    const int strides[1] = {static_cast<int>(out.bgr.step)};
    sws_scale(scaler.get(), frame->data, frame->linesize, 0, height, planes, strides);
    int64_t pts = frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = next_pts;
    const AVRational base{info.time_base_num, info.time_base_den};
    const int64_t step = std::max<int64_t>(
        1, av_rescale_q(1, AVRational{info.frame_rate_den, info.frame_rate_num}, base));
    next_pts = pts + step;
    out.pts = pts;
    out.seconds = pts * av_q2d(base);
  }
};

VideoReader::VideoReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->open();
}
VideoReader::~VideoReader() = default;
VideoReader::VideoReader(VideoReader&&) noexcept = default;
VideoReader& VideoReader::operator=(VideoReader&&) noexcept = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
const std::string& VideoReader::stopped_by() const { return impl_->stopped_by; }

bool VideoReader::read(VideoFrame& frame) {
  if (impl_->done) return false;
  if (!impl_->decode_next()) {
    impl_->done = true;
    return false;
  }
  impl_->convert(frame);
  av_frame_unref(impl_->frame.get());
  return true;
}

}  // namespace atelier
