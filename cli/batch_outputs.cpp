#include "batch_outputs.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <tuple>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/memory_size.hpp"
#include "commands.hpp"

namespace atelier::cli {

namespace fs = std::filesystem;

std::vector<std::string> batch_inputs(const std::string& content, const std::vector<std::string>& inputs,
                                      const BatchOutputs& outputs, const std::string& flag) {
  std::vector<std::string> all = inputs;
  if (!content.empty()) all.insert(all.begin(), content);
  if (all.empty()) throw Error(flag + " needs input images");
  if (outputs.output.empty() == outputs.out_dir.empty())
    throw Error(flag + " needs either -o OUTPUT or --out-dir DIR");
  if (!outputs.output.empty() && all.size() > 1) throw Error("-o takes one input image; use --out-dir for several");
  if (!outputs.output.empty() && !outputs.shard.whole())
    throw Error("--shard " + outputs.shard.name() + " splits a batch: give --out-dir DIR instead of -o");
  if (outputs.name_pattern.find("{name}") == std::string::npos || outputs.name_pattern.find('/') != std::string::npos)
    throw Error("--name " + outputs.name_pattern + ": needs {name}, and no '/', so that every input gets its own file");
  return all;
}

std::string output_name(std::string pattern, const std::string& input, const std::string& model) {
  const fs::path path(input);
  const std::string extension = path.extension().string();
  const std::string parent = fs::absolute(path).parent_path().filename().string();
  const std::pair<std::string, std::string> fields[] = {{"{name}", path.stem().string()},
                                                        {"{ext}", extension.empty() ? "" : extension.substr(1)},
                                                        {"{parent}", parent},
                                                        {"{model}", model}};
  for (const auto& [field, value] : fields)
    for (size_t at = pattern.find(field); at != std::string::npos; at = pattern.find(field, at + value.size()))
      pattern.replace(at, field.size(), value);
  return pattern;
}

void check_can_save_outputs(const BatchOutputs& outputs, const SaveOptions& options) {
  check_can_save(outputs.output.empty()
                     ? (fs::path(outputs.out_dir) / output_name(outputs.name_pattern, "probe", "model")).string()
                     : outputs.output,
                 options);
}

OutputPlan plan_outputs(const std::vector<std::string>& inputs, const BatchOutputs& outputs, const std::string& model,
                        const std::vector<std::string>& protected_files) {
  OutputPlan plan;
  std::map<std::string, std::string> input_of;  // output -> input
  for (const std::string& input : inputs) {
    const std::string output = !outputs.output.empty()
                                   ? outputs.output
                                   : (fs::path(outputs.out_dir) / output_name(outputs.name_pattern, input, model)).string();
    const auto [claimed, fresh] = input_of.emplace(fs::weakly_canonical(output).string(), input);
    std::error_code error;
    if (!fresh && fs::equivalent(claimed->second, input, error)) continue;  // the same file again
    if (!fresh)
      throw Error("inputs " + claimed->second + " and " + input + " would both be written to " + output +
                  ": give --name a pattern that tells them apart, e.g. \"{parent}-{name}.{model}.png\" or "
                  "\"{name}.{ext}.{model}.png\"");
    plan.emplace_back(input, output);
  }
  for (const auto& [input, ignored] : plan)
    for (const auto& [other, output] : plan) refuse_overwriting_input(input, output);
  for (const std::string& file : protected_files)
    for (const auto& [input, output] : plan) refuse_overwriting_input(file, output);
  return plan;
}

namespace {

// Shard I of N: every Nth output from the Ith, in the order of their paths.
OutputPlan share_of(OutputPlan plan, const Shard& shard, Progress& progress) {
  if (shard.whole()) return plan;
  std::sort(plan.begin(), plan.end(),
            [](const auto& a, const auto& b) { return std::tie(a.second, a.first) < std::tie(b.second, b.first); });
  OutputPlan mine;
  for (size_t i = 0; i < plan.size(); ++i)
    if (shard.owns(static_cast<long long>(i))) mine.push_back(plan[i]);
  progress.info("shard " + shard.name() + ": " + std::to_string(mine.size()) + " of the " +
                    std::to_string(plan.size()) + " inputs",
                {{"shard", shard.index}, {"shards", shard.count}, {"inputs", mine.size()}, {"all_inputs", plan.size()}});
  return mine;
}

}  // namespace

int run_batch(const OutputPlan& whole_plan, const BatchOutputs& outputs, Progress& progress,
              const std::function<void(const std::string& input, const std::string& output)>& paint) {
  const OutputPlan plan = share_of(whole_plan, outputs.shard, progress);
  const bool batch = outputs.output.empty();
  int written = 0, skipped = 0, failed = 0;
  progress.start(static_cast<long long>(plan.size()), "img");
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& [input, output] = plan[i];
    if (batch && fs::exists(output) && !outputs.overwrite) {
      ++skipped;
    } else if (batch) {
      // In a batch one bad file is reported and skipped.
      try {
        paint(input, output);
        ++written;
      } catch (const std::exception& error) {
        ++failed;
        progress.finish();
        std::cerr << "atelier: error: " << first_line(error.what()) << std::endl;
        progress.event("error", {{"input", input}, {"message", first_line(error.what())}});
      }
    } else {
      paint(input, output);
      ++written;
    }
    progress.update(static_cast<long long>(i + 1), fs::path(input).filename().string(),
                    {{"input", input}, {"output", output}});
  }
  progress.finish();
  progress.info(std::to_string(written) + " written, " + std::to_string(skipped) +
                    " skipped (already there; --overwrite redoes them), " + std::to_string(failed) + " failed",
                {{"written", written}, {"skipped", skipped}, {"failed", failed}});
  return failed > 0 ? kExitError : kExitOk;
}

void say_warning(Progress& progress, const std::string& input, const std::string& message) {
  progress.event("warning", {{"message", message}, {"input", input}});
  if (progress.mode() != OutputMode::Json) std::cerr << "atelier: warning: " << input << ": " << message << std::endl;
}

void say_tiles(Progress& progress, const std::string& input, long long tile, long long max_memory) {
  progress.info(input + ": in " + std::to_string(tile) + " px tiles to stay within --max-memory " +
                    format_memory_size(max_memory),
                {{"input", input}, {"tile", tile}, {"max_memory", max_memory}});
}

}  // namespace atelier::cli
