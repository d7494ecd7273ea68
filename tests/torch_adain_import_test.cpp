// `models import` of naoto0804/pytorch-AdaIN's checkpoints
// (import_pytorch_checkpoint, src/pipeline/adain_import.cpp): random
// state_dicts in that layout written by python3-torch
// (tests/reference/adain_checkpoints.py) become safetensors with every tensor
// equal, which the AdaIN loaders read; damaged and foreign files are one-line
// errors that write nothing.
#include <gtest/gtest.h>

#include <filesystem>

#include "atelier/error.hpp"
#include "atelier/model_tools.hpp"
#include "atelier/safetensors.hpp"
#include "models/adain.hpp"
#include "test_support.hpp"

namespace atelier {
namespace adain_import_test {

std::string checkpoints_script() {
  return (std::filesystem::path(__FILE__).parent_path() / "reference" / "adain_checkpoints.py").string();
}

// The checkpoints are written once for the suite.
class AdainImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new testing::ScratchDir;
    written_ = testing::run_command("/usr/bin/python3 '" + checkpoints_script() + "' write '" + folder_->path() + "'",
                                    &log_) == 0;
  }
  static void TearDownTestSuite() {
    delete folder_;
    folder_ = nullptr;
  }
  void SetUp() override {
    if (!written_ && testing::run_command("/usr/bin/python3 -c 'import torch'") != 0)
      GTEST_SKIP() << "SKIPPED: /usr/bin/python3 has no torch (apt install python3-torch)";
    ASSERT_TRUE(written_) << log_;
  }
  static std::string file(const std::string& name) { return folder_->file(name); }

  static inline testing::ScratchDir* folder_ = nullptr;
  static inline bool written_ = false;
  static inline std::string log_;
};

TEST_F(AdainImportTest, CheckpointsBecomeEqualSafetensors) {
  std::string pairs;
  for (const auto& [name, architecture] : std::vector<std::pair<std::string, std::string>>{
           {"vgg_normalised", "vgg-normalised"}, {"decoder", "adain-decoder"}}) {
    const std::string pth = file(name + ".pth"), out = file(name + ".safetensors");
    EXPECT_EQ(import_pytorch_checkpoint(pth, out, /*half=*/false), architecture);
    pairs += " '" + pth + "' '" + out + "'";
    const auto written = SafetensorsFile::open(out);
    EXPECT_EQ(written.metadata_value("architecture"), architecture);
    EXPECT_EQ(written.metadata_value("level"), "relu4_1");
    EXPECT_EQ(written.metadata_value("source"), name + ".pth");
  }
  // python3-torch reads both files itself and compares every tensor.
  std::string log;
  EXPECT_EQ(testing::run_command("/usr/bin/python3 '" + checkpoints_script() + "' compare" + pairs, &log), 0) << log;
  const auto encoder = load_adain_encoder(file("vgg_normalised.safetensors"));
  EXPECT_EQ(encoder->layers().back(), "relu4_1");
  EXPECT_EQ(adain_level(*encoder), "relu4_1");
  EXPECT_EQ(load_adain_decoder(file("decoder.safetensors"))->level, "relu4_1");
}

TEST_F(AdainImportTest, DamagedOrForeignCheckpointsAreOneLineErrors) {
  for (const auto& [name, expected] : std::vector<std::pair<std::string, std::string>>{
           {"foreign", "not a fast style network"},
           {"misshapen", "\"5.weight\" has shape [256,256,1,1]"},
           {"truncated", "truncated.pth"}}) {
    const std::string out = file(name + ".safetensors");
    try {
      import_pytorch_checkpoint(file(name + ".pth"), out, false);
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_NE(message.find(name + ".pth"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    EXPECT_FALSE(std::filesystem::exists(out)) << name;
  }
}

}  // namespace adain_import_test
}  // namespace atelier
