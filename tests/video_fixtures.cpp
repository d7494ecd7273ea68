#include "video_fixtures.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace atelier::testing {

namespace {

void check(int code, const char* what) {
  if (code < 0) throw std::runtime_error(std::string("video fixture: ") + what + " failed");
}

struct Encoder {
  AVCodecContext* context = nullptr;
  AVStream* stream = nullptr;
  ~Encoder() { avcodec_free_context(&context); }
};

void drain(AVFormatContext* muxer, Encoder& encoder, const AVFrame* frame) {
  check(avcodec_send_frame(encoder.context, frame), "send frame");
  AVPacket* packet = av_packet_alloc();
  while (avcodec_receive_packet(encoder.context, packet) == 0) {
    av_packet_rescale_ts(packet, encoder.context->time_base, encoder.stream->time_base);
    packet->stream_index = encoder.stream->index;
    check(av_interleaved_write_frame(muxer, packet), "write packet");
  }
  av_packet_free(&packet);
}

}  // namespace

void write_clip(const std::string& path, const ClipSpec& spec) {
  av_log_set_level(AV_LOG_QUIET);
  AVFormatContext* muxer = nullptr;
  check(avformat_alloc_output_context2(&muxer, nullptr, nullptr, path.c_str()), "muxer");
  Encoder video;
  const AVCodec* mpeg4 = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  if (spec.video) {
    video.context = avcodec_alloc_context3(mpeg4);
    video.context->width = spec.width;
    video.context->height = spec.height;
    video.context->pix_fmt = AV_PIX_FMT_YUV420P;
    video.context->framerate = AVRational{spec.rate_num, spec.rate_den};
    video.context->time_base = spec.time_base_den > 0 ? AVRational{1, spec.time_base_den}
                                                      : AVRational{spec.rate_den, spec.rate_num};
    video.context->flags |= AV_CODEC_FLAG_QSCALE;
    video.context->global_quality = FF_QP2LAMBDA * 2;
    if (muxer->oformat->flags & AVFMT_GLOBALHEADER) video.context->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    check(avcodec_open2(video.context, mpeg4, nullptr), "open mpeg4");
    video.stream = avformat_new_stream(muxer, nullptr);
    avcodec_parameters_from_context(video.stream->codecpar, video.context);
    video.stream->time_base = video.context->time_base;
    video.stream->avg_frame_rate = video.context->framerate;
    if (spec.rotation != 0) {
      auto* matrix = reinterpret_cast<int32_t*>(
          av_stream_new_side_data(video.stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
      av_display_rotation_set(matrix, spec.rotation);  // FFmpeg reads it back as -rotation: clockwise
    }
  }

  Encoder audio;
  const double seconds = spec.frames * double(spec.rate_den) / spec.rate_num;
  if (!spec.audio.empty()) {
    const AVCodec* codec = avcodec_find_encoder_by_name(spec.audio.c_str());
    audio.context = avcodec_alloc_context3(codec);
    audio.context->sample_rate = 16000;
    audio.context->sample_fmt = spec.audio == "aac" ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_S16;
    av_channel_layout_default(&audio.context->ch_layout, 1);
    audio.context->bit_rate = 64000;
    audio.context->time_base = AVRational{1, 16000};
    if (muxer->oformat->flags & AVFMT_GLOBALHEADER) audio.context->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    check(avcodec_open2(audio.context, codec, nullptr), "open audio encoder");
    audio.stream = avformat_new_stream(muxer, nullptr);
    avcodec_parameters_from_context(audio.stream->codecpar, audio.context);
    audio.stream->time_base = audio.context->time_base;
  }
  check(avio_open(&muxer->pb, path.c_str(), AVIO_FLAG_WRITE), "open file");
  check(avformat_write_header(muxer, nullptr), "header");

  if (audio.context) {  // all the sound first: the muxer interleaves
    const int chunk = audio.context->frame_size > 0 ? audio.context->frame_size : 1024;
    const int total = static_cast<int>(seconds * 16000);
    AVFrame* samples = av_frame_alloc();
    for (int start = 0; start < total; start += chunk) {
      samples->nb_samples = std::min(chunk, total - start);
      if (spec.audio == "aac") samples->nb_samples = chunk;  // whole frames
      samples->format = audio.context->sample_fmt;
      av_channel_layout_copy(&samples->ch_layout, &audio.context->ch_layout);
      samples->sample_rate = 16000;
      check(av_frame_get_buffer(samples, 0), "audio buffer");
      for (int i = 0; i < samples->nb_samples; ++i) {
        const double value = 0.3 * std::sin(2 * M_PI * 440 * (start + i) / 16000.0);
        if (spec.audio == "aac")
          reinterpret_cast<float*>(samples->data[0])[i] = static_cast<float>(value);
        else
          reinterpret_cast<int16_t*>(samples->data[0])[i] = static_cast<int16_t>(value * 32767);
      }
      samples->pts = start;
      drain(muxer, audio, samples);
      av_frame_unref(samples);
    }
    av_frame_free(&samples);
    drain(muxer, audio, nullptr);
  }

  if (spec.video) {
    AVFrame* frame = av_frame_alloc();
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = spec.width;
    frame->height = spec.height;
    check(av_frame_get_buffer(frame, 0), "frame buffer");
    for (int i = 0; i < spec.frames; ++i) {
      check(av_frame_make_writable(frame), "writable");
      for (int y = 0; y < spec.height; ++y)
        for (int x = 0; x < spec.width; ++x)
          frame->data[0][y * frame->linesize[0] + x] = static_cast<uint8_t>((x * 4 + i * 8 + y * 2) % 256);
      for (int y = 0; y < spec.height / 2; ++y)
        for (int x = 0; x < spec.width / 2; ++x) {
          frame->data[1][y * frame->linesize[1] + x] = static_cast<uint8_t>(64 + (y * 5) % 128);
          frame->data[2][y * frame->linesize[2] + x] = static_cast<uint8_t>(64 + (x * 3 + i * 4) % 128);
        }
      frame->pts = spec.pts.empty() ? i : spec.pts[i];
      drain(muxer, video, frame);
    }
    av_frame_free(&frame);
    drain(muxer, video, nullptr);
  }
  check(av_write_trailer(muxer), "trailer");
  avio_closep(&muxer->pb);
  avformat_free_context(muxer);
}

StreamFacts read_stream_facts(const std::string& path) {
  StreamFacts facts;
  AVFormatContext* input = nullptr;
  check(avformat_open_input(&input, path.c_str(), nullptr, nullptr), "open input");
  check(avformat_find_stream_info(input, nullptr), "stream info");
  const int video = av_find_best_stream(input, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const int audio = av_find_best_stream(input, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (video >= 0) {
    const AVCodecParameters* parameters = input->streams[video]->codecpar;
    facts.video_codec = avcodec_get_name(parameters->codec_id);
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(parameters->format));
    facts.pixel_format = name ? name : "";
  }
  if (audio >= 0) {
    facts.audio_codec = avcodec_get_name(input->streams[audio]->codecpar->codec_id);
    AVPacket* packet = av_packet_alloc();
    while (av_read_frame(input, packet) >= 0) {
      if (packet->stream_index == audio)
        facts.audio_packets.emplace_back(reinterpret_cast<const char*>(packet->data), packet->size);
      av_packet_unref(packet);
    }
    av_packet_free(&packet);
  }
  avformat_close_input(&input);
  return facts;
}

}  // namespace atelier::testing
