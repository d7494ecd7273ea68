// Masks and regions (issue 15): the weights each style gets, by hand.
#include <gtest/gtest.h>

#include "atelier/error.hpp"
#include "atelier/regions.hpp"

namespace atelier {
namespace {

cv::Mat filled(cv::Size size, cv::Scalar rgb) { return cv::Mat(size, CV_32FC3, rgb); }

TEST(Regions, ParsesColourAndStyle) {
  const RegionSpec red = parse_region("#ff0000=starry.jpg");
  EXPECT_EQ(red.colour, cv::Vec3b(255, 0, 0));
  EXPECT_EQ(red.style, "starry.jpg");
  const RegionSpec odd = parse_region("00A0fF=a=b.png");  // no '#', mixed case, '=' in the name
  EXPECT_EQ(odd.colour, cv::Vec3b(0, 160, 255));
  EXPECT_EQ(odd.style, "a=b.png");
  for (const char* bad : {"#ff0000", "#ff00=starry.jpg", "#gg0000=a.jpg", "#ff0000=", "=a.jpg", "#ff00001=a.jpg"})
    EXPECT_THROW(parse_region(bad), Error) << bad;
}

TEST(Regions, GreyMaskIsStrengthOrTwoStyles) {
  cv::Mat mask = filled({8, 4}, cv::Scalar(0, 0, 0));
  mask(cv::Rect(0, 0, 4, 4)).setTo(cv::Scalar(1, 1, 1));
  mask(cv::Rect(4, 0, 2, 4)).setTo(cv::Scalar(0.25, 0.25, 0.25));
  const RegionWeights one = grey_mask_weights(mask, {8, 4}, 1);
  ASSERT_EQ(one.weights.size(), 1u);
  EXPECT_FLOAT_EQ(one.weights[0].at<float>(1, 1), 1.0f);
  EXPECT_FLOAT_EQ(one.weights[0].at<float>(1, 5), 0.25f);
  EXPECT_FLOAT_EQ(one.weights[0].at<float>(1, 7), 0.0f);
  EXPECT_TRUE(one.notices.empty());
  const RegionWeights two = grey_mask_weights(mask, {8, 4}, 2);
  ASSERT_EQ(two.weights.size(), 2u);
  EXPECT_FLOAT_EQ(two.weights[1].at<float>(1, 5), 0.75f);
  EXPECT_FLOAT_EQ(two.weights[1].at<float>(1, 7), 1.0f);
  EXPECT_THROW(grey_mask_weights(mask, {8, 4}, 3), Error);
  // Another size of the same shape is resized quietly; another shape is said.
  EXPECT_TRUE(grey_mask_weights(mask, {16, 8}, 1).notices.empty());
  const RegionWeights stretched = grey_mask_weights(mask, {8, 8}, 1);
  ASSERT_EQ(stretched.notices.size(), 1u);
  EXPECT_NE(stretched.notices[0].find("stretched"), std::string::npos);
  EXPECT_EQ(stretched.weights[0].size(), cv::Size(8, 8));
}

TEST(Regions, ColourRegionsFeatheredAndUnlistedColoursKeepThePhoto) {
  // Red left third, green middle third, blue right third; blue is bound to nothing.
  cv::Mat mask = filled({60, 20}, cv::Scalar(1, 0, 0));
  mask(cv::Rect(20, 0, 20, 20)).setTo(cv::Scalar(0, 1, 0));
  mask(cv::Rect(40, 0, 20, 20)).setTo(cv::Scalar(0, 0, 1));
  const std::vector<cv::Vec3b> colours = {{255, 0, 0}, {0, 255, 0}, {255, 255, 0}};
  const RegionWeights hard = colour_mask_weights(mask, {60, 20}, colours, 24, 0.0);
  ASSERT_EQ(hard.weights.size(), 3u);
  EXPECT_FLOAT_EQ(hard.weights[0].at<float>(10, 19), 1.0f);
  EXPECT_FLOAT_EQ(hard.weights[0].at<float>(10, 20), 0.0f);
  EXPECT_FLOAT_EQ(hard.weights[1].at<float>(10, 20), 1.0f);
  EXPECT_FLOAT_EQ(hard.weights[1].at<float>(10, 45), 0.0f);
  ASSERT_EQ(hard.notices.size(), 1u);  // yellow matches no pixel
  EXPECT_NE(hard.notices[0].find("#ffff00"), std::string::npos);

  const RegionWeights soft = colour_mask_weights(mask, {60, 20}, colours, 24, 3.0);
  // Across the red/green edge the weights ramp and still sum to 1: no seam.
  for (int x = 14; x < 26; ++x) {
    const float red = soft.weights[0].at<float>(10, x), green = soft.weights[1].at<float>(10, x);
    EXPECT_NEAR(red + green, 1.0f, 1e-5) << x;
    if (x > 14) EXPECT_LT(red, soft.weights[0].at<float>(10, x - 1) + 1e-6) << x;
  }
  EXPECT_GT(soft.weights[0].at<float>(10, 19), 0.3f);
  EXPECT_LT(soft.weights[0].at<float>(10, 19), 0.7f);
  EXPECT_NEAR(soft.weights[0].at<float>(10, 2), 1.0f, 1e-4);
  EXPECT_NEAR(soft.weights[1].at<float>(10, 55), 0.0f, 1e-4);  // deep in the blue region: the photo
}

TEST(Regions, CompositeKeepsThePhotoWhereNoStyleIs) {
  const cv::Mat photo = filled({4, 2}, cv::Scalar(0.2, 0.4, 0.6));
  const cv::Mat a = filled({4, 2}, cv::Scalar(1, 0, 0)), b = filled({4, 2}, cv::Scalar(0, 0, 1));
  cv::Mat wa = cv::Mat::zeros(2, 4, CV_32FC1), wb = cv::Mat::zeros(2, 4, CV_32FC1);
  wa.at<float>(0, 0) = 1.0f;
  wa.at<float>(0, 1) = 0.5f;
  wb.at<float>(0, 1) = 0.5f;
  wb.at<float>(0, 2) = 0.25f;
  const cv::Mat out = composite(photo, {a, b}, {wa, wb});
  EXPECT_EQ(out.at<cv::Vec3f>(0, 0), cv::Vec3f(1, 0, 0));
  EXPECT_EQ(out.at<cv::Vec3f>(0, 1), cv::Vec3f(0.5f, 0, 0.5f));
  const cv::Vec3f quarter = out.at<cv::Vec3f>(0, 2);
  EXPECT_NEAR(quarter[0], 0.75 * 0.2, 1e-6);
  EXPECT_NEAR(quarter[2], 0.75 * 0.6 + 0.25, 1e-6);
  EXPECT_EQ(out.at<cv::Vec3f>(1, 3), cv::Vec3f(0.2f, 0.4f, 0.6f));
}

TEST(Regions, MaskWeightsReadGreyWithoutColoursAndRegionsWithThem) {
  EXPECT_EQ(colour_hex(cv::Vec3b(255, 0, 171)), "#ff00ab");
  EXPECT_EQ(colour_hex(parse_region("#FF00AB=x").colour), "#ff00ab");
  cv::Mat mask = filled({8, 4}, {0, 0, 0});
  mask.colRange(0, 4).setTo(cv::Scalar(1, 0, 0));  // red left, black right
  const RegionWeights grey = mask_weights(mask, {8, 4}, {}, 2, 4.0);
  ASSERT_EQ(grey.weights.size(), 2u);
  EXPECT_NEAR(grey.weights[0].at<float>(0, 0), 1.0 / 3, 1e-6) << "red's grey level";
  const RegionWeights colour = mask_weights(mask, {8, 4}, {cv::Vec3b(255, 0, 0), cv::Vec3b(0, 0, 255)}, 2, 0.0);
  ASSERT_EQ(colour.weights.size(), 2u);
  EXPECT_EQ(colour.weights[0].at<float>(0, 0), 1.0f) << "red: the first region, hard";
  EXPECT_EQ(colour.weights[0].at<float>(0, 7), 0.0f);
  EXPECT_EQ(colour.notices, std::vector<std::string>{"no pixel of the mask is #0000ff: that region is empty"});
}

}  // namespace
}  // namespace atelier
