#include "gatys_flags.hpp"

#include "common_flags.hpp"

namespace atelier::cli {

void add_gatys_weight_flags(CLI::App* cmd, GatysWeightFlags* flags, const std::string& iterations_help) {
  cmd->add_option("--weights", flags->weights, "Feature network: a name in the model search path or a .safetensors path")
      ->capture_default_str();
  cmd->add_option("--content-weight", flags->content_weight, "Weight of the content loss")
      ->capture_default_str()
      ->check(number_in(0, kAnyFinite));
  cmd->add_option("--style-weight", flags->style_weight, "Weight of the style loss: higher paints more")
      ->capture_default_str()
      ->check(number_in(0, kAnyFinite));
  cmd->add_option("--tv-weight", flags->tv_weight, "Weight of total-variation smoothing")
      ->capture_default_str()
      ->check(number_in(0, kAnyFinite));
  cmd->add_option("--iterations,-n", flags->iterations, iterations_help)
      ->capture_default_str()
      ->check(whole_number_in(1, 1000000));
  cmd->add_option("--pyramid", flags->pyramid,
                  "Levels the picture is optimised as, each half the size of the one before (1: plain pixels; "
                  "default 0: down to " + std::to_string(kGatysPyramidCoarsest) + " px with L-BFGS, pixels with Adam)")
      ->check(whole_number_in(0, kGatysMaxPyramidLevels));
}

}  // namespace atelier::cli
