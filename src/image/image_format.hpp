// Internal to src/image: container sniffing and header parsing shared by
// image_header.cpp, exif_orientation.cpp and image_io.cpp.
#pragma once
#include <opencv2/core.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "atelier/image.hpp"

namespace atelier::image_detail {

enum class Format { unknown, png, jpeg, webp, tiff, bmp };

const char* format_name(Format format);

// Identifies the container from its magic bytes (never from the extension).
Format sniff_format(const std::vector<unsigned char>& bytes);

// Thrown by ByteView when a read runs past the end of the buffer; the
// parsers turn it into a one-line atelier::Error (or ignore it for EXIF).
struct TruncatedData {};

// Bounds-checked integer reads over a borrowed byte range.
class ByteView {
 public:
  ByteView(const unsigned char* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t size() const { return size_; }
  ByteView sub(std::size_t offset, std::size_t count) const;
  ByteView sub(std::size_t offset) const { return sub(offset, size_ - std::min(offset, size_)); }
  std::uint8_t u8(std::size_t offset) const;
  std::uint16_t u16(std::size_t offset, bool big_endian) const;
  std::uint32_t u24le(std::size_t offset) const;
  std::uint32_t u32(std::size_t offset, bool big_endian) const;
  bool matches(std::size_t offset, const char* text, std::size_t count) const;

 private:
  void need(std::size_t offset, std::size_t count) const;
  const unsigned char* data_;
  std::size_t size_;
};

// Calls `visit(marker, payload)` for each JPEG marker segment before the
// scan data (SOS) until it returns false. `payload` excludes the length field.
void for_each_jpeg_segment(ByteView jpeg,
                           const std::function<bool(std::uint8_t, ByteView)>& visit);

// Value of a SHORT or LONG entry `tag` in the first IFD of a TIFF structure
// ("II*\0" or "MM\0*" header at the start of `tiff`), if present.
std::optional<std::uint32_t> tiff_first_ifd_value(ByteView tiff, std::uint16_t tag);

// Stored (pre-orientation) size from the header. Throws atelier::Error naming
// `path` for a truncated or malformed header.
ImageSize parse_header_size(const std::vector<unsigned char>& bytes, Format format,
                            const std::string& path);

// For a file cut short, what is missing ("no end-of-image marker"), else "".
// OpenCV decodes such files partially (grey or repeated rows below the cut)
// without a word. JPEG: no EOI (FF D9) after the last start of scan; PNG: the
// chunks end before IEND.
std::string missing_end(const std::vector<unsigned char>& bytes, Format format);

// EXIF orientation (1..8) from a JPEG's APP1 segment; 1 when absent or bad.
int jpeg_exif_orientation(const std::vector<unsigned char>& bytes);

// True for orientations 5..8, which swap width and height.
bool orientation_swaps_axes(int orientation);

// Returns `pixels` turned upright for the given EXIF orientation.
cv::Mat apply_exif_orientation(const cv::Mat& pixels, int orientation);

}  // namespace atelier::image_detail
