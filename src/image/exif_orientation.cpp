// EXIF orientation. cv::imdecode with IMREAD_UNCHANGED (needed to keep alpha
// and 16-bit samples) ignores it, so it is read and applied here. Only JPEG
// is covered: that is where cameras and phones put the tag.
#include "image/image_format.hpp"

namespace atelier::image_detail {

int jpeg_exif_orientation(const std::vector<unsigned char>& bytes) {
  constexpr std::uint16_t kOrientationTag = 0x0112;
  int orientation = 1;
  const auto read_app1 = [&](std::uint8_t marker, ByteView payload) {
    if (marker != 0xE1 || !payload.matches(0, "Exif\0\0", 6)) return true;  // keep looking
    const auto value = tiff_first_ifd_value(payload.sub(6), kOrientationTag);
    if (value && *value >= 1 && *value <= 8) orientation = static_cast<int>(*value);
    return false;
  };
  try {
    for_each_jpeg_segment(ByteView(bytes.data(), bytes.size()), read_app1);
  } catch (const TruncatedData&) {
    // A damaged EXIF block is not worth refusing the picture: keep it as stored.
  }
  return orientation;
}

bool orientation_swaps_axes(int orientation) { return orientation >= 5 && orientation <= 8; }

cv::Mat apply_exif_orientation(const cv::Mat& pixels, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(pixels, out, 1); return out;   // mirrored horizontally
    case 3: cv::flip(pixels, out, -1); return out;  // rotated 180
    case 4: cv::flip(pixels, out, 0); return out;   // mirrored vertically
    case 5: cv::transpose(pixels, out); return out;
    case 6: cv::rotate(pixels, out, cv::ROTATE_90_CLOCKWISE); return out;
    case 7: cv::transpose(pixels, out); cv::flip(out, out, -1); return out;  // transverse
    case 8: cv::rotate(pixels, out, cv::ROTATE_90_COUNTERCLOCKWISE); return out;
    default: return pixels;
  }
}

}  // namespace atelier::image_detail
