// `atelier gan eval --model GAN --data DIR|IDX [-n 1000]`: KID (with its
// standard error) and FID between generated and real pictures, on the pooled
// features of a ResNet-50 (the shared resnet50-caffe by default). The report
// names the network and input size: values compare only within those.
#include <iostream>
#include <nlohmann/json.hpp>

#include "atelier/error.hpp"
#include "atelier/gan.hpp"
#include "atelier/gan_metrics.hpp"
#include "atelier/gan_training.hpp"
#include "atelier/model_store.hpp"
#include "atelier/tensor_image.hpp"
#include "gan_commands.hpp"

namespace atelier::cli {
namespace {

struct GanEvalArgs {
  std::string model, data, features = "resnet50-caffe", models_dir;
  int64_t count = 1000, input_size = 128, blocks = 10;
  uint64_t seed = 0;
  double truncation = 0;
  bool json = false;
  int threads = 0;
  std::string device = "cpu";
};

int run_gan_eval(const GanEvalArgs& args) {
  configure_runtime(args.threads);
  const torch::Device device = parse_device(args.device);
  if (args.count < 4) throw Error("-n must be at least 4");
  const GanGenerator generator = GanGenerator::load(args.model, device);
  const std::string features_path = ModelStore(args.models_dir).resolve(args.features);
  const ResNet50 network = ResNet50::load(features_path, device);

  // Real pictures as the generator was trained on them: its size, channels and crops.
  GanDataOptions data_options;
  data_options.image_size = generator.architecture().image_size;
  data_options.channels = generator.architecture().channels;
  data_options.seed = args.seed;
  auto training = generator.metadata().find("training");
  if (training != generator.metadata().end()) {
    const auto settings = nlohmann::json::parse(training->second, nullptr, false);
    if (settings.is_object() && settings.contains("crop_area")) data_options.min_crop_area = settings["crop_area"].get<double>();
  }
  const GanData data(args.data, data_options);
  const auto real = (data.samples(args.count, args.seed) + 1) / 2;
  const auto fake =
      generator.generate(latents_for(args.seed ^ 0xE7A1, 0, real.size(0), generator.architecture().latent_dim, args.truncation));
  const auto real_features = pooled_features(network, real, args.input_size);
  const auto fake_features = pooled_features(network, fake, args.input_size);
  const KidEstimate kid = kernel_inception_distance(fake_features, real_features, args.blocks);
  const double fid = frechet_distance(fake_features, real_features);

  const std::string network_name = std::string("ResNet-50 ") + (network.stride_in_1x1() ? "(stride in 1x1) " : "") +
                                   "from " + features_path + ", pooled features at " +
                                   std::to_string(args.input_size) + " px";
  if (args.json) {
    std::cout << nlohmann::json{{"kid", kid.kid},
                                {"kid_standard_error", kid.standard_error},
                                {"kid_blocks", kid.blocks},
                                {"kid_block_size", kid.block_size},
                                {"fid", fid},
                                {"generated", fake.size(0)},
                                {"real", real.size(0)},
                                {"features", network_name}}
                     .dump()
              << std::endl;
  } else {
    std::printf("KID %.5f +- %.5f (standard error over %lld blocks of %lld)\nFID %.3f\n", kid.kid, kid.standard_error,
                static_cast<long long>(kid.blocks), static_cast<long long>(kid.block_size), fid);
    std::printf("%lld generated vs %lld real (%s); features: %s\n", static_cast<long long>(fake.size(0)),
                static_cast<long long>(real.size(0)), data.description().c_str(), network_name.c_str());
  }
  return kExitOk;
}

}  // namespace

Runner add_gan_eval_command(CLI::App* gan) {
  auto args = std::make_shared<GanEvalArgs>();
  CLI::App* cmd = gan->add_subcommand("eval", "KID and FID of a generator against real pictures");
  cmd->add_option("--model,-m", args->model, "A generator written by gan train")->required();
  cmd->add_option("--data,-d", args->data, "Real pictures: a folder (random crops) or an IDX file (its first ones)")->required();
  cmd->add_option("-n,--count", args->count, "Pictures of each kind")->capture_default_str();
  cmd->add_option("--features", args->features, "ResNet-50 weights: a name in the model search path or a path")->capture_default_str();
  cmd->add_option("--models-dir", args->models_dir, "Directory searched first for weights");
  cmd->add_option("--input-size", args->input_size, "Side the pictures are resized to for the network")->capture_default_str()->check(CLI::Range(32, 512));
  cmd->add_option("--blocks", args->blocks, "KID blocks (for its standard error)")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", args->seed, "Seed of the generated latents and the real crops")->capture_default_str();
  cmd->add_option("--truncation", args->truncation, "Latent truncation, as in gan sample")->capture_default_str();
  cmd->add_flag("--json", args->json, "One JSON object on stdout");
  cmd->add_option("--threads", args->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  return [args] { return run_gan_eval(*args); };
}

}  // namespace atelier::cli
