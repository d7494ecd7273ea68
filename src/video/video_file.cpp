#include "atelier/video_file.hpp"

#include <opencv2/imgproc.hpp>

#include <cstring>
#include <filesystem>
#include <limits>

#include "atelier/error.hpp"
#include "video/libav.hpp"

namespace atelier {

using namespace video;
namespace fs = std::filesystem;

std::string video_codec_for(const std::string& output) {
  const std::string extension = fs::path(output).extension().string();
  if (extension == ".mp4" || extension == ".mov" || extension == ".mkv") return "h264";
  if (extension == ".avi") return "mjpeg";
  throw Error("cannot write " + output + ": use a .mp4, .mov, .mkv or .avi output");
}

namespace {

struct OutputDeleter {
  void operator()(AVFormatContext* context) const {
    if (context->pb) avio_closep(&context->pb);
    avformat_free_context(context);
  }
};

cv::Size even(cv::Size size) { return {size.width + size.width % 2, size.height + size.height % 2}; }

}  // namespace

struct VideoFile::Impl {
  std::string output, temporary, audio_notice;
  cv::Size requested, size;
  std::unique_ptr<AVFormatContext, OutputDeleter> muxer;
  CodecPtr encoder;
  AVStream* video = nullptr;
  ScalerPtr scaler;
  FramePtr picture{av_frame_alloc()};
  PacketPtr packet{av_packet_alloc()};
  bool constant_rate = false;  // AVI: frames by index, timestamps ignored
  int64_t next_pts = 0, last_pts = std::numeric_limits<int64_t>::min();
  bool finished = false;
  // The source's audio, copied packet by packet in step with the frames.
  InputPtr audio_input;
  int audio_index = -1;
  AVStream* audio = nullptr;
  PacketPtr audio_packet{av_packet_alloc()};
  bool audio_pending = false, audio_done = true;

  std::string fail(const std::string& why) const { return "cannot write " + output + ": " + why; }

  void open(const VideoFileOptions& options) {
    quiet_ffmpeg_logs();
    const std::string codec_name = video_codec_for(output);
    const fs::path target(output);
    temporary = (target.parent_path() / ("." + target.stem().string() + ".tmp" + target.extension().string())).string();
    AVFormatContext* raw = nullptr;
    if (avformat_alloc_output_context2(&raw, nullptr, nullptr, temporary.c_str()) < 0 || !raw)
      throw Error(fail("no muxer for it in this FFmpeg"));
    muxer.reset(raw);
    open_encoder(codec_name, options);
    if (!options.display_matrix.empty() && options.display_matrix.size() == 9) {
      uint8_t* side = av_stream_new_side_data(video, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
      if (side) std::memcpy(side, options.display_matrix.data(), 9 * sizeof(int32_t));
    }
    if (!options.audio_from.empty()) open_audio(options.audio_from);
    const int opened = avio_open(&muxer->pb, temporary.c_str(), AVIO_FLAG_WRITE);
    if (opened < 0) throw Error(fail(av_message(opened)));
    AVDictionary* settings = nullptr;
    // The index first: a browser plays the file before it has all of it.
    const std::string extension = target.extension().string();
    if (extension == ".mp4" || extension == ".mov") {
      av_dict_set(&settings, "movflags", "+faststart", 0);
      // Copied AAC starts before 0 (its priming samples): an edit list says so,
      // rather than every frame moving later.
      muxer->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
    }
    const int header = avformat_write_header(muxer.get(), &settings);
    av_dict_free(&settings);
    if (header < 0) throw Error(fail(av_message(header)));
  }

  void open_encoder(const std::string& codec_name, const VideoFileOptions& options) {
    const bool h264 = codec_name == "h264";
    const AVCodec* codec =
        h264 ? avcodec_find_encoder_by_name("libx264") : avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec && h264) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
    if (!codec) throw Error(fail("no " + codec_name + " encoder in this FFmpeg"));
    encoder.reset(avcodec_alloc_context3(codec));
    const AVRational rate = options.frame_rate_num > 0 ? AVRational{options.frame_rate_num, options.frame_rate_den}
                                                       : av_d2q(options.fps, 100000);
    if (rate.num <= 0 || rate.den <= 0) throw Error(fail("the frame rate must be positive"));
    constant_rate = !h264;
    encoder->time_base = options.time_base_num > 0 && !constant_rate
                             ? AVRational{options.time_base_num, options.time_base_den}
                             : av_inv_q(rate);
    encoder->framerate = rate;
    encoder->width = size.width;
    encoder->height = size.height;
    encoder->pix_fmt = h264 ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUVJ420P;
    encoder->color_range = h264 ? AVCOL_RANGE_MPEG : AVCOL_RANGE_JPEG;
    encoder->colorspace = AVCOL_SPC_SMPTE170M;  // what swscale's default BT.601 conversion produces
    encoder->sample_aspect_ratio = AVRational{1, 1};
    if (h264) {
      av_opt_set(encoder->priv_data, "preset", "fast", 0);
      av_opt_set(encoder->priv_data, "crf", std::to_string(options.quality).c_str(), 0);
      // x264's macroblock tree reads memory it has not written (found with
      // MALLOC_PERTURB_): the same frames then encode differently from run to
      // run, and a resumed video differed from an uninterrupted one. Without
      // it the file is about a third larger at the same CRF, and repeatable.
      av_opt_set(encoder->priv_data, "x264-params", "mbtree=0", 0);
    } else {
      encoder->flags |= AV_CODEC_FLAG_QSCALE;
      encoder->global_quality = FF_QP2LAMBDA * 3;
    }
    if (muxer->oformat->flags & AVFMT_GLOBALHEADER) encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(encoder.get(), codec, nullptr) < 0) throw Error(fail("the " + codec_name + " encoder does not open"));
    video = avformat_new_stream(muxer.get(), nullptr);
    avcodec_parameters_from_context(video->codecpar, encoder.get());
    video->time_base = encoder->time_base;
    video->avg_frame_rate = rate;
    video->r_frame_rate = rate;
    picture->format = encoder->pix_fmt;
    picture->width = size.width;
    picture->height = size.height;
    picture->color_range = encoder->color_range;
    picture->colorspace = encoder->colorspace;
    if (av_frame_get_buffer(picture.get(), 0) < 0) throw Error(fail("out of memory"));
  }

  void open_audio(const std::string& source) {
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, source.c_str(), nullptr, nullptr) < 0) return;
    audio_input.reset(raw);
    if (avformat_find_stream_info(raw, nullptr) < 0) return;
    const int video_index = av_find_best_stream(raw, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    audio_index = av_find_best_stream(raw, AVMEDIA_TYPE_AUDIO, -1, video_index, nullptr, 0);
    if (audio_index < 0) return;
    const AVCodecParameters* parameters = raw->streams[audio_index]->codecpar;
    if (avformat_query_codec(muxer->oformat, parameters->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      audio_notice = fs::path(output).extension().string() + " cannot hold its " +
                     avcodec_get_name(parameters->codec_id) +
                     " audio: the sound is left out (a .mkv or .mov output keeps it)";
      return;
    }
    audio = avformat_new_stream(muxer.get(), nullptr);
    avcodec_parameters_copy(audio->codecpar, parameters);
    audio->codecpar->codec_tag = 0;  // the output container's own tag
    audio->time_base = raw->streams[audio_index]->time_base;
    audio_done = false;
  }

  // Copies the source's audio packets that play before `seconds`.
  void copy_audio_until(double seconds) {
    while (!audio_done) {
      if (!audio_pending) {
        if (av_read_frame(audio_input.get(), audio_packet.get()) < 0) {
          audio_done = true;
          return;
        }
        if (audio_packet->stream_index != audio_index) {
          av_packet_unref(audio_packet.get());
          continue;
        }
        audio_pending = true;
      }
      const AVRational from = audio_input->streams[audio_index]->time_base;
      const int64_t when = audio_packet->dts != AV_NOPTS_VALUE ? audio_packet->dts : audio_packet->pts;
      if (when != AV_NOPTS_VALUE && when * av_q2d(from) > seconds) return;
      av_packet_rescale_ts(audio_packet.get(), from, audio->time_base);
      audio_packet->stream_index = audio->index;
      audio_packet->pos = -1;
      const int written = av_interleaved_write_frame(muxer.get(), audio_packet.get());
      audio_pending = false;
      if (written < 0) throw Error(fail(av_message(written)));
    }
  }

  void encode(const AVFrame* frame) {
    const int sent = avcodec_send_frame(encoder.get(), frame);
    if (sent < 0 && sent != AVERROR_EOF) throw Error(fail("the encoder refused a frame (" + av_message(sent) + ")"));
    while (avcodec_receive_packet(encoder.get(), packet.get()) == 0) {
      av_packet_rescale_ts(packet.get(), encoder->time_base, video->time_base);
      packet->stream_index = video->index;
      const int written = av_interleaved_write_frame(muxer.get(), packet.get());
      if (written < 0) throw Error(fail(av_message(written)));
    }
  }

  void write(const cv::Mat& bgr8, int64_t pts) {
    if (finished) throw Error(fail("the file is already finished"));
    if (bgr8.type() != CV_8UC3 || bgr8.size() != requested)
      throw Error(fail("a frame is not 8-bit BGR of " + std::to_string(requested.width) + "x" +
                       std::to_string(requested.height)));
    cv::Mat padded = bgr8;
    if (size != requested)
      cv::copyMakeBorder(bgr8, padded, 0, size.height - requested.height, 0, size.width - requested.width,
                         cv::BORDER_REPLICATE);
    if (!padded.isContinuous()) padded = padded.clone();
    scaler.reset(sws_getCachedContext(scaler.release(), size.width, size.height, AV_PIX_FMT_BGR24, size.width,
                                      size.height, encoder->pix_fmt, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr,
                                      nullptr, nullptr));
    if (!scaler) throw Error(fail("no conversion to " + std::string(av_get_pix_fmt_name(encoder->pix_fmt))));
    if (av_frame_make_writable(picture.get()) < 0) throw Error(fail("out of memory"));
    const uint8_t* planes[1] = {padded.data};
    const int strides[1] = {static_cast<int>(padded.step)};
    sws_scale(scaler.get(), planes, strides, 0, size.height, picture->data, picture->linesize);
    if (constant_rate) pts = next_pts;
    if (pts <= last_pts) pts = last_pts + 1;  // timestamps must grow
    last_pts = pts;
    next_pts = pts + std::max<int64_t>(1, av_rescale_q(1, av_inv_q(encoder->framerate), encoder->time_base));
    picture->pts = pts;
    copy_audio_until(pts * av_q2d(encoder->time_base));
    encode(picture.get());
  }

  void finish(double audio_end) {
    encode(nullptr);
    copy_audio_until(audio_end);
    const int trailer = av_write_trailer(muxer.get());
    if (trailer < 0) throw Error(fail(av_message(trailer)));
    avio_closep(&muxer->pb);
    finished = true;
    fs::rename(temporary, output);
  }
};

VideoFile::VideoFile(const std::string& output, cv::Size size, const VideoFileOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->output = output;
  impl_->requested = size;
  impl_->size = even(size);
  if (size.width <= 0 || size.height <= 0) throw Error(impl_->fail("the frame size must be positive"));
  impl_->open(options);
}

VideoFile::VideoFile(const std::string& output, double fps, cv::Size size)
    : VideoFile(output, size, [fps] {
        VideoFileOptions options;
        options.fps = fps;
        return options;
      }()) {}

VideoFile::~VideoFile() {
  if (!impl_ || impl_->finished) return;
  impl_->muxer.reset();
  std::error_code ignored;
  if (!impl_->temporary.empty()) fs::remove(impl_->temporary, ignored);
}

VideoFile::VideoFile(VideoFile&&) noexcept = default;
VideoFile& VideoFile::operator=(VideoFile&&) noexcept = default;

void VideoFile::write(const cv::Mat& bgr8) { impl_->write(bgr8, impl_->next_pts); }
void VideoFile::write(const cv::Mat& bgr8, int64_t pts) { impl_->write(bgr8, pts); }
void VideoFile::finish(double audio_end) { impl_->finish(audio_end); }
cv::Size VideoFile::size() const { return impl_->size; }
const std::string& VideoFile::audio_notice() const { return impl_->audio_notice; }

cv::Mat video_frame(const cv::Mat& rgb, cv::Size size) {
  cv::Mat resized, bgr8;
  cv::resize(rgb, resized, size, 0, 0, cv::INTER_CUBIC);
  resized.convertTo(bgr8, CV_8UC3, 255.0);
  cv::cvtColor(bgr8, bgr8, cv::COLOR_RGB2BGR);
  return bgr8;
}

}  // namespace atelier
