// The Magenta style of a command (`stylize --method magenta`,
// `stylize-video --style`): the networks, and the one vector a batch or a
// video is painted with. Defined in cmd_arbitrary.cpp.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "atelier/arbitrary_style.hpp"

namespace CLI {
class App;
}

namespace atelier::cli {

// How a style picture becomes the predictor's input: the flags, declared
// once for every command that takes a style picture (defaults from the
// library), and the options they make.
struct StylePictureFlags {
  std::string fit = "crop";
  int size = StylePictureOptions{}.size;
  StylePictureOptions options() const { return {parse_style_fit(fit), size}; }
};
void add_style_picture_flags(CLI::App* cmd, StylePictureFlags* flags, const std::string& when);

// The two networks from the model search path (magenta-arbitrary/...).
MagentaPainter load_magenta(const std::string& models_dir, const std::string& device);

// True for a style vector file (.json) given as a style.
bool is_style_vector_file(const std::string& path);
// A --region's style is a picture or vector when it is such a file, else a
// trained network (a name in the model search path or a weights file).
bool names_a_network(const std::string& style);

// --style-blend: one weight per style (empty: equal weights); throws
// atelier::Error naming --style-blend when the count differs.
std::vector<double> blend_weights(const std::vector<std::string>& styles, const std::string& style_blend);

// The style as one vector, computed once: pictures are predicted, .json
// vector files read as they are, blended by `weights`. `first_picture`
// gets the first style picture (for --post steps that match a style); it
// stays empty when every style is a vector file.
StyleVector predict_style(const MagentaPainter& painter, const std::vector<std::string>& styles,
                          const std::vector<double>& weights, const StylePictureOptions& fit, long long max_pixels,
                          cv::Mat& first_picture);

// {model} in --name: the style picture's or vector file's name
// ("starry_night", "starry" for starry.style.json), or "blend".
std::string style_name(const std::vector<std::string>& styles);

}  // namespace atelier::cli
