// atelier stylize --model: feed-forward stylisation of one image or a batch.
#include <filesystem>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/tiling.hpp"
#include "one_pass_batch.hpp"

namespace atelier::cli {

namespace fs = std::filesystem;

int run_fast_stylize(const StylizeArgs& args) {
  if (!args.styles.empty()) throw Error("--model and --style choose different engines: give one of them");
  OnePassBatch batch(args, "--model");
  FinishOptions finishing;
  finishing.strength = args.strength;
  finishing.original_colors = args.original_colors;
  finishing.post = parse_post_steps(args.post, /*has_style=*/false);

  const std::string model_path = ModelStore(args.models_dir).resolve(args.model);
  const OutputPlan plan = plan_outputs(batch.inputs, batch.outputs, fs::path(model_path).stem().string());
  const FastStylePainter painter(model_path, args.runtime.device);
  batch.progress.info("model " + model_path + " (" + painter.architecture() + ")",
                      {{"model", model_path}, {"architecture", painter.architecture()}});
  return run_batch(plan, batch.outputs, batch.progress, [&](const std::string& input, const std::string& output) {
    const Image image = batch.load(input);
    batch.say_tiles_if(input, plan_tiling(image.rgb.rows, image.rgb.cols, batch.max_memory).tile);
    const cv::Mat painted = painter.paint(image.rgb, batch.precision, batch.max_memory);
    save_image(finish(painted, image, {}, finishing), output, batch.save_options);
  });
}

}  // namespace atelier::cli
