// Post-processing: spec parsing, dispatch, and each building block checked
// for the effect it promises (so an ignored option fails a test).
#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "atelier/error.hpp"
#include "atelier/postprocess.hpp"
#include "test_support.hpp"

namespace atelier {
namespace {

using Kind = PostStep::Kind;

// Uniform random RGB in [low, high], reproducible.
cv::Mat random_rgb(int rows, int cols, float low, float high, std::uint64_t seed) {
  cv::Mat image(rows, cols, CV_32FC3);
  cv::RNG rng(seed);
  rng.fill(image, cv::RNG::UNIFORM, cv::Scalar::all(low), cv::Scalar::all(high));
  return image;
}

// A vertical edge between two grey levels at column cols/2.
cv::Mat step_edge(int rows, int cols, float left, float right) {
  cv::Mat image(rows, cols, CV_32FC3, cv::Scalar::all(left));
  image.colRange(cols / 2, cols).setTo(cv::Scalar::all(right));
  return image;
}

cv::Mat blurred(const cv::Mat& image, double sigma) {
  cv::Mat out;
  cv::GaussianBlur(image, out, cv::Size(), sigma, sigma, cv::BORDER_REFLECT101);
  return out;
}

std::vector<float> channel_values(const cv::Mat& image, int channel) {
  std::vector<cv::Mat> planes;
  cv::split(image, planes);
  std::vector<float> values(planes[channel].begin<float>(), planes[channel].end<float>());
  std::sort(values.begin(), values.end());
  return values;
}

float percentile(const std::vector<float>& sorted, double p) {
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
}

double laplacian_variance(const cv::Mat& rgb) {
  cv::Mat grey, laplacian;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::Laplacian(grey, laplacian, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  return stddev[0] * stddev[0];
}

// The largest jump between horizontally adjacent pixels (channel 0).
double max_horizontal_step(const cv::Mat& rgb) {
  std::vector<cv::Mat> planes;
  cv::split(rgb, planes);
  cv::Mat diff = cv::abs(planes[0].colRange(1, rgb.cols) - planes[0].colRange(0, rgb.cols - 1));
  double max_value = 0;
  cv::minMaxLoc(diff, nullptr, &max_value);
  return max_value;
}

double variance(const cv::Mat& image, int channel) {
  cv::Scalar mean, stddev;
  cv::meanStdDev(image, mean, stddev);
  return stddev[channel] * stddev[channel];
}

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

cv::Mat converted(const cv::Mat& rgb, int code) {
  cv::Mat out;
  cv::cvtColor(rgb, out, code);
  return out;
}

// --- parsing -----------------------------------------------------------------

TEST(ParsePostStep, ReferenceSteps) {
  const PostStep hist_style = parse_post_step("hist:style");
  EXPECT_EQ(hist_style.kind, Kind::HistogramMatch);
  EXPECT_TRUE(hist_style.reference_is_style);
  EXPECT_EQ(hist_style.spec, "hist:style");
  const PostStep lab_content = parse_post_step("lab:content");
  EXPECT_EQ(lab_content.kind, Kind::LabTransfer);
  EXPECT_FALSE(lab_content.reference_is_style);
  EXPECT_FALSE(parse_post_step("hist:content").reference_is_style);
  EXPECT_TRUE(parse_post_step("lab:style").reference_is_style);
}

TEST(ParsePostStep, DefaultsWhenParametersAreOmitted) {
  const PostStep unsharp = parse_post_step("unsharp");
  EXPECT_EQ(unsharp.kind, Kind::Unsharp);
  EXPECT_DOUBLE_EQ(unsharp.param1, 0.5);
  EXPECT_DOUBLE_EQ(unsharp.param2, 1.5);
  EXPECT_DOUBLE_EQ(parse_post_step("unsharp:2").param2, 1.5);
  const PostStep guided = parse_post_step("guided");
  EXPECT_EQ(guided.kind, Kind::Guided);
  EXPECT_DOUBLE_EQ(guided.param1, 4);
  EXPECT_DOUBLE_EQ(guided.param2, 1e-3);
  const PostStep denoise_step = parse_post_step("denoise");
  EXPECT_EQ(denoise_step.kind, Kind::Denoise);
  EXPECT_DOUBLE_EQ(denoise_step.param1, 5);
}

TEST(ParsePostStep, ExplicitParameters) {
  const PostStep unsharp = parse_post_step("unsharp:1.25:3");
  EXPECT_DOUBLE_EQ(unsharp.param1, 1.25);
  EXPECT_DOUBLE_EQ(unsharp.param2, 3);
  EXPECT_DOUBLE_EQ(parse_post_step("unsharp:0").param1, 0);
  const PostStep guided = parse_post_step("guided:8:0.01");
  EXPECT_DOUBLE_EQ(guided.param1, 8);
  EXPECT_DOUBLE_EQ(guided.param2, 0.01);
  EXPECT_DOUBLE_EQ(parse_post_step("guided:2:1e-4").param2, 1e-4);
  EXPECT_DOUBLE_EQ(parse_post_step("denoise:12.5").param1, 12.5);
}

TEST(ParsePostStep, RejectsBadSpecsWithOneLineMessage) {
  const std::vector<std::string> bad = {
      "",            "blur",         "Hist:style",   "hist",           "hist:both",
      "lab:style:1", "lab:",         "unsharp:abc",  "unsharp:",       "unsharp:-1",
      "unsharp:11",  "unsharp:1:0",  "unsharp:1:2:3", "unsharp:0.5x",  "guided:2.5",
      "guided:0",    "guided:4:0",   "guided:4:-1",  "guided:4:2",     "denoise:0",
      "denoise:nan", "denoise:inf",  "denoise:5:1",  "denoise: 5",
  };
  for (const std::string& spec : bad) {
    try {
      parse_post_step(spec);
      ADD_FAILURE() << "accepted '" << spec << "'";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("'" + spec + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("unsharp[:AMOUNT[:SIGMA]]"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

// --- histogram matching ------------------------------------------------------

// CORAL by hand: a reference that is the picture's colours scaled by k
// about their mean and shifted has covariance k^2 C, so the symmetric
// transform is k I: exactly that map comes back; the picture against itself
// is unchanged; for any reference, the mean and the covariance match.
TEST(MatchColorCovariance, ScaledReferenceIsRecoveredAndStatisticsMatch) {
  cv::Mat picture = random_rgb(40, 50, 0.0f, 1.0f, 21);
  // Correlate the channels so the covariance is not diagonal.
  for (auto it = picture.begin<cv::Vec3f>(); it != picture.end<cv::Vec3f>(); ++it)
    (*it)[1] = 0.6f * (*it)[0] + 0.4f * (*it)[1];
  const cv::Scalar mean = cv::mean(picture);
  const cv::Mat faded = (picture - mean) * 0.5 + mean + cv::Scalar(0.1, -0.05, 0.2);
  const auto largest_difference = [](const cv::Mat& a, const cv::Mat& b) {
    double largest = 0;
    cv::minMaxLoc(cv::Mat(cv::abs(a - b)).reshape(1), nullptr, &largest);
    return largest;
  };
  EXPECT_LT(largest_difference(match_color_covariance(picture, faded), faded), 1e-5);
  EXPECT_LT(largest_difference(match_color_covariance(picture, picture), picture), 1e-5);

  const cv::Mat other = random_rgb(30, 20, 0.2f, 0.7f, 22);  // another size, independent channels
  const cv::Mat matched = match_color_covariance(other, picture);
  cv::Mat mean_a, cov_a, mean_b, cov_b, rows_a, rows_b;
  matched.reshape(1, static_cast<int>(matched.total())).convertTo(rows_a, CV_64F);
  picture.reshape(1, static_cast<int>(picture.total())).convertTo(rows_b, CV_64F);
  cv::calcCovarMatrix(rows_a, cov_a, mean_a, cv::COVAR_NORMAL | cv::COVAR_ROWS | cv::COVAR_SCALE, CV_64F);
  cv::calcCovarMatrix(rows_b, cov_b, mean_b, cv::COVAR_NORMAL | cv::COVAR_ROWS | cv::COVAR_SCALE, CV_64F);
  EXPECT_LT(cv::norm(mean_a, mean_b, cv::NORM_INF), 1e-5);
  EXPECT_LT(cv::norm(cov_a, cov_b, cv::NORM_INF), 1e-5);
  EXPECT_GT(cv::norm(cov_a, cov_b, cv::NORM_INF) + cv::norm(other, matched, cv::NORM_INF), 1e-2);  // it did move
}

TEST(MatchHistograms, DarkImageTakesTheBrightReferenceDistribution) {
  cv::Mat dark = random_rgb(48, 64, 0.0f, 0.3f, 1);
  cv::Mat bright = random_rgb(80, 90, 0.5f, 1.0f, 2);
  bright = bright.mul(bright);  // skewed, unlike the uniform input
  const cv::Mat matched = match_histograms(dark, bright);
  ASSERT_EQ(matched.size(), dark.size());
  ASSERT_EQ(matched.type(), CV_32FC3);
  const cv::Scalar matched_mean = cv::mean(matched);
  const cv::Scalar reference_mean = cv::mean(bright);
  const cv::Scalar input_mean = cv::mean(dark);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(matched_mean[c], reference_mean[c], 0.01);
    EXPECT_GT(matched_mean[c] - input_mean[c], 0.3);
    const auto matched_values = channel_values(matched, c);
    const auto reference_values = channel_values(bright, c);
    for (double p : {0.1, 0.5, 0.9}) {
      EXPECT_NEAR(percentile(matched_values, p), percentile(reference_values, p), 0.01)
          << "channel " << c << " percentile " << p;
    }
  }
}

TEST(MatchHistograms, KeepsTheOrderOfValuesAndFlatRegionsFlat) {
  cv::Mat image = random_rgb(32, 32, 0.0f, 0.5f, 3);
  image.rowRange(0, 8).setTo(cv::Scalar::all(0.25));
  const cv::Mat matched = match_histograms(image, random_rgb(40, 40, 0.2f, 0.9f, 4));
  const cv::Mat flat(8, 32, CV_32FC3, cv::Scalar(matched.at<cv::Vec3f>(0, 0)));
  EXPECT_EQ(max_abs_diff(matched.rowRange(0, 8), flat), 0.0);
  const auto& a = image.at<cv::Vec3f>(20, 3);
  const auto& b = image.at<cv::Vec3f>(25, 17);
  const bool a_below = a[1] < b[1];
  EXPECT_EQ(matched.at<cv::Vec3f>(20, 3)[1] < matched.at<cv::Vec3f>(25, 17)[1], a_below);
}

// --- LAB statistics ----------------------------------------------------------

TEST(TransferLabStatistics, MatchesTheReferenceMeanAndSpread) {
  // Dull greenish input, warm reference; both well inside the sRGB gamut.
  cv::Mat input = random_rgb(50, 60, 0.2f, 0.4f, 5) + cv::Scalar(0.0, 0.1, 0.0);
  cv::Mat reference = random_rgb(70, 40, 0.3f, 0.6f, 6) + cv::Scalar(0.2, 0.05, 0.0);
  const cv::Mat output = transfer_lab_statistics(input, reference);
  cv::Scalar input_mean, input_std, ref_mean, ref_std, out_mean, out_std;
  cv::meanStdDev(converted(input, cv::COLOR_RGB2Lab), input_mean, input_std);
  cv::meanStdDev(converted(reference, cv::COLOR_RGB2Lab), ref_mean, ref_std);
  cv::meanStdDev(converted(output, cv::COLOR_RGB2Lab), out_mean, out_std);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(out_mean[c], ref_mean[c], 0.5) << "channel " << c;
    EXPECT_NEAR(out_std[c], ref_std[c], 0.5) << "channel " << c;
  }
  EXPECT_GT(ref_mean[0] - input_mean[0], 10);  // the test means something
  EXPECT_GT(ref_mean[1] - input_mean[1], 10);
}

// --- unsharp mask ------------------------------------------------------------

TEST(UnsharpMask, SharpensABlurredEdge) {
  const cv::Mat soft = blurred(step_edge(32, 64, 0.3f, 0.7f), 3);
  const cv::Mat sharp = unsharp_mask(soft, 1.5, 3.0);
  EXPECT_GT(laplacian_variance(sharp), 2 * laplacian_variance(soft));
  EXPECT_GT(max_horizontal_step(sharp), 1.3 * max_horizontal_step(soft));
  double low = 0, high = 0;
  cv::minMaxLoc(sharp.reshape(1), &low, &high);
  EXPECT_GE(low, 0.0);
  EXPECT_LE(high, 1.0);
}

TEST(UnsharpMask, AmountZeroIsIdentity) {
  const cv::Mat image = random_rgb(20, 30, 0.0f, 1.0f, 7);
  EXPECT_EQ(max_abs_diff(unsharp_mask(image, 0.0, 1.5), image), 0.0);
}

TEST(UnsharpMask, LargerAmountSharpensMore) {
  const cv::Mat soft = blurred(step_edge(32, 64, 0.3f, 0.7f), 3);
  EXPECT_GT(laplacian_variance(unsharp_mask(soft, 1.5, 2.0)),
            laplacian_variance(unsharp_mask(soft, 0.5, 2.0)));
}

// --- guided filter -----------------------------------------------------------

TEST(GuidedFilter, RestoresTheGuidesSharpEdge) {
  const cv::Mat guide = step_edge(32, 64, 0.2f, 0.8f);
  const cv::Mat source = blurred(guide, 4);
  const cv::Mat output = guided_filter(guide, source, 4, 1e-3);
  EXPECT_GT(max_horizontal_step(output), 2 * max_horizontal_step(source));
  // Next to the edge the output is pulled towards the guide (further out,
  // where the window no longer sees the edge, it stays smooth).
  const cv::Range band(30, 34);
  EXPECT_LT(cv::norm(output.colRange(band), guide.colRange(band), cv::NORM_L1),
            0.8 * cv::norm(source.colRange(band), guide.colRange(band), cv::NORM_L1));
}

TEST(GuidedFilter, FlatGuideSmoothsTheSource) {
  const cv::Mat guide(40, 40, CV_32FC3, cv::Scalar::all(0.5));
  const cv::Mat noisy = random_rgb(40, 40, 0.2f, 0.8f, 8);
  const cv::Mat output = guided_filter(guide, noisy, 3, 1e-3);
  for (int c = 0; c < 3; ++c) EXPECT_LT(variance(output, c), 0.1 * variance(noisy, c));
}

TEST(GuidedFilter, ConstantSourceStaysConstant) {
  const cv::Mat guide = random_rgb(24, 24, 0.0f, 1.0f, 9);
  const cv::Mat source(24, 24, CV_32FC3, cv::Scalar(0.1, 0.4, 0.9));
  const cv::Mat output = guided_filter(guide, source, 2, 1e-2);
  EXPECT_LT(max_abs_diff(output, source), 1e-4);
}

TEST(GuidedFilter, GreyGuideAcceptedAndMatchesItsRgbForm) {
  const cv::Mat guide_rgb = step_edge(16, 16, 0.1f, 0.9f);
  cv::Mat guide_grey;
  cv::cvtColor(guide_rgb, guide_grey, cv::COLOR_RGB2GRAY);
  const cv::Mat source = random_rgb(16, 16, 0.0f, 1.0f, 10);
  EXPECT_LT(max_abs_diff(guided_filter(guide_grey, source, 2, 1e-3),
                         guided_filter(guide_rgb, source, 2, 1e-3)),
            1e-5);
}

TEST(GuidedStep, UsesTheContentResizedToTheOutput) {
  // Content at twice the output size: the step must resize it, then follow it.
  const cv::Mat content = step_edge(64, 128, 0.2f, 0.8f);
  const cv::Mat stylised = blurred(step_edge(32, 64, 0.2f, 0.8f), 4);
  const cv::Mat output = apply_post_step(stylised, parse_post_step("guided:4:0.001"), {content, {}});
  ASSERT_EQ(output.size(), stylised.size());
  EXPECT_GT(max_horizontal_step(output), 2 * max_horizontal_step(stylised));
}

// --- denoising ---------------------------------------------------------------

TEST(Denoise, FlattensNoiseAndKeepsTheMean) {
  cv::Mat noisy(64, 64, CV_32FC3);
  cv::RNG(11).fill(noisy, cv::RNG::NORMAL, cv::Scalar::all(0.5), cv::Scalar::all(0.02));
  const cv::Mat output = denoise(noisy, 10);
  ASSERT_EQ(output.type(), CV_32FC3);
  const cv::Scalar input_mean = cv::mean(noisy), output_mean = cv::mean(output);
  for (int c = 0; c < 3; ++c) {
    EXPECT_LT(variance(output, c), 0.2 * variance(noisy, c)) << "channel " << c;
    EXPECT_NEAR(output_mean[c], input_mean[c], 0.01);
  }
}

TEST(Denoise, StrongerDenoisesMore) {
  cv::Mat noisy(48, 48, CV_32FC3);
  cv::RNG(12).fill(noisy, cv::RNG::NORMAL, cv::Scalar::all(0.5), cv::Scalar::all(0.03));
  EXPECT_LT(variance(denoise(noisy, 20), 1), variance(denoise(noisy, 3), 1));
}

// --- original colours --------------------------------------------------------

TEST(KeepOriginalColors, StylisedLuminanceWithContentChroma) {
  // Mid-range values keep the recombination inside the RGB cube (no clamping).
  const cv::Mat stylised = random_rgb(30, 40, 0.3f, 0.7f, 13);
  const cv::Mat content = random_rgb(30, 40, 0.4f, 0.6f, 14);
  const cv::Mat output = keep_original_colors(stylised, content);
  std::vector<cv::Mat> out_ycc, stylised_ycc, content_ycc;
  cv::split(converted(output, cv::COLOR_RGB2YCrCb), out_ycc);
  cv::split(converted(stylised, cv::COLOR_RGB2YCrCb), stylised_ycc);
  cv::split(converted(content, cv::COLOR_RGB2YCrCb), content_ycc);
  EXPECT_LT(max_abs_diff(out_ycc[0], stylised_ycc[0]), 1e-4);
  EXPECT_LT(max_abs_diff(out_ycc[1], content_ycc[1]), 1e-4);
  EXPECT_LT(max_abs_diff(out_ycc[2], content_ycc[2]), 1e-4);
  EXPECT_GT(max_abs_diff(output, stylised), 0.05);  // colours did change
}

TEST(KeepOriginalColors, ResizesTheContent) {
  const cv::Mat stylised = random_rgb(30, 40, 0.3f, 0.7f, 15);
  const cv::Mat content(90, 120, CV_32FC3, cv::Scalar(0.6, 0.45, 0.4));
  const cv::Mat output = keep_original_colors(stylised, content);
  ASSERT_EQ(output.size(), stylised.size());
  const cv::Scalar content_ycc = cv::mean(converted(content, cv::COLOR_RGB2YCrCb));
  std::vector<cv::Mat> out_ycc;
  cv::split(converted(output, cv::COLOR_RGB2YCrCb), out_ycc);
  double low = 0, high = 0;
  cv::minMaxLoc(out_ycc[1], &low, &high);
  EXPECT_NEAR(low, content_ycc[1], 1e-4);
  EXPECT_NEAR(high, content_ycc[1], 1e-4);
}

// --- dispatch ----------------------------------------------------------------

TEST(ApplyPostStep, PicksTheRequestedReference) {
  const cv::Mat image = random_rgb(20, 20, 0.0f, 0.5f, 16);
  const PostContext context{random_rgb(25, 25, 0.0f, 0.3f, 17), random_rgb(30, 30, 0.6f, 1.0f, 18)};
  EXPECT_EQ(max_abs_diff(apply_post_step(image, parse_post_step("hist:style"), context),
                         match_histograms(image, context.style)),
            0.0);
  EXPECT_EQ(max_abs_diff(apply_post_step(image, parse_post_step("hist:content"), context),
                         match_histograms(image, context.content)),
            0.0);
  EXPECT_EQ(max_abs_diff(apply_post_step(image, parse_post_step("lab:style"), context),
                         transfer_lab_statistics(image, context.style)),
            0.0);
}

TEST(ApplyPostStep, MissingReferenceIsAnError) {
  const cv::Mat image = random_rgb(8, 8, 0.0f, 1.0f, 19);
  const PostContext content_only{random_rgb(8, 8, 0.0f, 1.0f, 20), {}};
  EXPECT_THROW(apply_post_step(image, parse_post_step("hist:style"), content_only), Error);
  EXPECT_THROW(apply_post_step(image, parse_post_step("lab:style"), content_only), Error);
  EXPECT_THROW(apply_post_step(image, parse_post_step("guided"), PostContext{}), Error);
  EXPECT_NO_THROW(apply_post_step(image, parse_post_step("hist:content"), content_only));
  EXPECT_NO_THROW(apply_post_step(image, parse_post_step("unsharp"), PostContext{}));
}

TEST(ApplyPostSteps, AppliesInTheGivenOrder) {
  const cv::Mat image = blurred(random_rgb(32, 32, 0.0f, 0.4f, 21), 1);
  const PostContext context{{}, random_rgb(40, 40, 0.3f, 0.9f, 22)};
  const PostStep hist = parse_post_step("hist:style");
  const PostStep sharpen = parse_post_step("unsharp:2:1");

  const cv::Mat hist_last = apply_post_steps(image, {sharpen, hist}, context);
  const cv::Mat sharpen_last = apply_post_steps(image, {hist, sharpen}, context);
  EXPECT_EQ(max_abs_diff(hist_last, apply_post_step(apply_post_step(image, sharpen, context),
                                                    hist, context)),
            0.0);
  EXPECT_EQ(max_abs_diff(sharpen_last, apply_post_step(apply_post_step(image, hist, context),
                                                       sharpen, context)),
            0.0);
  EXPECT_GT(max_abs_diff(hist_last, sharpen_last), 0.01);
  // Matching last leaves exactly the style's distribution; sharpening last does not.
  const auto style_values = channel_values(context.style, 0);
  EXPECT_NEAR(percentile(channel_values(hist_last, 0), 0.9), percentile(style_values, 0.9), 0.01);
  EXPECT_GT(percentile(channel_values(sharpen_last, 0), 0.9) - percentile(style_values, 0.9), 0.01);
}

TEST(ApplyPostSteps, NoStepsReturnsTheInput) {
  const cv::Mat image = random_rgb(8, 8, 0.0f, 1.0f, 23);
  EXPECT_EQ(max_abs_diff(apply_post_steps(image, {}, PostContext{}), image), 0.0);
}

}  // namespace
}  // namespace atelier
