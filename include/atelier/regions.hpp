// Masks and regions for the one-pass methods (issue 15): where each style
// goes. A mask is a picture: grey (white: the style, black: none, grey:
// partial strength; with two styles black is the second) or colour-coded
// regions, each colour bound to one style ("#ff0000=starry.jpg"). The
// methods paint each style over the whole picture and composite() lays
// them down by these weights, so regions with no style keep the photo.
// Torch-free.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace atelier {

// "#rrggbb=STYLE" (or "rrggbb=STYLE"): a colour of the mask and the style it
// takes. Throws atelier::Error for another form.
struct RegionSpec {
  cv::Vec3b colour;  // RGB
  std::string style;
};
RegionSpec parse_region(const std::string& text);
// "#rrggbb", lowercase: how messages and the studio's jobs write a colour.
std::string colour_hex(cv::Vec3b rgb);

struct RegionWeights {
  std::vector<cv::Mat> weights;       // CV_32FC1 in [0,1] at the content's size, one per style; sum <= 1
  std::vector<std::string> notices;   // said to the user: a resized mask, a colour that matches nothing
};

// The weights of a grey mask (CV_32FC3 RGB [0,1], any size: resized to
// `size`, with a notice when its aspect ratio differs by more than 1%):
// one style -> {grey}; two styles -> {grey, 1 - grey}.
RegionWeights grey_mask_weights(const cv::Mat& mask_rgb, cv::Size size, int styles);

inline constexpr int kRegionTolerance = 24;
inline constexpr double kDefaultFeather = 4.0;

// The weights of a colour-coded mask: a pixel belongs to the region whose
// colour is nearest, within `tolerance` (0..255 per channel, for JPEG
// masks); other pixels to none. Each region's edge is feathered over
// `feather` pixels (a Gaussian of that sigma at the content's size; 0:
// hard), so neighbouring styles meet without a seam. A colour that matches
// no pixel gives a notice, not an error.
RegionWeights colour_mask_weights(const cv::Mat& mask_rgb, cv::Size size, const std::vector<cv::Vec3b>& colours,
                                  int tolerance = kRegionTolerance, double feather = kDefaultFeather);

// A mask's weights whichever kind it is, as the CLI and the studio read it:
// no colours, a grey mask of `styles` styles; else one weight per colour
// (its region's style), feathered.
RegionWeights mask_weights(const cv::Mat& mask_rgb, cv::Size size, const std::vector<cv::Vec3b>& colours, int styles,
                           double feather);

// photo x (1 - sum of weights) + sum of painted[i] x weights[i]; every
// picture CV_32FC3 of the photo's size.
cv::Mat composite(const cv::Mat& photo, const std::vector<cv::Mat>& painted, const std::vector<cv::Mat>& weights);

}  // namespace atelier
