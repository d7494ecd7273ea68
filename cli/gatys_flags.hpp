// The Gatys settings that `stylize` and `stylize-video` share, declared once
// with their defaults taken from the library's GatysOptions.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "atelier/gatys_options.hpp"
#include "atelier/painters.hpp"

namespace atelier::cli {

struct GatysWeightFlags {
  std::string weights = kGatysDefaultWeights;  // the feature network
  double content_weight = GatysOptions{}.content_weight;
  double style_weight = GatysOptions{}.style_weight;
  double tv_weight = GatysOptions{}.tv_weight;
  int iterations = GatysOptions{}.iterations;
  int pyramid = GatysOptions{}.pyramid;

  // Copies the settings into `options`.
  void apply(GatysOptions& options) const {
    options.content_weight = content_weight;
    options.style_weight = style_weight;
    options.tv_weight = tv_weight;
    options.iterations = iterations;
    options.pyramid = pyramid;
  }
};

// --weights, --content-weight, --style-weight, --tv-weight, --iterations/-n, --pyramid;
// `iterations_help` says what one count covers (per scale, per frame).
void add_gatys_weight_flags(CLI::App* cmd, GatysWeightFlags* flags, const std::string& iterations_help);

}  // namespace atelier::cli
