// End to end tests of `atelier train-arbitrary` with a small random encoder
// and generated photos and paintings: the held-out loss falls, resume is
// exact, two processes stay in step, the decoder is an AdaIN decoder, bad
// input is a one-line error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

#include "adain_training_fixture.hpp"
#include "models/adain.hpp"
#include "random_adain_network.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;

class CliTrainArbitraryTest : public ::testing::Test {
 protected:
  CliTrainArbitraryTest() {
    testing::write_adain_test_encoder(encoder_);
    testing::write_test_pictures(photos_, 6, false, 3);
    testing::write_test_pictures(paintings_, 3, true, 5);  // fewer than a batch of 4: repeated
    testing::write_test_pictures(held_out_, 1, true, 9);
  }

  // The common options: 32 px, one thread;
  // the small encoder, batch 2 and previews every 2 steps unless `extra` says otherwise.
  std::string train(const std::string& output, const std::string& extra) const {
    auto unless_given = [&](const std::string& flag, const std::string& value) {
      return extra.find(flag + " ") == std::string::npos ? flag + " " + value + " " : std::string();
    };
    return "train-arbitrary --content-dir " + photos_ + " --style-dir " + paintings_ + " -o " + output +
           " --size 32 --threads 1 --checkpoint-every 2 --preview-style " + held_out_ + "/picture0.png " +
           unless_given("--encoder", encoder_) + unless_given("--batch-size", "2") +
           unless_given("--preview-every", "2") + extra;
  }
  CliResult run(const std::string& arguments) const { return testing::run_atelier(scratch_, arguments); }

  // The fields of the last line of --json output that has `key`.
  static nlohmann::json last_with(const std::string& out, const std::string& key) {
    nlohmann::json found;
    for (const auto& line : testing::lines_of(out)) {
      const auto json = nlohmann::json::parse(line);
      if (json.contains(key)) found = json;
    }
    return found;
  }

  testing::ScratchDir scratch_;
  const std::string encoder_ = scratch_.file("encoder.safetensors");
  const std::string photos_ = scratch_.file("photos");
  const std::string paintings_ = scratch_.file("paintings");
  const std::string held_out_ = scratch_.file("held_out");
};

// A short run lowers the held-out painting's style loss well below the
// untrained decoder's, and the training loss falls.
TEST_F(CliTrainArbitraryTest, LossFallsOnAShortRun) {
  const std::string decoder = scratch_.file("decoder.safetensors");
  const CliResult result = run(train(decoder, "--steps 60 --lr 1e-3 --preview-every 20 --json"));
  ASSERT_EQ(result.code, 0) << result.err;
  const nlohmann::json final = last_with(result.out, "style_loss_first");
  ASSERT_FALSE(final.is_null()) << result.out;
  const double first = final["style_loss_first"], last = final["style_loss_last"];
  std::printf("[ measure  ] held-out style loss after 60 steps: %.4g -> %.4g (%.1fx lower)\n", first, last,
              first / last);
  EXPECT_TRUE(final["held_out_painting"].get<bool>());
  EXPECT_FALSE(final["held_out_photos"].get<bool>());  // the first training photos
  EXPECT_LT(last * 3, first);
  const auto rows = testing::lines_of(testing::read_all(decoder + ".losses.csv"));
  ASSERT_EQ(rows.size(), 61u);
  EXPECT_EQ(rows[0], "step,content,style,total");
  auto total = [&](size_t row) { return std::stod(rows[row].substr(rows[row].rfind(',') + 1)); };
  EXPECT_LT(total(58) + total(59) + total(60), total(1) + total(2) + total(3));
  EXPECT_EQ(testing::lines_of(testing::read_all(decoder + ".validation.csv")).size(), 5u);  // steps 0, 20, 40, 60
  EXPECT_TRUE(fs::exists(decoder + ".previews/step_000060.png"));
  EXPECT_TRUE(fs::exists(decoder + ".validation.png"));
}

// 4 steps straight, or 2 then --resume to 4: identical decoders (files of
// the same name, whose title metadata comes from it).
TEST_F(CliTrainArbitraryTest, ResumeGivesIdenticalWeights) {
  fs::create_directories(scratch_.file("straight"));
  fs::create_directories(scratch_.file("resumed"));
  const std::string straight = scratch_.file("straight/decoder.safetensors");
  const std::string resumed = scratch_.file("resumed/decoder.safetensors");
  ASSERT_EQ(run(train(straight, "--steps 4 -q")).code, 0);
  ASSERT_EQ(run(train(resumed, "--steps 2 -q")).code, 0);
  const CliResult second = run(train(resumed, "--steps 4 --resume -q"));
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(testing::read_all(straight), "");
  EXPECT_EQ(testing::read_all(straight), testing::read_all(resumed));
  EXPECT_EQ(testing::lines_of(testing::read_all(resumed + ".losses.csv")).size(), 5u);  // each step once
  EXPECT_EQ(testing::read_all(straight + ".validation.csv"), testing::read_all(resumed + ".validation.csv"));

  const CliResult other = run(train(resumed, "--steps 6 --resume -q --style-weight 5"));
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("different command"), std::string::npos) << other.err;
}

// The result is an AdaIN decoder at relu3_1 that says how it was trained.
TEST_F(CliTrainArbitraryTest, WritesAnAdainDecoder) {
  const std::string decoder = scratch_.file("decoder.safetensors");
  ASSERT_EQ(run(train(decoder, "--steps 1 -q --precision bf16")).code, 0);
  std::map<std::string, std::string> metadata;
  const NamedTensors weights = load_tensors(decoder, &metadata);
  EXPECT_EQ(metadata["architecture"], "adain-decoder");
  EXPECT_EQ(metadata["level"], "relu3_1");
  EXPECT_EQ(metadata["encoder"], "encoder");
  EXPECT_EQ(metadata["title"], "Decoder");  // its file name, made readable, for listings
  EXPECT_EQ(metadata["family"], "atelier");
  EXPECT_NE(metadata["training"].find("\"precision\":\"bf16\""), std::string::npos) << metadata["training"];
  for (const auto& [key, tensor] : weights) EXPECT_TRUE(torch::isfinite(tensor).all().item<bool>()) << key;
  EXPECT_EQ(load_adain_decoder(decoder)->level, "relu3_1");

  // It paints with any painting through stylize --method adain.
  const std::string painted = scratch_.file("painted.png");
  const CliResult stylised = run("stylize --method adain -c " + photos_ + "/picture1.png -s " + held_out_ +
                                 "/picture0.png --adain-encoder " + encoder_ + " --adain-decoder " + decoder +
                                 " -o " + painted + " -q --threads 1");
  ASSERT_EQ(stylised.code, 0) << stylised.err;
  EXPECT_EQ(load_image(painted).width(), 52);
}

// With an encoder that reaches relu4_1 (naoto0804's vgg_normalised layout)
// the decoder works there, unless --level says relu3_1.
TEST_F(CliTrainArbitraryTest, WorksAtRelu4_1WhenTheEncoderHasIt) {
  const std::string encoder = testing::write_random_adain_models(scratch_.file("models"), "relu4_1", 5).encoder;
  for (const std::string level : {"relu4_1", "relu3_1"}) {
    const std::string decoder = scratch_.file(level + ".safetensors");
    const std::string extra = level == "relu3_1" ? " --level relu3_1" : "";
    const CliResult result = run(train(decoder, "--steps 1 -q --encoder " + encoder + extra));
    ASSERT_EQ(result.code, 0) << result.err;
    std::map<std::string, std::string> metadata;
    load_tensors(decoder, &metadata);
    EXPECT_EQ(metadata["level"], level);
  }
}

// Two processes over Gloo on loopback, batch 1 each, end with identical decoders.
TEST_F(CliTrainArbitraryTest, TwoProcessesStayInStep) {
  const std::string pair = scratch_.file("pair.safetensors");
  const int port = 30500 + static_cast<int>(::getpid() % 1000);
  const std::string options = "--steps 2 --batch-size 1 -q --world-size 2 --master-port " + std::to_string(port);
  CliResult ranks[2];
  std::thread second([&] { ranks[1] = run(train(pair, options + " --rank 1 --save-all-ranks")); });
  ranks[0] = run(train(pair, options + " --rank 0"));
  second.join();
  ASSERT_EQ(ranks[0].code, 0) << ranks[0].err;
  ASSERT_EQ(ranks[1].code, 0) << ranks[1].err;
  const NamedTensors zero = load_tensors(pair), one = load_tensors(pair + ".rank1");
  ASSERT_EQ(zero.size(), one.size());
  for (const auto& [key, tensor] : zero) EXPECT_TRUE(torch::equal(tensor, one.at(key))) << key;
}

// A loss that is no longer finite stops the run (exit 3) and keeps the last
// good checkpoint; a lower --lr resumes from it.
TEST_F(CliTrainArbitraryTest, DivergenceKeepsTheLastCheckpoint) {
  const std::string decoder = scratch_.file("decoder.safetensors");
  ASSERT_EQ(run(train(decoder, "--steps 2 -q")).code, 0);
  const std::string good = testing::read_all(decoder + ".checkpoint.safetensors");
  const CliResult diverged = run(train(decoder, "--steps 4 -q --resume --lr 1e30"));
  EXPECT_EQ(diverged.code, 3);
  ASSERT_EQ(testing::lines_of(diverged.err).size(), 1u) << diverged.err;
  EXPECT_NE(diverged.err.find("diverged at step"), std::string::npos) << diverged.err;
  EXPECT_NE(diverged.err.find("lower --lr"), std::string::npos) << diverged.err;
  EXPECT_EQ(testing::read_all(decoder + ".checkpoint.safetensors"), good);
  EXPECT_EQ(run(train(decoder, "--steps 4 -q --resume --lr 1e-5")).code, 0);
}

TEST_F(CliTrainArbitraryTest, BadInputIsAOneLineErrorAndNoOutput) {
  fs::create_directories(scratch_.file("empty"));
  fs::create_directories(scratch_.file("notes"));
  testing::write_all(scratch_.file("notes/readme.txt"), "not a picture");
  testing::write_all(scratch_.file("broken.png"), "not a picture");
  const std::string out = scratch_.file("bad.safetensors");
  const std::string done = scratch_.file("done.safetensors");
  ASSERT_EQ(run(train(done, "--steps 2 -q")).code, 0);
  auto with = [&](const std::string& content, const std::string& styles, const std::string& extra) {
    return "train-arbitrary --content-dir " + content + " --style-dir " + styles + " -o " + out + " --encoder " +
           encoder_ + " --size 32 --threads 1 --steps 1 " +
           (extra.find("--batch-size") == std::string::npos ? "--batch-size 2 " : "") + extra;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {with(scratch_.file("empty"), paintings_, ""), "--content-dir: no images in"},
      {with(photos_, scratch_.file("empty"), ""), "--style-dir: no images in"},
      {with(photos_, scratch_.file("notes"), ""), "--style-dir: no images in"},
      {with(photos_, paintings_, "--level relu4_1"), "--level relu4_1"},
      {with(photos_, paintings_, "--batch-size 7"), "fewer than one batch"},
      {with(photos_, paintings_, "--preview-style " + scratch_.file("broken.png")), "broken.png"},
      {"train-arbitrary --content-dir " + photos_ + " --style-dir " + paintings_ + " -o " + out +
           " --encoder nosuch --steps 1",
       "nosuch"},
      {train(out, "--steps 2 --resume"), "no checkpoint"},
      {train(done, "--steps 1 --resume"), "beyond --steps 1"},
      {train(scratch_.file("decoder.pt"), "--steps 1"), ".safetensors"},
  };
  for (const auto& [arguments, needle] : cases) {
    const CliResult result = run(arguments);
    EXPECT_EQ(result.code, 1) << arguments;
    const auto lines = testing::lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << arguments << "\n" << result.err;
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
  }
  // Usage errors (CLI11's exit codes) name the flag on their first line.
  const std::vector<std::pair<std::string, std::string>> usage = {
      {"train-arbitrary --content-dir " + photos_ + " -o " + out + " --steps 1", "--style-dir is required"},
      {"train-arbitrary --content-dir " + photos_ + " --style-dir " + paintings_ + " -o " + out, "--steps is required"},
  };
  for (const auto& [arguments, needle] : usage) {
    const CliResult result = run(arguments);
    EXPECT_NE(result.code, 0) << arguments;
    EXPECT_NE(testing::lines_of(result.err).at(0).find(needle), std::string::npos) << arguments << "\n" << result.err;
  }
  for (const auto& entry : fs::directory_iterator(scratch_.path()))
    EXPECT_EQ(entry.path().filename().string().rfind("bad.", 0), std::string::npos) << entry.path();
  EXPECT_FALSE(fs::exists(scratch_.file("decoder.pt")));
}

}  // namespace
}  // namespace atelier
