// atelier data prepare | stats: getting a folder of images ready for training.
#include <cstdio>
#include <iostream>

#include "atelier/data_prepare.hpp"
#include "atelier/error.hpp"
#include "commands.hpp"
#include "common_flags.hpp"

namespace atelier::cli {
namespace {

struct DataArgs {
  std::string input, output, crop = "center";
  PrepareOptions prepare;
  OutputFlags flags;
};

int run_prepare(const DataArgs& args) {
  Progress progress(args.flags.mode());
  PrepareOptions options = args.prepare;
  options.crop = parse_crop_mode(args.crop);
  bool started = false;
  const PrepareSummary summary = prepare_dataset(
      args.input, args.output, options, [&](const PrepareEvent& event, size_t done, size_t total) {
        if (!started) progress.start(static_cast<long long>(total), "files"), started = true;
        if (event.rejected) {
          // Every file left out is said, on its own line, whatever the mode.
          progress.finish();
          if (progress.mode() == OutputMode::Bar)
            std::cerr << "left out " << event.source << ": " << event.outcome << std::endl;
          progress.event("rejected", {{"source", event.source}, {"reason", event.outcome}});
        }
        progress.update(static_cast<long long>(done), event.source, {{"source", event.source}, {"outcome", event.outcome}});
      });
  progress.finish();
  progress.info(std::to_string(summary.prepared) + " prepared, " + std::to_string(summary.known) +
                    " already done, " + std::to_string(summary.rejected) + " left out; " + args.output + " holds " +
                    std::to_string(summary.train) + " training and " + std::to_string(summary.val) + " held-out images",
                {{"prepared", summary.prepared}, {"known", summary.known}, {"rejected", summary.rejected},
                 {"train", summary.train}, {"val", summary.val}});
  return kExitOk;
}

int run_stats(const DataArgs& args) {
  const DatasetStats stats = dataset_stats(args.input);
  if (args.flags.json) {
    nlohmann::json out = {{"images", stats.images},
                          {"unreadable", stats.unreadable},
                          {"longest_side", stats.longest_side_histogram},
                          {"mean_rgb", {stats.mean_rgb[0], stats.mean_rgb[1], stats.mean_rgb[2]}},
                          {"std_rgb", {stats.std_rgb[0], stats.std_rgb[1], stats.std_rgb[2]}}};
    if (stats.train >= 0) out["train"] = stats.train, out["val"] = stats.val;
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("%d images", stats.images);
  if (stats.train >= 0) std::printf(" (%d training, %d held out)", stats.train, stats.val);
  if (stats.unreadable > 0) std::printf(", %d unreadable", stats.unreadable);
  std::printf("\nlongest side:");
  for (const char* bucket : {"<256", "256-511", "512-1023", "1024-2047", ">=2048"})
    if (stats.longest_side_histogram.count(bucket))
      std::printf("  %s: %d", bucket, stats.longest_side_histogram.at(bucket));
  std::printf("\nmean RGB %.3f %.3f %.3f, standard deviation %.3f %.3f %.3f (0..1)\n", stats.mean_rgb[0],
              stats.mean_rgb[1], stats.mean_rgb[2], stats.std_rgb[0], stats.std_rgb[1], stats.std_rgb[2]);
  return kExitOk;
}

}  // namespace

Runner add_data_command(CLI::App& app) {
  auto args = std::make_shared<DataArgs>();
  CLI::App* data = app.add_subcommand("data", "Prepare and inspect training images");
  data->require_subcommand(1);
  CLI::App* prepare = data->add_subcommand("prepare", "Decode, check, de-duplicate and resize a folder, with a manifest");
  prepare->add_option("input", args->input, "Folder of images (searched recursively)")->required();
  prepare->add_option("--output,-o", args->output, "Folder to write (re-running adds only new files)")->required();
  prepare->add_option("--size", args->prepare.size, "Side of the squares (--crop none: the shorter side)")->capture_default_str()->check(whole_number_in(16, 16384));
  prepare->add_option("--crop", args->crop, "center, random or none")->capture_default_str()->check(CLI::IsMember({"center", "random", "none"}));
  prepare->add_option("--val", args->prepare.val_fraction, "Share held out for validation")->capture_default_str()->check(number_in(0, 0.9));
  prepare->add_option("--min-side", args->prepare.min_side, "Leave out images smaller than this")->capture_default_str()->check(whole_number_in(0, 16384));
  add_output_flags(prepare, &args->flags);
  CLI::App* stats = data->add_subcommand("stats", "Counts, sizes and colour statistics of a folder");
  stats->add_option("input", args->input, "Folder of images, or one made by data prepare")->required();
  stats->add_flag("--json", args->flags.json, "One JSON object on stdout");
  return [args, prepare] { return prepare->parsed() ? run_prepare(*args) : run_stats(*args); };
}

}  // namespace atelier::cli
