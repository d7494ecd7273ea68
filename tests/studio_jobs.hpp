// Studio jobs made and painted in-process, as the server would: a job of a
// one-pass method with its uploads in a folder, and the painter admitting
// and painting it (the Magenta and AdaIN studio tests).
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "atelier/image.hpp"
#include "atelier/studio_painter.hpp"
#include "test_support.hpp"

namespace atelier::testing {

// A `method` job ("magenta", "adain") as the request parser would make it,
// with its uploads (the photo's and the paintings' bytes) written into `dir`.
inline studio::JobRecord one_pass_job(const std::string& method, const std::string& dir, const std::string& photo,
                                      const std::vector<std::string>& paintings, double strength,
                                      std::vector<double> blend = {}) {
  std::filesystem::create_directories(dir);
  write_all(dir + "/content", photo);
  for (size_t i = 0; i < paintings.size(); ++i) write_all(dir + "/style-" + std::to_string(i), paintings[i]);
  const ImageSize size = read_image_size(std::vector<unsigned char>(photo.begin(), photo.end()), "photo");
  studio::JobSettings settings;
  settings.size = std::max(size.width, size.height);
  settings.strength = strength;
  settings.styles = static_cast<int>(paintings.size());
  settings.style_blend = std::move(blend);
  settings.content_width = size.width;
  settings.content_height = size.height;
  studio::JobRecord job;
  job.method = method;
  job.params = studio::to_params(settings);
  return job;
}

// Admits `job` (uploads in `dir`) as the studio does, within `budget` bytes
// (0: no limit), paints it and returns result.png as float RGB.
inline cv::Mat paint_job(studio::StudioPainter& painter, studio::JobRecord job, const std::string& dir,
                         std::int64_t budget = 0) {
  painter.check(job);
  job.estimated_bytes = painter.estimate_bytes(job, budget);
  if (budget > 0) EXPECT_LE(job.estimated_bytes, budget);
  const studio::JobRun run{job, dir, [](int, int, const nlohmann::json&) {}, [](const cv::Mat&) {},
                           [] { return false; }, [] { return false; }};
  int width = 0, height = 0;
  EXPECT_EQ(painter.paint(run, width, height), studio::PaintOutcome::Done);
  return load_image(dir + "/result.png").rgb;
}

}  // namespace atelier::testing
