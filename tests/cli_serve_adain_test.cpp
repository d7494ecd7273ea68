// The studio's AdaIN jobs: the painter (each upload's statistics encoded
// once, results as the library paints them, strength as AdaIN's alpha,
// blends, a clear error without the networks) and `atelier serve` painting
// an uploaded painting over HTTP with networks named by its flags.
// Random AdaIN networks of the real layout at relu3_1 (the quicker level),
// written by the test.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <filesystem>

#include "atelier/adain_style.hpp"
#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/studio_painter.hpp"
#include "random_adain_network.hpp"
#include "studio_fixtures.hpp"
#include "studio_jobs.hpp"
#include "studio_process.hpp"
#include "test_support.hpp"

namespace atelier::testing::serve_adain {

namespace fs = std::filesystem;
using nlohmann::json;
using studio::JobRecord;
using studio::JobRun;
using studio::JobSettings;
using studio::PaintOutcome;
using studio::StudioPainter;

// The relu3_1 pair write_random_adain_models writes, as the painter's names.
studio::PainterOptions relu3_1_painter(const std::string& models) {
  studio::PainterOptions options{models};
  options.adain_encoder = "adain/vgg_relu3_1";
  options.adain_decoder = "adain/decoder_relu3_1";
  return options;
}

JobRecord adain_job(const std::string& dir, const std::string& photo, const std::vector<std::string>& paintings,
           double strength, std::vector<double> blend = {}) {
  return one_pass_job("adain", dir, photo, paintings, strength, std::move(blend));
}

cv::Mat paint(StudioPainter& painter, JobRecord job, const std::string& dir, std::int64_t budget = 0) {
  return paint_job(painter, std::move(job), dir, budget);
}

double max_difference(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size()) return 1e9;
  return cv::norm(a, b, cv::NORM_INF);
}

cv::Mat rgb(const std::string& png) {
  return decode_image(std::vector<unsigned char>(png.begin(), png.end()), "picture").rgb;
}

TEST(StudioAdainPainter, EncodesEachUploadOnceAndStrengthIsAlpha) {
  ScratchDir scratch;
  const AdainFiles files = write_random_adain_models(scratch.file("models"), "relu3_1", 51);
  StudioPainter painter(relu3_1_painter(scratch.file("models")));
  EXPECT_EQ(painter.models()["adain_available"], true);
  const std::string photo = picture_png(72, 52), painting = picture_png(64, 64, 3), other = picture_png(48, 80, 6);

  const cv::Mat full = paint(painter, adain_job(scratch.file("a"), photo, {painting}, 1.0), scratch.file("a"));
  EXPECT_EQ(full.size(), cv::Size(72, 52)) << "the photo's own size";
  EXPECT_EQ(painter.adain_style_counts().predicted, 1u);

  // The same as the library paints it (up to the result's 8 bits).
  const AdainPainter library(files.encoder, files.decoder);
  EXPECT_LE(max_difference(full, library.paint(rgb(photo), {library.style(rgb(painting))})), 1.0 / 255 + 1e-6);

  // Strength 0 decodes the photo's own features: any painting gives the same picture.
  const cv::Mat none = paint(painter, adain_job(scratch.file("b"), photo, {painting}, 0.0), scratch.file("b"));
  const cv::Mat none_other = paint(painter, adain_job(scratch.file("c"), photo, {other}, 0.0), scratch.file("c"));
  EXPECT_EQ(max_difference(none, none_other), 0.0) << "strength 0 ignores the painting";
  EXPECT_GT(max_difference(full, none), 0.1) << "strength 1 paints with it";
  EXPECT_EQ(painter.adain_style_counts().predicted, 2u) << "the first painting was encoded once";
  EXPECT_EQ(painter.adain_style_counts().reused, 1u);

  // Blends weigh the paintings' statistics: all weight on one painting is that painting alone.
  const cv::Mat first_only =
      paint(painter, adain_job(scratch.file("d"), photo, {painting, other}, 1.0, {2, 0}), scratch.file("d"));
  EXPECT_LE(max_difference(first_only, full), 1.0 / 255 + 1e-6);
  const cv::Mat even = paint(painter, adain_job(scratch.file("e"), photo, {painting, other}, 1.0), scratch.file("e"));
  EXPECT_GT(max_difference(even, full), 0.05) << "an even blend differs from the first painting alone";
  EXPECT_EQ(painter.adain_style_counts().predicted, 2u) << "nothing new to encode";
  EXPECT_EQ(painter.style_vector_counts().predicted, 0u) << "Magenta's cache is its own";

  // A memory limit below the whole pass's peak: admitted in tiles, the same picture.
  const JobRecord large = adain_job(scratch.file("f"), picture_png(640, 480), {painting}, 1.0);
  const std::int64_t whole = painter.estimate_bytes(large, 0);
  const std::int64_t limit = whole - 150'000'000;
  const cv::Mat tiled = paint(painter, large, scratch.file("f"), limit);
  const cv::Mat untiled = paint(painter, large, scratch.file("f"));
  EXPECT_EQ(tiled.size(), cv::Size(640, 480));
  EXPECT_LE(max_difference(tiled, untiled), 1.0 / 255 + 1e-6) << "tiles within " << limit << " bytes of " << whole;
  // Too little even to encode the painting: refused before anything runs.
  try {
    painter.estimate_bytes(large, 100'000'000);
    ADD_FAILURE() << "a job was admitted within 100 MB";
  } catch (const studio::Refusal& refusal) {
    EXPECT_EQ(refusal.status, 422);
    EXPECT_EQ(std::string(refusal.what()).rfind("too large for the studio's memory limit", 0), 0u) << refusal.what();
  }
}

TEST(StudioAdainPainter, WithoutTheNetworksCheckSaysHowToGetThem) {
  ScratchDir scratch;
  write_studio_models(scratch.file("models"), 1);  // a fast style and a VGG, no AdaIN
  const std::string data = scratch.file("user-data");
  setenv("XDG_DATA_HOME", data.c_str(), 1);  // not the user's own models
  const char* saved = std::getenv("ATELIER_MODELS");
  const std::string saved_models = saved ? saved : "";
  unsetenv("ATELIER_MODELS");
  StudioPainter painter({scratch.file("models")});
  const JobRecord job = adain_job(scratch.file("a"), picture_png(32, 32), {picture_png(32, 32, 2)}, 1.0);
  try {
    painter.check(job);
    ADD_FAILURE() << "check() accepted an AdaIN job without the networks";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("adain/vgg_normalised and adain/decoder not found"), std::string::npos) << message;
    EXPECT_NE(message.find("atelier models import vgg_normalised.pth"), std::string::npos) << message;
  }
  const json models = painter.models();
  EXPECT_EQ(models["adain_available"], false);
  EXPECT_NE(models["adain_missing"].get<std::string>().find("models import decoder.pth"), std::string::npos);
  unsetenv("XDG_DATA_HOME");
  if (saved) setenv("ATELIER_MODELS", saved_models.c_str(), 1);
}

class ServeAdainTest : public ::testing::Test {
 protected:
  std::unique_ptr<StudioProcess> start(const std::string& models, const std::vector<std::string>& extra = {}) {
    auto server = std::make_unique<StudioProcess>(scratch_.file("data" + models), scratch_.file(models),
                                                  scratch_.file("server-" + models), extra);
    EXPECT_GT(server->port(), 0) << server->log();
    return server;
  }

  ScratchDir scratch_;
};

TEST_F(ServeAdainTest, PaintsAnUploadedPaintingOverHttpAndStrengthIsAlpha) {
  write_random_adain_models(scratch_.file("models"), "relu3_1", 61);
  auto server = start("models", {"--adain-encoder", "adain/vgg_relu3_1", "--adain-decoder", "adain/decoder_relu3_1"});
  auto client = server->client();
  const json models = json::parse(client.Get("/api/v1/models")->body);
  EXPECT_EQ(models["adain_available"], true);
  EXPECT_EQ(models["adain_missing"], "");
  const json openapi = json::parse(client.Get("/api/v1/openapi.json")->body);
  const json& fields =
      openapi["paths"]["/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"];
  EXPECT_EQ(fields["method"]["enum"], (json{"fast", "magenta", "adain", "gatys"})) << "the API's description knows adain";

  const auto paint = [&](const std::string& painting, const std::string& strength) {
    auto posted = client.Post("/api/v1/jobs", httplib::MultipartFormDataItems{
                                                  {"content", picture_png(96, 64), "photo.png", "image/png"},
                                                  {"style", painting, "art.png", "image/png"},
                                                  {"method", "adain", "", ""},
                                                  {"strength", strength, "", ""}});
    if (!posted || posted->status != 202) {
      ADD_FAILURE() << (posted ? posted->body : "no answer");
      return cv::Mat();
    }
    const json job = wait_until_ended(client, json::parse(posted->body)["id"]);
    EXPECT_EQ(job["status"], "done") << job.dump() << server->log();
    EXPECT_EQ(job["method"], "adain");
    EXPECT_EQ(job["width"], 96);
    EXPECT_EQ(job["height"], 64);
    if (job["status"] != "done") return cv::Mat();
    const std::string png = client.Get(job["result_url"].get<std::string>())->body;
    return cv::imdecode(std::vector<uchar>(png.begin(), png.end()), cv::IMREAD_COLOR);
  };
  const std::string starry = picture_png(64, 64, 3), other = picture_png(80, 48, 7);
  const cv::Mat none = paint(starry, "0"), none_other = paint(other, "0"), full = paint(starry, "1");
  ASSERT_EQ(none.size(), cv::Size(96, 64));
  ASSERT_EQ(none_other.size(), cv::Size(96, 64));
  ASSERT_EQ(full.size(), cv::Size(96, 64));
  EXPECT_EQ(cv::norm(none, none_other, cv::NORM_INF), 0) << "strength 0: the photo's own features, whatever the style";
  EXPECT_GT(cv::norm(none, full, cv::NORM_INF), 10) << "strength 0 and 1 differ";
}

TEST_F(ServeAdainTest, WithoutTheNetworksAJobIsRefusedSayingHowToGetThem) {
  write_studio_models(scratch_.file("bare"), 1);
  auto server = start("bare");
  auto client = server->client();
  const json models = json::parse(client.Get("/api/v1/models")->body);
  EXPECT_EQ(models["adain_available"], false);
  EXPECT_NE(models["adain_missing"].get<std::string>().find("atelier models import vgg_normalised.pth"),
            std::string::npos);
  auto posted = client.Post("/api/v1/jobs", httplib::MultipartFormDataItems{
                                                {"content", picture_png(96, 64), "photo.png", "image/png"},
                                                {"style", picture_png(64, 64, 3), "art.png", "image/png"},
                                                {"method", "adain", "", ""}});
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 400);
  const std::string error = json::parse(posted->body)["error"];
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.rfind("adain: the AdaIN networks are not installed", 0), 0u) << error;
  EXPECT_NE(error.find("atelier models import vgg_normalised.pth"), std::string::npos) << error;
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs")->body)["jobs"].size(), 0u) << "nothing was queued";
}

}  // namespace atelier::testing::serve_adain
