// Header-only size parsing, so oversized images are refused before any
// pixel decoding (a 20000x20000 JPEG would otherwise allocate gigabytes).
#include <climits>
#include <cstdlib>

#include "atelier/error.hpp"
#include <cstring>

#include "image/image_format.hpp"

namespace atelier::image_detail {

ByteView ByteView::sub(std::size_t offset, std::size_t count) const {
  need(offset, count);
  return ByteView(data_ + offset, count);
}

std::uint8_t ByteView::u8(std::size_t offset) const {
  need(offset, 1);
  return data_[offset];
}

std::uint16_t ByteView::u16(std::size_t offset, bool big_endian) const {
  need(offset, 2);
  const unsigned a = data_[offset], b = data_[offset + 1];
  return static_cast<std::uint16_t>(big_endian ? (a << 8) | b : (b << 8) | a);
}

std::uint32_t ByteView::u24le(std::size_t offset) const {
  need(offset, 3);
  return data_[offset] | (data_[offset + 1] << 8) | (std::uint32_t{data_[offset + 2]} << 16);
}

std::uint32_t ByteView::u32(std::size_t offset, bool big_endian) const {
  const std::uint32_t first = u16(offset, big_endian), second = u16(offset + 2, big_endian);
  return big_endian ? (first << 16) | second : (second << 16) | first;
}

bool ByteView::matches(std::size_t offset, const char* text, std::size_t count) const {
  return offset <= size_ && count <= size_ - offset &&
         std::equal(text, text + count, data_ + offset,
                    [](char c, unsigned char byte) { return static_cast<unsigned char>(c) == byte; });
}

void ByteView::need(std::size_t offset, std::size_t count) const {
  if (offset > size_ || count > size_ - offset) throw TruncatedData{};
}

const char* format_name(Format format) {
  switch (format) {
    case Format::png: return "PNG";
    case Format::jpeg: return "JPEG";
    case Format::webp: return "WebP";
    case Format::tiff: return "TIFF";
    case Format::bmp: return "BMP";
    case Format::unknown: break;
  }
  return "unknown";
}

Format sniff_format(const std::vector<unsigned char>& bytes) {
  const ByteView view(bytes.data(), bytes.size());
  if (view.matches(0, "\x89PNG\r\n\x1a\n", 8)) return Format::png;
  if (view.matches(0, "\xFF\xD8\xFF", 3)) return Format::jpeg;
  if (view.matches(0, "RIFF", 4) && view.matches(8, "WEBP", 4)) return Format::webp;
  if (view.matches(0, "II*\0", 4) || view.matches(0, "MM\0*", 4)) return Format::tiff;
  if (view.matches(0, "BM", 2)) return Format::bmp;
  return Format::unknown;
}

void for_each_jpeg_segment(ByteView jpeg,
                           const std::function<bool(std::uint8_t, ByteView)>& visit) {
  std::size_t pos = 2;  // past SOI
  for (;;) {
    // Like libjpeg, tolerate stray bytes before a marker and fill 0xFF bytes.
    while (jpeg.u8(pos) != 0xFF) ++pos;
    while (jpeg.u8(pos) == 0xFF) ++pos;
    const std::uint8_t marker = jpeg.u8(pos++);
    const bool standalone = marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7);
    if (standalone) continue;
    if (marker == 0xDA || marker == 0xD9) return;  // scan data or EOI: headers are over
    const std::uint16_t length = jpeg.u16(pos, true);
    if (length < 2) throw TruncatedData{};
    if (!visit(marker, jpeg.sub(pos + 2, length - 2u))) return;
    pos += length;
  }
}

std::optional<std::uint32_t> tiff_first_ifd_value(ByteView tiff, std::uint16_t tag) {
  const bool big = tiff.matches(0, "MM", 2);
  if (!big && !tiff.matches(0, "II", 2)) throw TruncatedData{};
  if (tiff.u16(2, big) != 42) throw TruncatedData{};
  const std::uint32_t ifd = tiff.u32(4, big);
  const std::uint16_t entries = tiff.u16(ifd, big);
  for (std::uint32_t i = 0; i < entries; ++i) {
    const std::size_t entry = std::size_t{ifd} + 2 + 12 * std::size_t{i};
    if (tiff.u16(entry, big) != tag) continue;
    // A single SHORT sits left-justified in the 4-byte value field.
    switch (tiff.u16(entry + 2, big)) {
      case 3: return tiff.u16(entry + 8, big);
      case 4: return tiff.u32(entry + 8, big);
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace {

bool is_jpeg_frame_marker(std::uint8_t marker) {
  // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC) which share the range.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// The raw dimensions; 0 means "not found" and is rejected by the caller.
std::pair<std::int64_t, std::int64_t> png_size(ByteView v) {
  if (!v.matches(12, "IHDR", 4)) throw TruncatedData{};
  return {v.u32(16, true), v.u32(20, true)};
}

std::pair<std::int64_t, std::int64_t> jpeg_size(ByteView v) {
  std::pair<std::int64_t, std::int64_t> size{0, 0};
  for_each_jpeg_segment(v, [&](std::uint8_t marker, ByteView payload) {
    if (!is_jpeg_frame_marker(marker)) return true;
    size = {payload.u16(3, true), payload.u16(1, true)};  // P, Y, X
    return false;
  });
  return size;
}

std::pair<std::int64_t, std::int64_t> bmp_size(ByteView v) {
  const std::uint32_t dib_size = v.u32(14, false);
  if (dib_size == 12) return {v.u16(18, false), v.u16(20, false)};  // BITMAPCOREHEADER
  const auto width = static_cast<std::int32_t>(v.u32(18, false));
  const auto height = static_cast<std::int32_t>(v.u32(22, false));
  return {width, std::llabs(height)};  // negative height means top-down rows
}

std::pair<std::int64_t, std::int64_t> webp_size(ByteView v) {
  const ByteView chunk = v.sub(20);
  if (v.matches(12, "VP8 ", 4)) {
    if (!chunk.matches(3, "\x9D\x01\x2A", 3)) throw TruncatedData{};
    return {chunk.u16(6, false) & 0x3FFF, chunk.u16(8, false) & 0x3FFF};
  }
  if (v.matches(12, "VP8L", 4)) {
    if (chunk.u8(0) != 0x2F) throw TruncatedData{};
    const std::uint32_t bits = chunk.u32(1, false);  // two 14-bit fields, minus one
    return {(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (v.matches(12, "VP8X", 4)) return {chunk.u24le(4) + 1, chunk.u24le(7) + 1};
  throw TruncatedData{};
}

std::pair<std::int64_t, std::int64_t> tiff_size(ByteView v) {
  return {tiff_first_ifd_value(v, 256).value_or(0), tiff_first_ifd_value(v, 257).value_or(0)};
}

std::pair<std::int64_t, std::int64_t> raw_size(ByteView view, Format format) {
  switch (format) {
    case Format::png: return png_size(view);
    case Format::jpeg: return jpeg_size(view);
    case Format::bmp: return bmp_size(view);
    case Format::webp: return webp_size(view);
    case Format::tiff: return tiff_size(view);
    case Format::unknown: break;
  }
  throw TruncatedData{};
}

}  // namespace

ImageSize parse_header_size(const std::vector<unsigned char>& bytes, Format format,
                            const std::string& path) {
  const auto bad_header = [&] {
    return Error("cannot read " + path + ": truncated or malformed " + format_name(format) +
                 " header");
  };
  std::pair<std::int64_t, std::int64_t> size;
  try {
    size = raw_size(ByteView(bytes.data(), bytes.size()), format);
  } catch (const TruncatedData&) {
    throw bad_header();
  }
  const auto valid = [](std::int64_t side) { return side > 0 && side <= INT_MAX; };
  if (!valid(size.first) || !valid(size.second)) throw bad_header();
  return {static_cast<int>(size.first), static_cast<int>(size.second)};
}

std::string missing_end(const std::vector<unsigned char>& bytes, Format format) {
  if (format == Format::jpeg) {
    // Entropy-coded data never holds FF DA or FF D9 (FF is stuffed), and an
    // EXIF thumbnail's own markers come before the main image's scans.
    std::size_t last_scan = 0;
    for (std::size_t i = 0; i + 1 < bytes.size(); ++i)
      if (bytes[i] == 0xFF && bytes[i + 1] == 0xDA) last_scan = i;
    for (std::size_t i = last_scan; i + 1 < bytes.size(); ++i)
      if (bytes[i] == 0xFF && bytes[i + 1] == 0xD9) return "";
    return "no end-of-image marker";
  }
  if (format == Format::png) {
    // Chunks: length (4, big-endian), type (4), data, CRC (4), from offset 8.
    std::size_t at = 8;
    while (at + 8 <= bytes.size()) {
      const std::size_t length = (std::size_t{bytes[at]} << 24) | (std::size_t{bytes[at + 1]} << 16) |
                                 (std::size_t{bytes[at + 2]} << 8) | bytes[at + 3];
      if (std::memcmp(&bytes[at + 4], "IEND", 4) == 0) return "";
      at += 12 + length;
    }
    return "no IEND chunk";
  }
  return "";
}

}  // namespace atelier::image_detail
