// The studio's Magenta jobs: the painter (style vectors predicted once per
// upload, results as the library paints them, blends, a clear error without
// the weights) and `atelier serve` painting an uploaded painting over HTTP.
// Random Magenta networks of the real layout, written by the test.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <filesystem>

#include "atelier/arbitrary_style.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/studio_painter.hpp"
#include "random_magenta_network.hpp"
#include "studio_fixtures.hpp"
#include "studio_jobs.hpp"
#include "studio_process.hpp"
#include "test_support.hpp"

namespace atelier::testing::serve_magenta {

namespace fs = std::filesystem;
using nlohmann::json;
using studio::JobRecord;
using studio::JobRun;
using studio::JobSettings;
using studio::PaintOutcome;
using studio::StudioPainter;

JobRecord magenta_job(const std::string& dir, const std::string& photo, const std::vector<std::string>& paintings,
           double strength, std::vector<double> blend = {}) {
  return one_pass_job("magenta", dir, photo, paintings, strength, std::move(blend));
}

cv::Mat paint(StudioPainter& painter, JobRecord job, const std::string& dir, std::int64_t budget = 0) {
  return paint_job(painter, std::move(job), dir, budget);
}

// Only the test's models: ATELIER_MODELS and the user's data directory are set aside meanwhile.
class OnlyTheseModels {
 public:
  explicit OnlyTheseModels(const std::string& scratch) {
    for (const char* name : {"ATELIER_MODELS", "XDG_DATA_HOME"})
      if (const char* value = std::getenv(name)) saved_.emplace_back(name, value);
    unsetenv("ATELIER_MODELS");
    setenv("XDG_DATA_HOME", (scratch + "/user-data").c_str(), 1);
  }
  ~OnlyTheseModels() {
    unsetenv("XDG_DATA_HOME");
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

double max_difference(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size()) return 1e9;
  return cv::norm(a, b, cv::NORM_INF);
}

TEST(StudioMagentaPainter, PredictsEachUploadOnceAndPaintsAsTheLibraryDoes) {
  ScratchDir scratch;
  write_random_magenta_models(scratch.file("models"), 31);
  StudioPainter painter({scratch.file("models")});
  const std::string photo = picture_png(72, 52), painting = picture_png(64, 64, 3), other = picture_png(48, 80, 6);

  const cv::Mat full = paint(painter, magenta_job(scratch.file("a"), photo, {painting}, 1.0), scratch.file("a"));
  EXPECT_EQ(full.size(), cv::Size(72, 52)) << "the photo's own size";
  EXPECT_EQ(painter.style_vector_counts().predicted, 1u) << "the painting; strength 1 needs no vector of the photo";

  // Another strength of the same uploads (sent again, in another job): only the photo's own vector is new.
  const cv::Mat weak = paint(painter, magenta_job(scratch.file("b"), photo, {painting}, 0.3), scratch.file("b"));
  EXPECT_EQ(painter.style_vector_counts().predicted, 2u);
  EXPECT_EQ(painter.style_vector_counts().reused, 1u);
  const cv::Mat middle = paint(painter, magenta_job(scratch.file("c"), photo, {painting}, 0.7), scratch.file("c"));
  EXPECT_EQ(painter.style_vector_counts().predicted, 2u) << "a third strength predicts nothing";
  EXPECT_EQ(painter.style_vector_counts().reused, 3u);
  EXPECT_GT(max_difference(full, weak), 0.1) << "strength changes the picture";
  EXPECT_GT(max_difference(middle, weak), 0.05);

  // The same as the library paints it, vectors predicted afresh (up to the result's 8 bits).
  const MagentaPainter library(scratch.file("models/magenta-arbitrary/style_predict.safetensors"),
                               scratch.file("models/magenta-arbitrary/style_transfer.safetensors"));
  const auto rgb = [](const std::string& png) {
    return decode_image(std::vector<unsigned char>(png.begin(), png.end()), "picture").rgb;
  };
  const cv::Mat expected = library.paint(rgb(photo), library.style_vector(rgb(painting)), 0.7);
  EXPECT_LE(max_difference(middle, expected), 1.0 / 255 + 1e-6);

  // Blends weigh the paintings' vectors: all weight on one painting is that painting alone.
  const cv::Mat first_only =
      paint(painter, magenta_job(scratch.file("d"), photo, {painting, other}, 1.0, {2, 0}), scratch.file("d"));
  EXPECT_LE(max_difference(first_only, full), 1.0 / 255 + 1e-6);
  const cv::Mat even = paint(painter, magenta_job(scratch.file("e"), photo, {painting, other}, 1.0), scratch.file("e"));
  EXPECT_GT(max_difference(even, full), 0.05) << "an even blend differs from the first painting alone";
  EXPECT_EQ(painter.style_vector_counts().predicted, 3u) << "only the second painting was new";

  // A memory limit below the whole pass's peak: admitted in tiles, the same picture.
  const JobRecord large = magenta_job(scratch.file("f"), picture_png(640, 480), {painting}, 1.0);
  const std::int64_t whole = painter.estimate_bytes(large, 0);
  const std::int64_t limit = whole - 60'000'000;
  const cv::Mat tiled = paint(painter, large, scratch.file("f"), limit);
  const cv::Mat untiled = paint(painter, magenta_job(scratch.file("g"), picture_png(640, 480), {painting}, 1.0),
                                scratch.file("g"));
  EXPECT_LE(max_difference(tiled, untiled), 1.0 / 255 + 1e-6) << "tiles within " << limit << " bytes of " << whole;
}

TEST(StudioMagentaPainter, WithoutTheWeightsCheckSaysHowToGetThem) {
  ScratchDir scratch;
  write_studio_models(scratch.file("models"), 1);  // a fast style and a VGG, no Magenta
  const OnlyTheseModels only(scratch.path());
  StudioPainter painter({scratch.file("models")});
  const JobRecord job = magenta_job(scratch.file("a"), picture_png(32, 32), {picture_png(32, 32, 2)}, 1.0);
  try {
    painter.check(job);
    FAIL() << "check() accepted a Magenta job without the weights";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("magenta-arbitrary/style_predict"), std::string::npos) << message;
    EXPECT_NE(message.find("atelier models fetch magenta"), std::string::npos) << message;
    EXPECT_NE(message.find("models import"), std::string::npos) << message;
  }
  EXPECT_EQ(painter.models()["magenta_available"], false);
}

class ServeMagentaTest : public ::testing::Test {
 protected:
  std::unique_ptr<StudioProcess> start(const std::string& models) {
    auto server = std::make_unique<StudioProcess>(scratch_.file("data" + models), scratch_.file(models),
                                                  scratch_.file("server-" + models));
    EXPECT_GT(server->port(), 0) << server->log();
    return server;
  }

  ScratchDir scratch_;
};

TEST_F(ServeMagentaTest, PaintsAnUploadedPaintingOverHttpAndTheStrengthMatters) {
  write_random_magenta_models(scratch_.file("models"), 41);
  auto server = start("models");
  auto client = server->client();
  EXPECT_EQ(json::parse(client.Get("/api/v1/models")->body)["magenta_available"], true);
  const json openapi = json::parse(client.Get("/api/v1/openapi.json")->body);
  const json& fields =
      openapi["paths"]["/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"];
  EXPECT_EQ(fields["method"]["enum"], (json{"fast", "magenta", "adain", "gatys"})) << "the API's description knows magenta";
  EXPECT_TRUE(fields.contains("style_blend"));

  const auto post = [&](const std::string& strength) {
    return client.Post("/api/v1/jobs", httplib::MultipartFormDataItems{
                                           {"content", picture_png(96, 64), "photo.png", "image/png"},
                                           {"style", picture_png(64, 64, 3), "art.png", "image/png"},
                                           {"strength", strength, "", ""}});
  };
  std::vector<std::string> results;
  for (const std::string strength : {"1", "0.25"}) {
    auto posted = post(strength);
    ASSERT_TRUE(posted);
    ASSERT_EQ(posted->status, 202) << posted->body;
    const json job = wait_until_ended(client, json::parse(posted->body)["id"]);
    ASSERT_EQ(job["status"], "done") << job.dump() << server->log();
    EXPECT_EQ(job["method"], "magenta") << "an uploaded painting is painted by Magenta by default";
    EXPECT_EQ(job["width"], 96);
    EXPECT_EQ(job["height"], 64);
    results.push_back(client.Get(job["result_url"].get<std::string>())->body);
  }
  const auto decoded = [](const std::string& png) {
    return cv::imdecode(std::vector<uchar>(png.begin(), png.end()), cv::IMREAD_COLOR);
  };
  ASSERT_EQ(decoded(results[0]).size(), cv::Size(96, 64));
  EXPECT_GT(cv::norm(decoded(results[0]), decoded(results[1]), cv::NORM_INF), 10) << "strength 1 and 0.25 differ";

  // A wrong blend is a one-line 400 before anything is queued.
  auto bad = client.Post("/api/v1/jobs", httplib::MultipartFormDataItems{
                                             {"content", picture_png(96, 64), "photo.png", "image/png"},
                                             {"style", picture_png(64, 64, 3), "art.png", "image/png"},
                                             {"style_blend", "0.5,0.5", "", ""}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"], "style_blend: more weights than the 1 paintings uploaded");
}

TEST_F(ServeMagentaTest, WithoutTheWeightsAJobIsRefusedSayingHowToGetThem) {
  write_studio_models(scratch_.file("bare"), 1);
  auto server = start("bare");
  auto client = server->client();
  const json models = json::parse(client.Get("/api/v1/models")->body);
  EXPECT_EQ(models["magenta_available"], false);
  EXPECT_NE(models["magenta_missing"].get<std::string>().find("atelier models fetch magenta"), std::string::npos);
  auto posted = client.Post("/api/v1/jobs", httplib::MultipartFormDataItems{
                                                {"content", picture_png(96, 64), "photo.png", "image/png"},
                                                {"style", picture_png(64, 64, 3), "art.png", "image/png"}});
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 400);
  EXPECT_NE(json::parse(posted->body)["error"].get<std::string>().find("atelier models fetch magenta"),
            std::string::npos)
      << posted->body;
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs")->body)["jobs"].size(), 0u) << "nothing was queued";
}

}  // namespace atelier::testing::serve_magenta
