#include <unistd.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "image/image_format.hpp"

namespace atelier {
namespace {

using image_detail::Format;

struct HeaderInfo {
  Format format;
  ImageSize size;  // as load_image will return it, orientation applied
  int orientation;
};

HeaderInfo inspect_header(const std::vector<unsigned char>& bytes, const std::string& path) {
  if (bytes.empty()) throw Error("cannot read " + path + ": empty file");
  const Format format = image_detail::sniff_format(bytes);
  if (format == Format::unknown) {
    throw Error("cannot read " + path + ": not an image (expected JPEG, PNG, WebP, TIFF or BMP)");
  }
  ImageSize size = image_detail::parse_header_size(bytes, format, path);
  const int orientation = format == Format::jpeg ? image_detail::jpeg_exif_orientation(bytes) : 1;
  if (image_detail::orientation_swaps_axes(orientation)) std::swap(size.width, size.height);
  return {format, size, orientation};
}

// One decimal like "400.0 Mpx", with more digits for tiny limits (tests,
// thumbnails) so they do not print as "0.0".
std::string format_mpx(std::int64_t pixels) {
  const double mpx = static_cast<double>(pixels) / 1e6;
  char text[32];
  std::snprintf(text, sizeof text, mpx >= 0.1 ? "%.1f Mpx" : "%.3g Mpx", mpx);
  return text;
}

void check_pixel_limit(const ImageSize& size, std::int64_t max_pixels, const std::string& path) {
  const std::int64_t pixels = std::int64_t{size.width} * size.height;
  if (max_pixels <= 0 || pixels <= max_pixels) return;
  throw Error("image too large: " + path + " is " + std::to_string(size.width) + "x" +
              std::to_string(size.height) + " (" + format_mpx(pixels) + "), limit is " +
              format_mpx(max_pixels) + " (--max-pixels)");
}

cv::Mat decode(const std::vector<unsigned char>& bytes, Format format, const std::string& path) {
  // Refused rather than painted: OpenCV decodes a JPEG cut short with grey
  // below the cut, without a word.
  const std::string missing = image_detail::missing_end(bytes, format);
  if (!missing.empty())
    throw Error("cannot read " + path + ": corrupt " + image_detail::format_name(format) + " data (" + missing +
                ": the file was cut short)");
  cv::Mat pixels;
  try {
    // UNCHANGED keeps alpha and 16-bit samples (and skips OpenCV's own EXIF
    // handling, which is why orientation is applied separately).
    pixels = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception&) {
    // Some codecs throw instead of returning an empty Mat; both mean corrupt.
  }
  if (pixels.empty()) {
    throw Error("cannot read " + path + ": corrupt " + image_detail::format_name(format) +
                " data (decoding failed)");
  }
  return pixels;
}

Image to_float_image(const cv::Mat& pixels, const std::string& path) {
  double scale = 0;
  if (pixels.depth() == CV_8U) scale = 1.0 / 255.0;
  if (pixels.depth() == CV_16U) scale = 1.0 / 65535.0;
  const int channels = pixels.channels();
  if (scale == 0 || (channels != 1 && channels != 3 && channels != 4)) {
    throw Error("cannot read " + path + ": unsupported sample format (need 8- or 16-bit grey, RGB or RGBA)");
  }
  cv::Mat values;
  pixels.convertTo(values, CV_MAKETYPE(CV_32F, channels), scale);

  Image image;
  if (channels == 1) {
    cv::cvtColor(values, image.rgb, cv::COLOR_GRAY2RGB);
  } else if (channels == 3) {
    cv::cvtColor(values, image.rgb, cv::COLOR_BGR2RGB);
  } else {
    cv::cvtColor(values, image.rgb, cv::COLOR_BGRA2RGB);
    cv::extractChannel(values, image.alpha, 3);
  }
  return image;
}

std::string lowercase_extension(const std::string& path) {
  const auto dot = path.find_last_of('.');
  const auto slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

Format format_for_extension(const std::string& path) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".png") return Format::png;
  if (ext == ".jpg" || ext == ".jpeg") return Format::jpeg;
  if (ext == ".webp") return Format::webp;
  if (ext == ".tif" || ext == ".tiff") return Format::tiff;
  if (ext == ".bmp") return Format::bmp;
  throw Error("cannot write " + path + ": unknown image extension \"" + ext +
              "\" (supported: .png .jpg .jpeg .webp .tif .tiff .bmp)");
}

void check_save_options(const SaveOptions& options, Format format, const std::string& path) {
  if (options.quality < 1 || options.quality > 100) {
    throw Error("cannot write " + path + ": quality must be 1..100, got " +
                std::to_string(options.quality));
  }
  if (options.bit_depth != 8 && options.bit_depth != 16) {
    throw Error("cannot write " + path + ": bit depth must be 8 or 16, got " +
                std::to_string(options.bit_depth));
  }
  if (options.bit_depth == 16 && format != Format::png && format != Format::tiff) {
    throw Error("cannot write " + path + ": 16-bit output is supported for PNG and TIFF only, not " +
                image_detail::format_name(format));
  }
}

// BGR or BGRA samples at the requested depth; convertTo saturates and rounds,
// which clamps values outside [0,1].
cv::Mat to_encodable(const Image& image, bool keep_alpha, int bit_depth) {
  cv::Mat bgr;
  if (keep_alpha && image.has_alpha()) {
    cv::Mat channels[] = {image.rgb, image.alpha};
    cv::Mat rgba;
    cv::merge(channels, 2, rgba);
    cv::cvtColor(rgba, bgr, cv::COLOR_RGBA2BGRA);
  } else {
    cv::cvtColor(image.rgb, bgr, cv::COLOR_RGB2BGR);
  }
  cv::Mat samples;
  const bool wide = bit_depth == 16;
  bgr.convertTo(samples, CV_MAKETYPE(wide ? CV_16U : CV_8U, bgr.channels()), wide ? 65535.0 : 255.0);
  return samples;
}

std::vector<int> encoder_params(Format format, int quality) {
  if (format == Format::jpeg) return {cv::IMWRITE_JPEG_QUALITY, quality};
  if (format == Format::webp) return {cv::IMWRITE_WEBP_QUALITY, quality};
  return {};
}

}  // namespace

void check_can_save(const std::string& path, const SaveOptions& options) {
  check_save_options(options, format_for_extension(path), path);
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) throw Error("cannot write " + path + ": it is a directory");
  fs::path directory = fs::path(path).parent_path();
  if (directory.empty()) directory = ".";
  if (!fs::is_directory(directory))
    throw Error("cannot write " + path + ": directory " + directory.string() + " does not exist");
  if (::access(directory.c_str(), W_OK) != 0)
    throw Error("cannot write " + path + ": directory " + directory.string() + " is not writable");
}

cv::Mat resize_plane(const cv::Mat& plane, cv::Size size) {
  if (plane.size() == size) return plane;
  const bool shrinking = size.width <= plane.cols && size.height <= plane.rows;
  cv::Mat out;
  cv::resize(plane, out, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
  // Cubic overshoots near edges; keep the [0,1] invariant.
  if (!shrinking) {
    cv::max(out, 0.0, out);
    cv::min(out, 1.0, out);
  }
  return out;
}

ImageSize read_image_size(const std::string& path) {
  return read_image_size(read_file_bytes(path), path);
}

ImageSize read_image_size(const std::vector<unsigned char>& bytes, const std::string& name) {
  return inspect_header(bytes, name).size;
}

std::string sniff_image_format(const std::vector<unsigned char>& bytes) {
  switch (image_detail::sniff_format(bytes)) {
    case Format::png: return "png";
    case Format::jpeg: return "jpeg";
    case Format::webp: return "webp";
    case Format::tiff: return "tiff";
    case Format::bmp: return "bmp";
    case Format::unknown: break;
  }
  return "";
}

Image load_image(const std::string& path, const LoadOptions& options) {
  return decode_image(read_file_bytes(path), path, options);
}

Image decode_image(const std::vector<unsigned char>& bytes, const std::string& name, const LoadOptions& options) {
  const HeaderInfo header = inspect_header(bytes, name);
  check_pixel_limit(header.size, options.max_pixels, name);
  const cv::Mat upright =
      image_detail::apply_exif_orientation(decode(bytes, header.format, name), header.orientation);
  return to_float_image(upright, name);
}

std::vector<unsigned char> encode_image(const Image& image, const std::string& path, const SaveOptions& options) {
  const Format format = format_for_extension(path);
  check_save_options(options, format, path);
  if (image.rgb.empty() || image.rgb.type() != CV_32FC3) {
    throw Error("cannot write " + path + ": image is empty or not float RGB");
  }
  const bool keep_alpha = format == Format::png || format == Format::webp || format == Format::tiff;
  const cv::Mat samples = to_encodable(image, keep_alpha, options.bit_depth);

  std::vector<unsigned char> encoded;
  bool ok = false;
  try {
    ok = cv::imencode(lowercase_extension(path), samples, encoded, encoder_params(format, options.quality));
  } catch (const cv::Exception&) {
    // Reported below like a false return.
  }
  if (!ok || encoded.empty()) {
    throw Error("cannot write " + path + ": " + image_detail::format_name(format) + " encoding failed");
  }
  return encoded;
}

void save_image(const Image& image, const std::string& path, const SaveOptions& options) {
  write_file_atomically(path, encode_image(image, path, options));
}

Image resize_to(const Image& image, int width, int height) {
  if (width <= 0 || height <= 0) {
    throw Error("cannot resize to " + std::to_string(width) + "x" + std::to_string(height));
  }
  Image out;
  out.rgb = resize_plane(image.rgb, {width, height});
  if (image.has_alpha()) out.alpha = resize_plane(image.alpha, {width, height});
  return out;
}

Image resize_longest_side(const Image& image, int longest_side) {
  const int longest = std::max(image.width(), image.height());
  if (longest <= 0 || longest_side <= 0) {
    throw Error("cannot resize an empty image or to a longest side of " + std::to_string(longest_side));
  }
  const double scale = static_cast<double>(longest_side) / longest;
  const auto side = [&](int length) { return std::max(1, static_cast<int>(std::lround(length * scale))); };
  return resize_to(image, side(image.width()), side(image.height()));
}

}  // namespace atelier
