// Parsing of `--post` specs and dispatch to the building blocks.
#include <charconv>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/postprocess.hpp"

namespace atelier {
namespace {

constexpr const char* kValidForms =
    "valid forms: hist:content, hist:style, lab:content, lab:style, "
    "unsharp[:AMOUNT[:SIGMA]], guided[:RADIUS[:EPS]], denoise[:STRENGTH]";

[[noreturn]] void fail(const std::string& spec, const std::string& reason) {
  throw Error("bad post-processing step '" + spec + "': " + reason + "; " + kValidForms);
}

std::vector<std::string> split_fields(const std::string& spec) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = spec.find(':', start);
    fields.push_back(spec.substr(start, colon - start));
    if (colon == std::string::npos) return fields;
    start = colon + 1;
  }
}

// One optional numeric field of a spec and the values it accepts.
struct Param {
  const char* name;
  double fallback;
  double low;
  bool low_inclusive;
  double high;  // always inclusive
  bool integer;
};

std::string describe_range(const Param& param) {
  std::ostringstream range;
  range << (param.low_inclusive ? "[" : "(") << param.low << ", " << param.high << "]";
  return std::string(param.name) + " must be " + (param.integer ? "an integer" : "a number") +
         " in " + range.str();
}

double parse_param(const std::string& spec, const std::string& text, const Param& param) {
  double value = 0;
  // from_chars, unlike strtod, ignores the locale and reports trailing junk.
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc() || end != text.data() + text.size()) {
    fail(spec, std::string(param.name) + " '" + text + "' is not a number");
  }
  // Written so that NaN fails every comparison and is rejected.
  const bool above_low = param.low_inclusive ? value >= param.low : value > param.low;
  const bool whole = !param.integer || value == std::floor(value);
  if (!(above_low && value <= param.high && whole)) fail(spec, describe_range(param));
  return value;
}

// Fills param1/param2 from the fields after the name, defaults where absent.
void parse_params(PostStep& step, const std::vector<std::string>& fields,
                  const std::vector<Param>& params) {
  if (fields.size() - 1 > params.size()) fail(step.spec, "too many ':' fields");
  double* targets[] = {&step.param1, &step.param2};
  for (std::size_t i = 0; i < params.size(); ++i) {
    *targets[i] = i + 1 < fields.size() ? parse_param(step.spec, fields[i + 1], params[i])
                                        : params[i].fallback;
  }
}

void parse_reference(PostStep& step, const std::vector<std::string>& fields) {
  if (fields.size() != 2 || (fields[1] != "content" && fields[1] != "style")) {
    fail(step.spec, "the reference must be 'content' or 'style'");
  }
  step.reference_is_style = fields[1] == "style";
}

const cv::Mat& reference_for(const PostStep& step, bool style, const PostContext& context) {
  const cv::Mat& reference = style ? context.style : context.content;
  const char* which = style ? "style" : "content";
  if (reference.empty()) {
    throw Error("post-processing step '" + step.spec + "' needs a " + which +
                " image, and there is none");
  }
  if (reference.type() != CV_32FC3) {
    throw Error(std::string("post-processing: the ") + which + " image is not float RGB");
  }
  return reference;
}

}  // namespace

PostStep parse_post_step(const std::string& spec) {
  PostStep step{};
  step.spec = spec;
  const std::vector<std::string> fields = split_fields(spec);
  const std::string& name = fields[0];
  if (name == "hist" || name == "lab") {
    step.kind = name == "hist" ? PostStep::Kind::HistogramMatch : PostStep::Kind::LabTransfer;
    parse_reference(step, fields);
  } else if (name == "unsharp") {
    step.kind = PostStep::Kind::Unsharp;
    parse_params(step, fields,
                 {{"AMOUNT", 0.5, 0, true, 10, false}, {"SIGMA", 1.5, 0, false, 100, false}});
  } else if (name == "guided") {
    step.kind = PostStep::Kind::Guided;
    parse_params(step, fields,
                 {{"RADIUS", 4, 1, true, 256, true}, {"EPS", 1e-3, 0, false, 1, false}});
  } else if (name == "denoise") {
    step.kind = PostStep::Kind::Denoise;
    parse_params(step, fields, {{"STRENGTH", 5, 0, false, 100, false}});
  } else {
    fail(spec, "unknown step '" + name + "'");
  }
  return step;
}

cv::Mat apply_post_step(const cv::Mat& rgb, const PostStep& step, const PostContext& context) {
  if (rgb.empty() || rgb.type() != CV_32FC3) {
    throw Error("post-processing step '" + step.spec + "' needs a float RGB image");
  }
  switch (step.kind) {
    case PostStep::Kind::HistogramMatch:
      return match_histograms(rgb, reference_for(step, step.reference_is_style, context));
    case PostStep::Kind::LabTransfer:
      return transfer_lab_statistics(rgb, reference_for(step, step.reference_is_style, context));
    case PostStep::Kind::Unsharp:
      return unsharp_mask(rgb, step.param1, step.param2);
    case PostStep::Kind::Guided: {
      const cv::Mat& content = reference_for(step, /*style=*/false, context);
      return guided_filter(resize_plane(content, rgb.size()), rgb,
                           static_cast<int>(step.param1), step.param2);
    }
    case PostStep::Kind::Denoise:
      return denoise(rgb, step.param1);
  }
  throw Error("post-processing step '" + step.spec + "' has an unknown kind");
}

cv::Mat apply_post_steps(const cv::Mat& rgb, const std::vector<PostStep>& steps,
                         const PostContext& context) {
  cv::Mat result = rgb;
  for (const PostStep& step : steps) result = apply_post_step(result, step, context);
  return result;
}

}  // namespace atelier
