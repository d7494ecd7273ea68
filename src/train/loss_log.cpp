#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "train/training.hpp"

namespace atelier {
namespace {

// A plot of each series against the step, log10 of the value, one colour a
// series, with its name in the legend.
cv::Mat plot(const std::vector<std::string>& names, const std::vector<std::pair<int64_t, std::vector<double>>>& rows) {
  constexpr int kWidth = 800, kHeight = 450, kLeft = 70, kRight = 20, kTop = 20, kBottom = 40;
  cv::Mat canvas(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Scalar colours[] = {{200, 80, 30}, {40, 40, 200}, {40, 150, 40}, {150, 50, 150}, {0, 140, 200}};
  if (rows.empty()) return canvas;
  double low = 1e300, high = -1e300;
  for (const auto& [step, values] : rows)
    for (double value : values)
      if (value > 0 && std::isfinite(value)) low = std::min(low, std::log10(value)), high = std::max(high, std::log10(value));
  if (low > high) return canvas;
  low = std::floor(low), high = std::max(std::ceil(high), low + 1);
  const double first = static_cast<double>(rows.front().first), last = std::max(first + 1, double(rows.back().first));
  auto to_pixel = [&](double step, double log_value) {
    return cv::Point(kLeft + static_cast<int>((step - first) / (last - first) * (kWidth - kLeft - kRight)),
                     kTop + static_cast<int>((high - log_value) / (high - low) * (kHeight - kTop - kBottom)));
  };
  cv::rectangle(canvas, {kLeft, kTop}, {kWidth - kRight, kHeight - kBottom}, cv::Scalar(0, 0, 0));
  for (double decade = low; decade <= high; decade += 1) {
    const cv::Point at = to_pixel(first, decade);
    cv::line(canvas, at, {kWidth - kRight, at.y}, cv::Scalar(225, 225, 225));
    cv::putText(canvas, "1e" + std::to_string(static_cast<int>(decade)), {5, at.y + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
                cv::Scalar(0, 0, 0));
  }
  cv::putText(canvas, "step " + std::to_string(rows.front().first), {kLeft, kHeight - 12}, cv::FONT_HERSHEY_SIMPLEX,
              0.45, cv::Scalar(0, 0, 0));
  const std::string end = std::to_string(rows.back().first);
  cv::putText(canvas, end, {kWidth - kRight - 9 * static_cast<int>(end.size()), kHeight - 12}, cv::FONT_HERSHEY_SIMPLEX,
              0.45, cv::Scalar(0, 0, 0));
  for (size_t series = 0; series < names.size(); ++series) {
    const cv::Scalar colour = colours[series % 5];
    std::vector<cv::Point> points;
    for (const auto& [step, values] : rows)
      if (values[series] > 0 && std::isfinite(values[series]))
        points.push_back(to_pixel(static_cast<double>(step), std::log10(values[series])));
    if (points.size() > 1) cv::polylines(canvas, points, false, colour, 1, cv::LINE_AA);
    cv::putText(canvas, names[series], {kWidth - kRight - 150, kTop + 20 + 18 * static_cast<int>(series)},
                cv::FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv::LINE_AA);
  }
  return canvas;
}

}  // namespace

LossLog::LossLog(std::string csv_path, std::vector<std::string> names)
    : csv_path_(std::move(csv_path)), names_(std::move(names)) {}

void LossLog::resume(int64_t up_to_step) {
  rows_.clear();
  std::ifstream in(csv_path_);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field;
    std::getline(fields, field, ',');
    const int64_t step = std::stoll(field);
    if (step > up_to_step) break;
    std::vector<double> values;
    while (std::getline(fields, field, ',')) values.push_back(std::stod(field));
    if (values.size() == names_.size()) rows_.emplace_back(step, values);
  }
}

void LossLog::add(int64_t step, const std::vector<double>& values) {
  if (values.size() != names_.size()) throw Error("internal: loss log row of the wrong width");
  rows_.emplace_back(step, values);
}

void LossLog::write(const std::string& png_path) const {
  std::ostringstream csv;
  csv << "step";
  for (const auto& name : names_) csv << "," << name;
  csv << "\n";
  char number[32];
  for (const auto& [step, values] : rows_) {
    csv << step;
    for (double value : values) {
      std::snprintf(number, sizeof number, ",%.9g", value);
      csv << number;
    }
    csv << "\n";
  }
  write_file_atomically(csv_path_, csv.str());
  std::vector<unsigned char> png;
  cv::imencode(".png", plot(names_, rows_), png);
  write_file_atomically(png_path, png);
}

}  // namespace atelier
