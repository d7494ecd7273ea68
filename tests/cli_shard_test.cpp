// Issue 17: `atelier stylize --out-dir ... --shard I/N`, a batch split between
// processes that never talk to each other (a Slurm job array, a Kubernetes
// Indexed Job), with a random-weight network on tiny pictures.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "atelier/image.hpp"
#include "random_style_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;
using testing::lines_of;

class CliShardTest : public ::testing::Test {
 protected:
  CliShardTest() {
    testing::write_random_style_network(model_, /*seed=*/3);
    fs::create_directories(inputs_);
    for (int i = 0; i < 40; ++i) {
      cv::Mat rgb(12, 16, CV_32FC3);
      cv::randu(rgb, 0.0, 1.0);
      save_image(Image{rgb, {}}, inputs_ + "/photo" + std::to_string(i) + ".png");
    }
  }

  // What one shard's JSON report says: the outputs it wrote, and its counts.
  struct ShardReport {
    std::set<std::string> outputs;
    int written = -1, skipped = -1, inputs = -1;
  };

  ShardReport run_shard(const std::string& shard) const {
    // The inputs in another order than the shell's: the share must not depend on it.
    const CliResult result = testing::run_atelier(
        scratch_, "stylize --model " + model_ + " $(ls " + inputs_ + "/*.png | sort -r) --out-dir " + outputs_ +
                      " --shard " + shard + " --threads 1 --json");
    EXPECT_EQ(result.code, 0) << result.err;
    ShardReport report;
    for (const std::string& line : lines_of(result.out)) {
      const auto event = nlohmann::json::parse(line);
      if (event.value("event", "") == "progress" && event.contains("output"))
        report.outputs.insert(fs::path(event["output"].get<std::string>()).filename().string());
      if (event.contains("written")) {
        report.written = event["written"];
        report.skipped = event["skipped"];
      }
      if (event.contains("shards")) report.inputs = event["inputs"];
    }
    return report;
  }

  testing::ScratchDir scratch_;
  const std::string model_ = scratch_.file("random.safetensors");
  const std::string inputs_ = scratch_.file("in");
  const std::string outputs_ = scratch_.file("out");
};

// Four shards write the 40 outputs once each (10 each, no overlap, no gap);
// outputs lost from one shard (killed) are all its rerun paints.
TEST_F(CliShardTest, FourShardsWriteFortyOutputsOnceAndARerunOnlyTheMissing) {
  fs::create_directories(outputs_);
  std::map<std::string, int> shard_of;
  std::map<int, std::set<std::string>> outputs_of;
  for (int shard = 0; shard < 4; ++shard) {
    const ShardReport report = run_shard(std::to_string(shard) + "/4");
    EXPECT_EQ(report.inputs, 10) << "shard " << shard;
    EXPECT_EQ(report.written, 10) << "shard " << shard;
    EXPECT_EQ(report.skipped, 0) << "shard " << shard;
    for (const std::string& output : report.outputs) {
      EXPECT_EQ(shard_of.count(output), 0u) << output << " written by shards " << shard_of[output] << " and " << shard;
      shard_of[output] = shard;
    }
    outputs_of[shard] = report.outputs;
  }
  std::set<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(outputs_)) on_disk.insert(entry.path().filename().string());
  ASSERT_EQ(on_disk.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(shard_of.count("photo" + std::to_string(i) + ".random.png"), 1u) << i;

  // Shard 2 killed: three of its outputs gone (a partial one never exists: writes are atomic).
  std::vector<std::string> lost(outputs_of[2].begin(), outputs_of[2].end());
  lost.resize(3);
  std::map<std::string, fs::file_time_type> before;
  for (const std::string& name : on_disk) before[name] = fs::last_write_time(outputs_ + "/" + name);
  for (const std::string& name : lost) fs::remove(outputs_ + "/" + name);
  const ShardReport rerun = run_shard("2/4");
  EXPECT_EQ(rerun.written, 3);
  EXPECT_EQ(rerun.skipped, 7);
  EXPECT_EQ(rerun.outputs, outputs_of[2]) << "progress names every output of the shard";
  for (const auto& [name, time] : before) {
    ASSERT_TRUE(fs::exists(outputs_ + "/" + name)) << name;
    const bool was_lost = std::find(lost.begin(), lost.end(), name) != lost.end();
    EXPECT_EQ(fs::last_write_time(outputs_ + "/" + name) == time, !was_lost) << name;
  }
}

TEST_F(CliShardTest, BadShardIsAOneLineError) {
  const std::string photo = inputs_ + "/photo0.png";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"stylize --model " + model_ + " " + photo + " --out-dir " + outputs_ + " --shard 4/4", "--shard 4/4: give I/N"},
      {"stylize --model " + model_ + " " + photo + " --out-dir " + outputs_ + " --shard 1/100001", "<= 100000"},
      {"stylize --model " + model_ + " " + photo + " --out-dir " + outputs_ + " --shard -1/4", "give I/N"},
      {"stylize --model " + model_ + " " + photo + " -o " + outputs_ + "/x.png --shard 1/2", "give --out-dir DIR"},
  };
  for (const auto& [arguments, needle] : cases) {
    const CliResult result = testing::run_atelier(scratch_, arguments + " --threads 1 -q");
    EXPECT_EQ(result.code, 1) << arguments;
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << arguments << "\n" << result.err;
    EXPECT_EQ(lines[0].rfind("atelier: error: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
  }
  EXPECT_FALSE(fs::exists(outputs_));
}

}  // namespace
}  // namespace atelier
