// The options of `atelier stylize`, shared by its two engines: Gatys
// optimisation (--style) and feed-forward networks (--model).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "atelier/gatys_options.hpp"
#include "atelier/painters.hpp"
#include "atelier/regions.hpp"
#include "adain_flags.hpp"
#include "common_flags.hpp"
#include "gatys_flags.hpp"
#include "magenta_style.hpp"

namespace atelier::cli {

struct StylizeArgs {
  std::string content;
  std::vector<std::string> styles;
  std::string output;
  int size = 0;  // 0: 512 for Gatys, the image's own size for --model
  long long max_pixels = 100'000'000;
  int quality = 95;
  int bit_depth = 8;
  GatysWeightFlags gatys;  // --weights, the loss weights, --iterations
  std::string models_dir;
  std::string preprocess;  // empty: from the weights' metadata
  std::string pooling = "max";
  std::string content_layers, style_layers;  // comma lists, empty: defaults
  std::string style_blend;
  double style_scale = GatysOptions{}.style_scale;
  std::string init = "content";
  std::uint64_t seed = GatysOptions{}.seed;
  std::string optimizer = "lbfgs";
  double learning_rate = GatysOptions{}.learning_rate;
  int history = GatysOptions{}.history;
  std::string scales;      // "256,512", or "auto" (gatys_auto_scales)
  int coarse_iterations = -1;  // -1: as --scales says (auto: kGatysAutoCoarseIterations; a list: -n)
  bool original_colors = false;
  std::vector<std::string> post;
  int save_every = 0;
  int checkpoint_every = 50;
  bool resume = false;
  OutputFlags output_flags;
  RuntimeFlags runtime;

  // Feed-forward stylisation (--model).
  std::string model;
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string name_pattern = "{name}.{model}.png";
  bool overwrite = false;
  std::string shard;  // --shard I/N; empty: the whole batch
  double strength = 1.0;
  std::string max_memory;  // empty: default_memory_budget()

  // "magenta" (the default with --style), "adain" (arbitrary, one pass) or "gatys" (optimisation).
  std::string method;  // empty: chosen by resolve_method (cmd_stylize.cpp)
  StylePictureFlags style_picture;  // magenta: how a style picture becomes its square
  AdainFlags adain;  // adain: the encoder and decoder
  std::string mask;                  // grey (strength, or two styles) or colour regions (--region)
  std::vector<std::string> regions;  // "#rrggbb=STYLE": a colour of --mask and its style
  double feather = kDefaultFeather;  // colour regions' edges, in pixels
  bool preserve_color = false;  // adain: each style recoloured to the photo's colours first (CORAL)
};

// Stylises args.inputs (or --content) with the feed-forward network
// args.model; returns the exit code.
int run_fast_stylize(const StylizeArgs& args);
// Paints --content and args.inputs (-o, or a batch with --out-dir) with
// the Magenta vector of --style (pictures or .json vector files, blended by
// --style-blend, predicted once; --strength on the vector).
int run_magenta_stylize(const StylizeArgs& args);
// Paints --content with AdaIN (cmd_adain.cpp): --style pictures blended by
// --style-blend or split by --mask, --strength as alpha.
int run_adain_stylize(const StylizeArgs& args);
void add_adain_flags(CLI::App* command, StylizeArgs* args);
// The one-pass methods where --mask and --region say (cmd_regions.cpp).
int run_region_stylize(const StylizeArgs& args);
// The styles a --mask places (the --region styles, or --model / --style),
// checked; and their weights at a picture's size.
struct MaskPlan {
  std::vector<std::string> styles;
  std::vector<RegionSpec> regions;  // empty: a grey mask
  RegionWeights weights(const cv::Mat& mask_rgb, cv::Size size, double feather) const;
};
MaskPlan plan_mask(const StylizeArgs& args);

}  // namespace atelier::cli
