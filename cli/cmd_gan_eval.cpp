// `atelier gan eval --model GAN --data DIR|IDX [-n 1000]`: KID (with its
// standard error) and FID between generated and real pictures, on the pooled
// features of a ResNet-50 (the shared resnet50-caffe by default). The report
// names the network and input size: values compare only within those.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "atelier/error.hpp"
#include "atelier/gan_tools.hpp"
#include "atelier/runtime.hpp"
#include "common_flags.hpp"
#include "gan_commands.hpp"

namespace atelier::cli {
namespace {

struct GanEvalArgs {
  std::string model;
  GanEvalOptions options;
  bool json = false;
  RuntimeFlags runtime;
};

int run_gan_eval(const GanEvalArgs& args) {
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  if (args.options.count < 4) throw Error("-n must be at least 4");
  GanEvalOptions options = args.options;
  options.device = args.runtime.device;
  const GanEvaluation result = evaluate_gan(args.model, options);

  if (args.json) {
    std::cout << nlohmann::json{{"kid", result.kid},
                                {"kid_standard_error", result.kid_standard_error},
                                {"kid_blocks", result.kid_blocks},
                                {"kid_block_size", result.kid_block_size},
                                {"fid", result.fid},
                                {"generated", result.generated},
                                {"real", result.real},
                                {"features", result.features}}
                     .dump()
              << std::endl;
  } else {
    std::printf("KID %.5f +- %.5f (standard error over %lld blocks of %lld)\nFID %.3f\n", result.kid,
                result.kid_standard_error, static_cast<long long>(result.kid_blocks),
                static_cast<long long>(result.kid_block_size), result.fid);
    std::printf("%lld generated vs %lld real (%s); features: %s\n", static_cast<long long>(result.generated),
                static_cast<long long>(result.real), result.data.c_str(), result.features.c_str());
  }
  return kExitOk;
}

}  // namespace

Runner add_gan_eval_command(CLI::App* gan) {
  auto args = std::make_shared<GanEvalArgs>();
  CLI::App* cmd = gan->add_subcommand("eval", "KID and FID of a generator against real pictures");
  GanEvalOptions& options = args->options;
  cmd->add_option("--model,-m", args->model, "A generator written by gan train")->required();
  cmd->add_option("--data,-d", options.data, "Real pictures: a folder (random crops) or an IDX file (its first ones)")->required();
  cmd->add_option("-n,--count", options.count, "Pictures of each kind")->capture_default_str()->check(whole_number_in(4, 100000));
  cmd->add_option("--features", options.features, "ResNet-50 weights: a name in the model search path or a path")->capture_default_str();
  add_models_dir_flag(cmd, &options.models_dir);
  cmd->add_option("--input-size", options.input_size, "Side the pictures are resized to for the network")->capture_default_str()->check(whole_number_in(32, 512));
  cmd->add_option("--blocks", options.blocks, "KID blocks (for its standard error)")->capture_default_str()->check(whole_number_in(1, 1000));
  cmd->add_option("--seed", options.seed, "Seed of the generated latents and the real crops")->capture_default_str()->check(whole_number_in(0, kAnySeed));
  add_truncation_flag(cmd, &options.truncation, "Latent truncation, as in gan sample");
  cmd->add_flag("--json", args->json, "One JSON object on stdout");
  add_threads_and_device_flags(cmd, &args->runtime);
  return [args] { return run_gan_eval(*args); };
}

}  // namespace atelier::cli
