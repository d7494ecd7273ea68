// The studio's colour regions (issue 15): POST /jobs binds each `region`
// field's colour to a style upload (by number or file name) or an installed
// fast style, Gatys takes masks, bad regions are one-line refusals, and what
// a painter warns of (a region no pixel has) lands in the job's record.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <thread>

#include "atelier/studio.hpp"
#include "atelier/studio_server.hpp"
#include "test_support.hpp"

namespace atelier::studio {
namespace {

// A picture of `width` x `height` in one colour (BGR), as PNG bytes.
std::string plain_png(int width, int height, cv::Scalar bgr = {20, 120, 220}) {
  std::vector<unsigned char> bytes;
  cv::imencode(".png", cv::Mat(height, width, CV_8UC3, bgr), bytes);
  return std::string(bytes.begin(), bytes.end());
}

const UploadedField kPhoto{"content", "p.png", "", plain_png(96, 64)};
const UploadedField kMask{"mask", "mask.png", "", plain_png(96, 64, {0, 0, 255})};
const UploadedField kStarry{"style", "starry.jpg", "", plain_png(40, 30)};
const UploadedField kWave{"style", "wave.png", "", plain_png(32, 32, {200, 10, 10})};

UploadedField region(const std::string& text) { return {"region", "", "", text}; }
UploadedField setting(const std::string& name, const std::string& value) { return {name, "", "", value}; }

// The refusal's status and message, or {0, ""} when the request was accepted.
std::pair<int, std::string> refusal(const std::vector<UploadedField>& fields) {
  try {
    parse_job_request(fields, {});
  } catch (const Refusal& refusal) {
    return {refusal.status, refusal.what()};
  }
  return {0, ""};
}

TEST(JobRegions, BindUploadsByNumberOrNameAndModelsByName) {
  const JobRequest mixed = parse_job_request(
      {kPhoto, kStarry, kWave, kMask, region("#FF0000=2"), region("00ff00=starry.jpg"), region("#0000ff=candy"),
       setting("feather", "2.5")},
      {});
  EXPECT_EQ(mixed.job.method, "magenta") << "paintings without a method: one pass";
  EXPECT_EQ(mixed.job.params["regions"], (nlohmann::json{{{"color", "#ff0000"}, {"style", 2}},
                                                         {{"color", "#00ff00"}, {"style", 1}},
                                                         {{"color", "#0000ff"}, {"model", "candy"}}}));
  EXPECT_EQ(mixed.job.params["feather"], 2.5);
  EXPECT_EQ(mixed.job.params["mask"], true);
  const JobSettings settings = job_settings(mixed.job.params);
  ASSERT_EQ(settings.regions.size(), 3u);
  EXPECT_EQ(settings.regions[0].style, 1) << "style 2 is the second upload";
  EXPECT_EQ(settings.regions[1].style, 0);
  EXPECT_EQ(settings.regions[2].style, -1);
  EXPECT_EQ(settings.regions[2].model, "candy");
  EXPECT_EQ(settings.feather, 2.5);
  EXPECT_EQ(job_settings(to_params(settings)).regions.size(), 3u) << "kept and read back";

  // Models alone: a fast job; the feather is the CLI's default.
  const JobRequest fast = parse_job_request({kPhoto, kMask, region("#ff0000=candy"), region("#00ff00=mosaic")}, {});
  EXPECT_EQ(fast.job.method, "fast");
  EXPECT_EQ(fast.job.params["feather"], 4.0);
  EXPECT_EQ(fast.styles.size(), 0u);

  // Gatys takes a grey mask (one or two paintings) and colour regions of its paintings.
  const JobRequest grey = parse_job_request({kPhoto, kStarry, kWave, kMask, setting("iterations", "5")}, {});
  EXPECT_EQ(grey.job.method, "gatys");
  EXPECT_EQ(grey.job.params["regions"], nlohmann::json::array());
  const JobRequest gatys = parse_job_request(
      {kPhoto, kStarry, kWave, kMask, region("#ff0000=1"), region("#00ff00=2"), setting("method", "gatys")}, {});
  EXPECT_EQ(gatys.job.method, "gatys");
  EXPECT_EQ(gatys.job.params["regions"].size(), 2u);
  EXPECT_EQ(gatys.mask, kMask.content);
}

TEST(JobRegions, BadRegionsAreOneLineRefusals) {
  const std::vector<std::pair<std::vector<UploadedField>, std::string>> cases = {
      {{kPhoto, kStarry, region("#ff0000=1")}, "region: binds colours of a mask: upload the mask too"},
      {{kPhoto, kStarry, kMask, region("red=1")},
       "region: \"red=1\" is not #rrggbb=STYLE (a style upload's number or file name, or a model)"},
      {{kPhoto, kStarry, kMask, region("#ff0000")},
       "region: \"#ff0000\" is not #rrggbb=STYLE (a style upload's number or file name, or a model)"},
      {{kPhoto, kStarry, kMask, region("#ff0000=1"), region("#FF0000=1")}, "region #ff0000: that colour is bound twice"},
      {{kPhoto, kStarry, kMask, region("#ff0000=3")}, "region #ff0000: there is no style 3 (1 uploaded)"},
      {{kPhoto, kStarry, kMask, region("#ff0000=0")}, "region #ff0000: there is no style 0 (1 uploaded)"},
      {{kPhoto, kStarry, kWave, kMask, region("#ff0000=1")}, "style 2: no region uses it"},
      {{kPhoto, kStarry, kMask, region("#ff0000=1"), setting("model", "candy")},
       "model: with region fields each region names its style: drop model"},
      {{kPhoto, kStarry, kMask, region("#ff0000=1"), region("#00ff00=candy"), setting("method", "gatys")},
       "region #00ff00: \"candy\" is no uploaded painting (a gatys job paints with those)"},
      {{kPhoto, kStarry, kMask, region("#ff0000=1"), setting("feather", "65")}, "feather: 65 is out of range (0..64)"},
      {{kPhoto, kStarry, kMask, region("#ff0000=1"), setting("feather", "soft")}, "feather: \"soft\" is not a number"},
      {{kPhoto, kStarry, kMask, setting("feather", "2")}, "feather: only colour regions are feathered (give region fields)"},
      {{kPhoto, kStarry, kMask, region("#ff0000=" + std::string(201, 'x'))},
       "region #ff0000: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is not a style name"},
      {{kPhoto, kStarry, kStarry, kStarry, kMask},
       "mask: a grey mask takes one painting (white: painted) or two (white: the first, black: the second), not 3; "
       "for more, bind colours with region fields"},
  };
  for (const auto& [fields, expected] : cases) {
    const auto [status, message] = refusal(fields);
    EXPECT_EQ(status, 400) << expected;
    EXPECT_EQ(message, expected);
  }
  std::vector<UploadedField> many{kPhoto, kStarry, kMask};
  for (int i = 0; i < 9; ++i) many.push_back(region("#0000" + std::to_string(10 + i) + "=1"));
  EXPECT_EQ(refusal(many), std::make_pair(400, std::string("region: at most 8 regions")));
  EXPECT_EQ(refusal({kPhoto, kStarry, {"mask", "m.png", "", "not a picture"}, region("#ff0000=1")}).first, 415);
}

// Warns once per message (a rerun says it again), then finishes.
class WarningPainter : public Painter {
 public:
  void check(const JobRecord&) const override {}
  std::int64_t estimate_bytes(const JobRecord&, std::int64_t) const override { return 1; }
  PaintOutcome paint(const JobRun& run, int& width, int& height) override {
    run.warn("no pixel of the mask is #00ff00: that region is empty");
    run.warn("no pixel of the mask is #00ff00: that region is empty");
    width = height = 8;
    return PaintOutcome::Done;
  }
  nlohmann::json models() const override { return nlohmann::json::object(); }
  cv::Mat preview(const std::string&, const cv::Mat&) override { return {}; }
};

TEST(JobRegions, APaintersWarningsAreInTheJobAndKept) {
  testing::ScratchDir scratch;
  const std::string data = scratch.file("data");
  std::string id;
  {
    JobStore store(data);
    WarningPainter painter;
    Studio studio(store, painter, {});
    JobRecord job;
    job.method = "fast";
    job.params = {{"model", "candy"}};
    id = studio.submit(job, plain_png(8, 8), {}).id;
    for (int i = 0; i < 500 && studio.view(id).job.status != JobStatus::Done; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const nlohmann::json shown = job_json(studio.view(id));
    EXPECT_EQ(shown["status"], "done");
    EXPECT_EQ(shown["warnings"], (nlohmann::json{"no pixel of the mask is #00ff00: that region is empty"}));
  }
  JobStore reopened(data);
  EXPECT_EQ(reopened.get(id)->warnings.size(), 1u) << "stored with the record";
}

}  // namespace
}  // namespace atelier::studio
