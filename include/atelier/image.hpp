// Image I/O. In memory an image is float RGB in [0,1] (CV_32FC3, channel
// order R,G,B) plus an optional alpha plane (CV_32FC1, [0,1]). Stylisers work
// on the RGB part; the alpha is carried to the output unchanged (resized if
// needed).
#pragma once
#include <opencv2/core.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace atelier {

struct Image {
  cv::Mat rgb;    // CV_32FC3, RGB order, values in [0,1]
  cv::Mat alpha;  // CV_32FC1 in [0,1], or empty when the source had none
  int width() const { return rgb.cols; }
  int height() const { return rgb.rows; }
  bool has_alpha() const { return !alpha.empty(); }
};

struct ImageSize {
  int width = 0;
  int height = 0;
};

struct LoadOptions {
  // Images with more pixels than this are refused from their header alone,
  // before any decoding. 0 disables the check.
  std::int64_t max_pixels = 100'000'000;
};

// Reads JPEG, PNG, WebP, TIFF or BMP; 8- or 16-bit; grey, RGB or RGBA. EXIF
// orientation is applied. Throws atelier::Error with a one-line reason for a
// missing, empty, non-image, corrupt or oversized file.
Image load_image(const std::string& path, const LoadOptions& options = {});

// Width and height from the file header only (no pixel decoding). Throws
// atelier::Error for unknown or truncated headers.
ImageSize read_image_size(const std::string& path);

// For an image already in memory (an upload): the format its bytes hold,
// judged from their content alone ("png", "jpeg", "webp", "tiff", "bmp", or
// "" when none of these); its size from the header; the decoded image.
// `name` is what error messages call it.
std::string sniff_image_format(const std::vector<unsigned char>& bytes);
ImageSize read_image_size(const std::vector<unsigned char>& bytes, const std::string& name);
Image decode_image(const std::vector<unsigned char>& bytes, const std::string& name, const LoadOptions& options = {});

struct SaveOptions {
  int quality = 95;    // JPEG and WebP quality, 1..100
  int bit_depth = 8;   // 8, or 16 for PNG and TIFF
};

// Writes by the extension of `path` (.png .jpg/.jpeg .webp .tif/.tiff .bmp),
// atomically. Alpha is written for PNG, WebP and TIFF; JPEG and BMP drop it.
// Throws atelier::Error for an unknown extension, an unsupported bit depth
// for the format, or an unwritable location.
void save_image(const Image& image, const std::string& path, const SaveOptions& options = {});

// Encodes in memory as the format that the extension of `path` names
// (".png", "x.jpg", ...); save_image does this, then writes atomically.
std::vector<unsigned char> encode_image(const Image& image, const std::string& path,
                                        const SaveOptions& options = {});

// Everything save_image would refuse that can be known before there is an
// image: extension, options for that format, the target being a directory,
// a missing or unwritable directory. Lets long jobs fail before they start.
void check_can_save(const std::string& path, const SaveOptions& options = {});

// Scales so the longest side is `longest_side` (aspect kept; area filter when
// shrinking, cubic when enlarging). Alpha is resized alongside.
Image resize_longest_side(const Image& image, int longest_side);
Image resize_to(const Image& image, int width, int height);
// The same for one float plane or RGB matrix in [0,1]; returned as is when
// it already has that size.
cv::Mat resize_plane(const cv::Mat& plane, cv::Size size);

}  // namespace atelier
