// A print-sized test picture from real data: four shared photos in a 2x2
// mosaic, and the switch for the checks too slow for every CI run.
#pragma once
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <string>

#include "atelier/image.hpp"
#include "test_support.hpp"

namespace atelier::testing {

// Tubingen, Golden Gate, Stata and Amber as one CV_32FC3 picture of `size`;
// empty when one of them is absent from ../shared.
inline cv::Mat shared_photo_mosaic(cv::Size size) {
  cv::Mat picture(size, CV_32FC3);
  const cv::Size quarter_size(size.width / 2, size.height / 2);
  int i = 0;
  for (const char* name : {"tubingen.jpg", "golden_gate.jpg", "stata.jpg", "amber.jpg"}) {
    const std::string photo = shared_path(std::string("images/content/") + name);
    if (photo.empty()) return {};
    cv::Mat quarter;
    cv::resize(load_image(photo).rgb, quarter, quarter_size, 0, 0, cv::INTER_CUBIC);
    quarter.copyTo(picture(cv::Rect((i % 2) * quarter_size.width, (i / 2) * quarter_size.height, quarter_size.width,
                                    quarter_size.height)));
    ++i;
  }
  return cv::min(cv::max(picture, 0.0), 1.0);  // cubic resizing overshoots
}

// ATELIER_SLOW_TESTS=1 runs the acceptance checks at full print size.
inline bool slow_tests_enabled() {
  const char* slow = std::getenv("ATELIER_SLOW_TESTS");
  return slow && std::string(slow) == "1";
}

}  // namespace atelier::testing

#define ATELIER_REQUIRE_SHARED_MOSAIC(var, size)                                                       \
  const cv::Mat var = ::atelier::testing::shared_photo_mosaic(size);                                   \
  if (var.empty()) {                                                                                   \
    GTEST_SKIP() << "SKIPPED: ../shared/images/content (tubingen, golden_gate, stata, amber) is absent"; \
  }
