// Image I/O and atomic file writes: round trips per format and bit depth,
// header-only sizes, EXIF orientation, the pixel limit, error messages and
// resizing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using atelier::Error;
using atelier::Image;
using atelier::testing::ScratchDir;

namespace {

// Smooth gradients in R and G plus seeded noise in B: distinct per channel,
// so a swapped channel order or a flipped image shows up as a large error.
Image test_image(int width, int height, bool with_alpha = false) {
  Image image;
  image.rgb.create(height, width, CV_32FC3);
  cv::RNG rng(1234);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.rgb.at<cv::Vec3f>(y, x) = {x / float(width - 1), y / float(height - 1),
                                        rng.uniform(0.f, 1.f)};
    }
  }
  if (with_alpha) {
    image.alpha.create(height, width, CV_32FC1);
    rng.fill(image.alpha, cv::RNG::UNIFORM, 0.f, 1.f);
  }
  return image;
}

// Smooth everywhere, for lossy codecs.
Image smooth_image(int width, int height) {
  Image image = test_image(width, height);
  cv::GaussianBlur(image.rgb, image.rgb, cv::Size(0, 0), 6.0);
  return image;
}

double max_diff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }
double mean_diff(const cv::Mat& a, const cv::Mat& b) {
  return cv::norm(a, b, cv::NORM_L1) / (double(a.total()) * a.channels());
}

std::vector<unsigned char> encode(const std::string& ext, const cv::Mat& pixels,
                                  const std::vector<int>& params = {}) {
  std::vector<unsigned char> bytes;
  EXPECT_TRUE(cv::imencode(ext, pixels, bytes, params));
  return bytes;
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

// Runs `action`, expects an atelier::Error, returns its message.
template <typename F>
std::string error_of(F action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no atelier::Error thrown";
  return "";
}

}  // namespace

// ---------------------------------------------------------------- atomic files

TEST(AtomicFile, WritesReadsBackAndLeavesNoTempFiles) {
  ScratchDir dir;
  const std::string path = dir.file("out.bin");
  atelier::write_file_atomically(path, std::vector<unsigned char>{1, 2, 3, 0, 255});
  EXPECT_EQ(atelier::read_file_bytes(path), (std::vector<unsigned char>{1, 2, 3, 0, 255}));
  atelier::write_file_atomically(path, std::string("replaced"));
  const auto bytes = atelier::read_file_bytes(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "replaced");
  EXPECT_EQ(entries(dir.path()), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, MissingDirectoryThrowsNamingTheTarget) {
  ScratchDir dir;
  const std::string path = dir.file("no/such/dir/out.bin");
  const std::string message = error_of([&] { atelier::write_file_atomically(path, "x"); });
  EXPECT_NE(message.find("cannot write " + path), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(AtomicFile, UnwritableDirectoryThrowsAndLeavesNothing) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  ScratchDir dir;
  fs::create_directory(dir.file("locked"));
  fs::permissions(dir.file("locked"), fs::perms::owner_read | fs::perms::owner_exec);
  const std::string message =
      error_of([&] { atelier::write_file_atomically(dir.file("locked/out.bin"), "x"); });
  EXPECT_NE(message.find("Permission denied"), std::string::npos) << message;
  fs::permissions(dir.file("locked"), fs::perms::owner_all);
  EXPECT_TRUE(entries(dir.file("locked")).empty());
}

TEST(AtomicFile, FailedRenameRemovesTheTempFile) {
  ScratchDir dir;
  fs::create_directories(dir.file("out.bin/occupied"));  // a directory where the file should go
  const std::string message =
      error_of([&] { atelier::write_file_atomically(dir.file("out.bin"), "x"); });
  EXPECT_NE(message.find("cannot write " + dir.file("out.bin")), std::string::npos) << message;
  EXPECT_EQ(entries(dir.path()), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, ReadingAMissingFileSaysSo) {
  ScratchDir dir;
  const std::string message = error_of([&] { atelier::read_file_bytes(dir.file("absent.bin")); });
  EXPECT_EQ(message, "cannot read " + dir.file("absent.bin") + ": no such file");
}

// ---------------------------------------------------------------- round trips

TEST(ImageIo, Png8BitRoundTripIsExactToTheQuantum) {
  ScratchDir dir;
  const Image image = test_image(64, 48);
  atelier::save_image(image, dir.file("a.png"));
  const Image loaded = atelier::load_image(dir.file("a.png"));
  ASSERT_EQ(loaded.rgb.type(), CV_32FC3);
  ASSERT_EQ(loaded.width(), 64);
  ASSERT_EQ(loaded.height(), 48);
  EXPECT_FALSE(loaded.has_alpha());
  EXPECT_LE(max_diff(loaded.rgb, image.rgb), 0.5 / 255 + 1e-6);
}

TEST(ImageIo, Png16BitKeepsPrecisionFinerThan8Bit) {
  ScratchDir dir;
  const Image image = test_image(64, 48, /*with_alpha=*/true);
  atelier::save_image(image, dir.file("deep.png"), {95, 16});
  atelier::save_image(image, dir.file("flat.png"), {95, 8});
  const Image deep = atelier::load_image(dir.file("deep.png"));
  const Image flat = atelier::load_image(dir.file("flat.png"));
  EXPECT_LE(max_diff(deep.rgb, image.rgb), 0.5 / 65535 + 1e-6);
  EXPECT_LE(max_diff(deep.alpha, image.alpha), 0.5 / 65535 + 1e-6);
  EXPECT_GT(max_diff(flat.rgb, image.rgb), 0.1 / 255);  // 8 bits really is coarser
  const cv::Mat raw = cv::imread(dir.file("deep.png"), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(raw.type(), CV_16UC4);
}

TEST(ImageIo, Tiff16BitRoundTrip) {
  ScratchDir dir;
  const Image image = test_image(40, 30);
  atelier::save_image(image, dir.file("a.tiff"), {95, 16});
  const Image loaded = atelier::load_image(dir.file("a.tiff"));
  EXPECT_LE(max_diff(loaded.rgb, image.rgb), 0.5 / 65535 + 1e-6);
}

TEST(ImageIo, TiffKeepsAlpha) {
  ScratchDir dir;
  const Image image = test_image(40, 30, true);
  atelier::save_image(image, dir.file("a.tif"));
  const Image loaded = atelier::load_image(dir.file("a.tif"));
  ASSERT_TRUE(loaded.has_alpha());
  EXPECT_LE(max_diff(loaded.rgb, image.rgb), 0.5 / 255 + 1e-6);
  EXPECT_LE(max_diff(loaded.alpha, image.alpha), 0.5 / 255 + 1e-6);
}

TEST(ImageIo, JpegRoundTripIsCloseAndQualityChangesSize) {
  ScratchDir dir;
  Image image = smooth_image(96, 64);
  image.alpha = cv::Mat(64, 96, CV_32FC1, cv::Scalar(0.25));
  atelier::save_image(image, dir.file("smooth.jpg"), {95, 8});
  const Image loaded = atelier::load_image(dir.file("smooth.jpg"));
  EXPECT_FALSE(loaded.has_alpha());  // JPEG drops alpha, colours stay unmultiplied
  EXPECT_LT(mean_diff(loaded.rgb, image.rgb), 0.01);

  const Image noisy = test_image(96, 64);
  atelier::save_image(noisy, dir.file("high.jpg"), {95, 8});
  atelier::save_image(noisy, dir.file("low.jpeg"), {20, 8});
  EXPECT_LT(fs::file_size(dir.file("low.jpeg")), fs::file_size(dir.file("high.jpg")));
}

TEST(ImageIo, WebpRoundTripKeepsAlpha) {
  ScratchDir dir;
  Image image = smooth_image(64, 48);
  image.alpha = cv::Mat(48, 64, CV_32FC1, cv::Scalar(0.5));
  atelier::save_image(image, dir.file("a.webp"), {100, 8});
  const Image loaded = atelier::load_image(dir.file("a.webp"));
  ASSERT_TRUE(loaded.has_alpha());
  EXPECT_LT(mean_diff(loaded.rgb, image.rgb), 0.02);
  EXPECT_LT(max_diff(loaded.alpha, image.alpha), 2.0 / 255);
}

TEST(ImageIo, BmpRoundTripDropsAlpha) {
  ScratchDir dir;
  const Image image = test_image(33, 17, true);  // odd width exercises row padding
  atelier::save_image(image, dir.file("a.bmp"));
  const Image loaded = atelier::load_image(dir.file("a.bmp"));
  EXPECT_FALSE(loaded.has_alpha());
  EXPECT_LE(max_diff(loaded.rgb, image.rgb), 0.5 / 255 + 1e-6);
}

TEST(ImageIo, ChannelOrderIsRgb) {
  ScratchDir dir;
  write_bytes(dir.file("red.png"), encode(".png", cv::Mat(4, 4, CV_8UC3, cv::Scalar(0, 0, 255))));
  const Image loaded = atelier::load_image(dir.file("red.png"));
  EXPECT_EQ(loaded.rgb.at<cv::Vec3f>(0, 0), cv::Vec3f(1, 0, 0));
}

TEST(ImageIo, GreyLoadsAsThreeEqualChannels) {
  ScratchDir dir;
  cv::Mat grey(10, 12, CV_8UC1);
  cv::randu(grey, 0, 256);
  write_bytes(dir.file("grey.png"), encode(".png", grey));
  const Image loaded = atelier::load_image(dir.file("grey.png"));
  ASSERT_EQ(loaded.rgb.type(), CV_32FC3);
  std::vector<cv::Mat> planes;
  cv::split(loaded.rgb, planes);
  cv::Mat expected;
  grey.convertTo(expected, CV_32F, 1.0 / 255);
  for (const cv::Mat& plane : planes) EXPECT_LE(max_diff(plane, expected), 1e-6);
}

TEST(ImageIo, Grey16BitScalesBy65535) {
  ScratchDir dir;
  cv::Mat grey(2, 2, CV_16UC1, cv::Scalar(0));
  grey.at<std::uint16_t>(0, 1) = 65535;
  grey.at<std::uint16_t>(1, 0) = 257;  // exactly 1/255
  write_bytes(dir.file("grey16.png"), encode(".png", grey));
  const Image loaded = atelier::load_image(dir.file("grey16.png"));
  EXPECT_FLOAT_EQ(loaded.rgb.at<cv::Vec3f>(0, 1)[2], 1.0f);
  EXPECT_FLOAT_EQ(loaded.rgb.at<cv::Vec3f>(1, 0)[0], 1.0f / 255);
  EXPECT_FLOAT_EQ(loaded.rgb.at<cv::Vec3f>(0, 0)[1], 0.0f);
}

TEST(ImageIo, RgbaPngKeepsAlpha) {
  ScratchDir dir;
  cv::Mat bgra(3, 5, CV_8UC4, cv::Scalar(255, 0, 0, 64));  // blue, quarter opaque
  write_bytes(dir.file("rgba.png"), encode(".png", bgra));
  const Image loaded = atelier::load_image(dir.file("rgba.png"));
  ASSERT_TRUE(loaded.has_alpha());
  EXPECT_EQ(loaded.alpha.type(), CV_32FC1);
  EXPECT_FLOAT_EQ(loaded.alpha.at<float>(2, 4), 64.0f / 255);
  EXPECT_EQ(loaded.rgb.at<cv::Vec3f>(2, 4), cv::Vec3f(0, 0, 1));
}

TEST(ImageIo, SavedValuesAreClampedAndRounded) {
  ScratchDir dir;
  Image image;
  image.rgb = cv::Mat(1, 3, CV_32FC3);
  image.rgb.at<cv::Vec3f>(0, 0) = {-0.5f, 1.5f, 0.5f};
  image.rgb.at<cv::Vec3f>(0, 1) = {100.4f / 255, 100.6f / 255, 0};
  image.rgb.at<cv::Vec3f>(0, 2) = {2, -2, 1};
  atelier::save_image(image, dir.file("c.png"));
  const cv::Mat raw = cv::imread(dir.file("c.png"), cv::IMREAD_UNCHANGED);  // BGR
  EXPECT_EQ(raw.at<cv::Vec3b>(0, 0), cv::Vec3b(128, 255, 0));
  EXPECT_EQ(raw.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 101, 100));
  EXPECT_EQ(raw.at<cv::Vec3b>(0, 2), cv::Vec3b(255, 0, 255));
}

TEST(ImageIo, SavingManyFormatsLeavesNoTempFiles) {
  ScratchDir dir;
  const Image image = test_image(16, 16, true);
  const std::set<std::string> names = {"a.png", "a.jpg", "a.webp", "a.tif", "a.bmp"};
  for (const auto& name : names) atelier::save_image(image, dir.file(name));
  atelier::save_image(image, dir.file("a.png"));  // overwrite
  EXPECT_EQ(entries(dir.path()), names);
}

// ---------------------------------------------------------------- EXIF

namespace {

// An APP1 "Exif" segment whose first IFD holds only Orientation (SHORT).
std::vector<unsigned char> exif_segment(int orientation, bool big_endian) {
  const auto o = static_cast<unsigned char>(orientation);
  std::vector<unsigned char> tiff =
      big_endian ? std::vector<unsigned char>{'M', 'M', 0, 42, 0, 0, 0, 8,        // header
                                              0, 1,                               // 1 entry
                                              0x01, 0x12, 0, 3, 0, 0, 0, 1,       // tag, SHORT, n=1
                                              0, o, 0, 0,                         // value
                                              0, 0, 0, 0}                         // no next IFD
                 : std::vector<unsigned char>{'I', 'I', 42, 0, 8, 0, 0, 0,
                                              1, 0,
                                              0x12, 0x01, 3, 0, 1, 0, 0, 0,
                                              o, 0, 0, 0,
                                              0, 0, 0, 0};
  std::vector<unsigned char> payload = {'E', 'x', 'i', 'f', 0, 0};
  payload.insert(payload.end(), tiff.begin(), tiff.end());
  const size_t length = payload.size() + 2;
  std::vector<unsigned char> segment = {0xFF, 0xE1, static_cast<unsigned char>(length >> 8),
                                        static_cast<unsigned char>(length & 0xFF)};
  segment.insert(segment.end(), payload.begin(), payload.end());
  return segment;
}

// 60x30 JPEG, black but for a white block at the top-left and a grey one at
// the top-right, with the EXIF segment inserted right after SOI.
std::vector<unsigned char> oriented_jpeg(int orientation, bool big_endian) {
  cv::Mat bgr(30, 60, CV_8UC3, cv::Scalar::all(0));
  bgr(cv::Rect(0, 0, 10, 10)).setTo(cv::Scalar::all(255));
  bgr(cv::Rect(50, 0, 10, 10)).setTo(cv::Scalar::all(128));
  std::vector<unsigned char> jpeg = encode(".jpg", bgr, {cv::IMWRITE_JPEG_QUALITY, 95});
  const auto segment = exif_segment(orientation, big_endian);
  jpeg.insert(jpeg.begin() + 2, segment.begin(), segment.end());
  return jpeg;
}

enum Corner { TL, TR, BL, BR };

float corner_value(const Image& image, Corner corner) {
  const int x = (corner == TR || corner == BR) ? image.width() - 3 : 2;
  const int y = (corner == BL || corner == BR) ? image.height() - 3 : 2;
  return image.rgb.at<cv::Vec3f>(y, x)[0];
}

}  // namespace

TEST(ImageIo, ExifOrientationIsAppliedForAllEightValuesAndBothByteOrders) {
  // Where the stored top-left (white) and top-right (grey) blocks must appear.
  const Corner white_at[] = {TL, TR, BR, BL, TL, TR, BR, BL};
  const Corner grey_at[] = {TR, TL, BL, BR, BL, BR, TR, TL};
  ScratchDir dir;
  for (bool big_endian : {false, true}) {
    for (int orientation = 1; orientation <= 8; ++orientation) {
      SCOPED_TRACE("orientation " + std::to_string(orientation) + (big_endian ? " MM" : " II"));
      const std::string path = dir.file("o" + std::to_string(orientation) + ".jpg");
      write_bytes(path, oriented_jpeg(orientation, big_endian));
      const Image loaded = atelier::load_image(path);
      const bool swapped = orientation >= 5;
      EXPECT_EQ(loaded.width(), swapped ? 30 : 60);
      EXPECT_EQ(loaded.height(), swapped ? 60 : 30);
      const atelier::ImageSize size = atelier::read_image_size(path);
      EXPECT_EQ(size.width, loaded.width());
      EXPECT_EQ(size.height, loaded.height());
      EXPECT_GT(corner_value(loaded, white_at[orientation - 1]), 0.9f);
      EXPECT_NEAR(corner_value(loaded, grey_at[orientation - 1]), 0.5f, 0.05f);
      // OpenCV's own EXIF handling (IMREAD_COLOR) must agree pixel for pixel.
      cv::Mat reference;
      cv::cvtColor(cv::imread(path, cv::IMREAD_COLOR), reference, cv::COLOR_BGR2RGB);
      reference.convertTo(reference, CV_32F, 1.0 / 255);
      EXPECT_LE(max_diff(loaded.rgb, reference), 1e-6);
    }
  }
}

TEST(ImageIo, Orientation6RotatesClockwise) {
  ScratchDir dir;
  write_bytes(dir.file("r.jpg"), oriented_jpeg(6, false));
  const Image loaded = atelier::load_image(dir.file("r.jpg"));
  ASSERT_EQ(loaded.width(), 30);
  ASSERT_EQ(loaded.height(), 60);
  EXPECT_GT(loaded.rgb.at<cv::Vec3f>(2, 27)[1], 0.9f);  // white now top-right
  EXPECT_LT(loaded.rgb.at<cv::Vec3f>(2, 2)[1], 0.1f);   // top-left is dark
}

// ---------------------------------------------------------------- header sizes

TEST(ImageSize, MatchesTheRealSizeForEveryFormat) {
  ScratchDir dir;
  const Image image = test_image(37, 23);
  for (const std::string ext : {".png", ".jpg", ".webp", ".tiff", ".bmp"}) {
    SCOPED_TRACE(ext);
    atelier::save_image(image, dir.file("s" + ext));
    const atelier::ImageSize size = atelier::read_image_size(dir.file("s" + ext));
    EXPECT_EQ(size.width, 37);
    EXPECT_EQ(size.height, 23);
  }
}

TEST(ImageSize, CoversWebpVariants) {
  ScratchDir dir;
  cv::Mat bgr(23, 37, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat bgra(23, 37, CV_8UC4, cv::Scalar(10, 200, 30, 100));
  const std::pair<std::string, std::vector<unsigned char>> cases[] = {
      {"VP8 ", encode(".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 80})},
      {"VP8L", encode(".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 101})},  // >100: lossless
      {"VP8X", encode(".webp", bgra, {cv::IMWRITE_WEBP_QUALITY, 80})},
  };
  for (const auto& [chunk, bytes] : cases) {
    SCOPED_TRACE(chunk);
    ASSERT_EQ(std::string(bytes.begin() + 12, bytes.begin() + 16), chunk);
    write_bytes(dir.file("w.webp"), bytes);
    const atelier::ImageSize size = atelier::read_image_size(dir.file("w.webp"));
    EXPECT_EQ(size.width, 37);
    EXPECT_EQ(size.height, 23);
  }
}

TEST(ImageSize, ProgressiveJpeg) {
  ScratchDir dir;
  cv::Mat bgr(23, 37, CV_8UC3, cv::Scalar::all(90));
  write_bytes(dir.file("p.jpg"), encode(".jpg", bgr, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  const atelier::ImageSize size = atelier::read_image_size(dir.file("p.jpg"));
  EXPECT_EQ(size.width, 37);
  EXPECT_EQ(size.height, 23);
}

TEST(ImageSize, TopDownBmpHasNegativeHeight) {
  ScratchDir dir;
  cv::Mat bgr(23, 37, CV_8UC3, cv::Scalar::all(0));
  bgr.row(0).setTo(cv::Scalar::all(255));
  std::vector<unsigned char> bmp = encode(".bmp", bgr);
  // Negating the height turns the bottom-up rows into top-down ones.
  const std::int32_t negative = -23;
  std::memcpy(&bmp[22], &negative, 4);
  write_bytes(dir.file("td.bmp"), bmp);
  const atelier::ImageSize size = atelier::read_image_size(dir.file("td.bmp"));
  EXPECT_EQ(size.width, 37);
  EXPECT_EQ(size.height, 23);
  const Image loaded = atelier::load_image(dir.file("td.bmp"));
  EXPECT_EQ(loaded.height(), 23);
  EXPECT_GT(loaded.rgb.at<cv::Vec3f>(22, 0)[0], 0.9f);  // white row now at the bottom
}

TEST(ImageSize, BigEndianTiffWithShortAndLongFields) {
  ScratchDir dir;
  // Header only: ImageWidth 300 (SHORT), ImageLength 70000 (LONG).
  const std::vector<unsigned char> tiff = {
      'M', 'M', 0, 42, 0, 0, 0, 8,  0, 2,                                 //
      0x01, 0x00, 0, 3, 0, 0, 0, 1, 0x01, 0x2C, 0, 0,                     // 256
      0x01, 0x01, 0, 4, 0, 0, 0, 1, 0x00, 0x01, 0x11, 0x70,               // 257
      0, 0, 0, 0};
  write_bytes(dir.file("mm.tif"), tiff);
  const atelier::ImageSize size = atelier::read_image_size(dir.file("mm.tif"));
  EXPECT_EQ(size.width, 300);
  EXPECT_EQ(size.height, 70000);
}

TEST(ImageSize, TruncatedHeaderThrows) {
  ScratchDir dir;
  std::vector<unsigned char> png = encode(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(1)));
  png.resize(18);  // cut inside IHDR
  write_bytes(dir.file("cut.png"), png);
  const std::string message = error_of([&] { atelier::read_image_size(dir.file("cut.png")); });
  EXPECT_NE(message.find(dir.file("cut.png")), std::string::npos) << message;
  EXPECT_NE(message.find("PNG header"), std::string::npos) << message;
}

TEST(ImageSize, EveryTruncatedHeaderGivesAnErrorNotACrash) {
  ScratchDir dir;
  const Image image = test_image(37, 23, true);
  for (const std::string ext : {".png", ".jpg", ".webp", ".tiff", ".bmp"}) {
    atelier::save_image(image, dir.file("full" + ext));
    const auto bytes = atelier::read_file_bytes(dir.file("full" + ext));
    for (size_t length = 1; length < std::min<size_t>(bytes.size(), 300); ++length) {
      write_bytes(dir.file("cut" + ext), {bytes.begin(), bytes.begin() + length});
      try {
        const atelier::ImageSize size = atelier::read_image_size(dir.file("cut" + ext));
        EXPECT_EQ(size.width, 37) << ext << " cut at " << length;  // header already complete
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(dir.file("cut" + ext)), std::string::npos);
      }
    }
  }
}

// ---------------------------------------------------------------- refusals

TEST(ImageErrors, OversizedImageIsRefused) {
  ScratchDir dir;
  atelier::save_image(test_image(40, 30), dir.file("big.png"));
  atelier::LoadOptions options;
  options.max_pixels = 1000;
  const std::string message =
      error_of([&] { atelier::load_image(dir.file("big.png"), options); });
  EXPECT_EQ(message, "image too large: " + dir.file("big.png") +
                         " is 40x30 (0.0012 Mpx), limit is 0.001 Mpx (--max-pixels)");
  options.max_pixels = 0;  // disabled
  EXPECT_EQ(atelier::load_image(dir.file("big.png"), options).width(), 40);
}

TEST(ImageErrors, OversizedHeaderIsRefusedWithMegapixels) {
  ScratchDir dir;
  // A PNG signature and IHDR claiming 20000x20000, no pixel data at all.
  std::vector<unsigned char> png = encode(".png", cv::Mat(1, 1, CV_8UC1, cv::Scalar(0)));
  const unsigned char side[] = {0, 0, 0x4E, 0x20};  // 20000 big-endian
  std::copy(side, side + 4, png.begin() + 16);
  std::copy(side, side + 4, png.begin() + 20);
  write_bytes(dir.file("photo.png"), png);
  const std::string message = error_of([&] { atelier::load_image(dir.file("photo.png")); });
  EXPECT_EQ(message, "image too large: " + dir.file("photo.png") +
                         " is 20000x20000 (400.0 Mpx), limit is 100.0 Mpx (--max-pixels)");
}

TEST(ImageErrors, MissingFile) {
  ScratchDir dir;
  const std::string message = error_of([&] { atelier::load_image(dir.file("nope.jpg")); });
  EXPECT_EQ(message, "cannot read " + dir.file("nope.jpg") + ": no such file");
}

TEST(ImageErrors, EmptyFile) {
  ScratchDir dir;
  write_bytes(dir.file("empty.png"), {});
  const std::string message = error_of([&] { atelier::load_image(dir.file("empty.png")); });
  EXPECT_EQ(message, "cannot read " + dir.file("empty.png") + ": empty file");
}

TEST(ImageErrors, TextFileNamedPng) {
  ScratchDir dir;
  std::ofstream(dir.file("notes.png")) << "just some text, not pixels\n";
  const std::string message = error_of([&] { atelier::load_image(dir.file("notes.png")); });
  EXPECT_NE(message.find(dir.file("notes.png")), std::string::npos) << message;
  EXPECT_NE(message.find("not an image"), std::string::npos) << message;
}

TEST(ImageErrors, TruncatedPngIsCorrupt) {
  ScratchDir dir;
  cv::Mat noise(64, 64, CV_8UC3);
  cv::randu(noise, 0, 256);
  std::vector<unsigned char> png = encode(".png", noise);
  png.resize(png.size() / 2);
  write_bytes(dir.file("half.png"), png);
  const std::string message = error_of([&] { atelier::load_image(dir.file("half.png")); });
  EXPECT_NE(message.find(dir.file("half.png")), std::string::npos) << message;
  EXPECT_NE(message.find("corrupt"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(ImageErrors, SaveToMissingDirectoryLeavesNoFile) {
  ScratchDir dir;
  const std::string path = dir.file("missing/out.png");
  const std::string message = error_of([&] { atelier::save_image(test_image(8, 8), path); });
  EXPECT_NE(message.find("cannot write " + path), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(ImageErrors, UnknownExtensionListsSupportedOnes) {
  ScratchDir dir;
  const std::string message =
      error_of([&] { atelier::save_image(test_image(8, 8), dir.file("out.gif")); });
  EXPECT_NE(message.find(".gif"), std::string::npos) << message;
  EXPECT_NE(message.find(".png .jpg .jpeg .webp .tif .tiff .bmp"), std::string::npos) << message;
  EXPECT_FALSE(error_of([&] { atelier::save_image(test_image(8, 8), dir.file("noext")); }).empty());
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(ImageErrors, SixteenBitOnlyForPngAndTiff) {
  ScratchDir dir;
  for (const std::string name : {"out.jpg", "out.webp", "out.bmp"}) {
    const std::string message =
        error_of([&] { atelier::save_image(test_image(8, 8), dir.file(name), {95, 16}); });
    EXPECT_NE(message.find("16-bit"), std::string::npos) << message;
  }
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(ImageErrors, UppercaseExtensionIsAccepted) {
  ScratchDir dir;
  atelier::save_image(test_image(8, 8), dir.file("OUT.JPG"));
  const cv::Mat raw = cv::imread(dir.file("OUT.JPG"), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(raw.cols, 8);
}

// ---------------------------------------------------------------- resizing

TEST(ImageResize, LongestSideKeepsAspectWhenShrinking) {
  const Image image = test_image(400, 200, true);
  const Image small = atelier::resize_longest_side(image, 100);
  EXPECT_EQ(small.width(), 100);
  EXPECT_EQ(small.height(), 50);
  EXPECT_EQ(small.alpha.size(), small.rgb.size());
  // Area averaging keeps the mean of a smooth gradient.
  EXPECT_NEAR(cv::mean(small.rgb)[0], cv::mean(image.rgb)[0], 1e-3);
}

TEST(ImageResize, LongestSideOnPortraitAndEnlargingStaysInRange) {
  // A hard 0/1 checkerboard makes cubic interpolation overshoot.
  Image image;
  image.rgb.create(20, 10, CV_32FC3);
  image.alpha.create(20, 10, CV_32FC1);
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 10; ++x) {
      const float v = (x + y) % 2 ? 1.f : 0.f;
      image.rgb.at<cv::Vec3f>(y, x) = {v, v, v};
      image.alpha.at<float>(y, x) = v;
    }
  }
  const Image big = atelier::resize_longest_side(image, 80);
  EXPECT_EQ(big.width(), 40);
  EXPECT_EQ(big.height(), 80);
  double low, high;
  cv::minMaxLoc(big.rgb.reshape(1), &low, &high);
  EXPECT_GE(low, 0.0);
  EXPECT_LE(high, 1.0);
  cv::minMaxLoc(big.alpha, &low, &high);
  EXPECT_GE(low, 0.0);
  EXPECT_LE(high, 1.0);
}

TEST(ImageResize, ResizeToExactSize) {
  const Image out = atelier::resize_to(test_image(30, 20), 7, 9);
  EXPECT_EQ(out.width(), 7);
  EXPECT_EQ(out.height(), 9);
  EXPECT_FALSE(out.has_alpha());
  EXPECT_THROW(atelier::resize_to(test_image(30, 20), 0, 9), Error);
}

// ---------------------------------------------------------------- real data

TEST(ImageRealData, TubingenPhotoLoads) {
  ATELIER_REQUIRE_SHARED(path, "images/content/tubingen.jpg");
  const atelier::ImageSize header = atelier::read_image_size(path);
  const Image image = atelier::load_image(path);
  EXPECT_EQ(image.width(), header.width);
  EXPECT_EQ(image.height(), header.height);
  EXPECT_GE(std::min(image.width(), image.height()), 200);
  EXPECT_LE(std::max(image.width(), image.height()), 10000);
  double low, high;
  cv::minMaxLoc(image.rgb.reshape(1), &low, &high);
  EXPECT_GE(low, 0.0);
  EXPECT_LE(high, 1.0);
  EXPECT_GT(high - low, 0.5);  // a real photo has contrast
}
