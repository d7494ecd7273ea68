// The studio's masks (issue 15): a job's grey mask puts one painting where it
// is white and keeps the photo where black, or two paintings, the first where
// white and the second where black; a colour mask's regions each take the
// style their `region` field binds. Each style is painted over the whole
// photo, so each part must be that style's own result. Gatys takes masks
// through guided Gram matrices. Over HTTP, with random Magenta and AdaIN
// networks of the real layout, a random fast style and a tiny VGG.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <thread>

#include "atelier/image.hpp"
#include "random_adain_network.hpp"
#include "random_magenta_network.hpp"
#include "studio_fixtures.hpp"
#include "studio_process.hpp"
#include "test_support.hpp"

namespace atelier::testing::serve_mask {

using nlohmann::json;

// A black picture whose columns left of `white_until` are white.
std::string half_mask_png(int width, int height, int white_until) {
  cv::Mat mask(height, width, CV_8UC3, cv::Scalar::all(0));
  mask.colRange(0, white_until).setTo(cv::Scalar::all(255));
  std::vector<unsigned char> bytes;
  cv::imencode(".png", mask, bytes);
  return std::string(bytes.begin(), bytes.end());
}

// Red (RGB #ff0000) on the left third, green (#00ff00) on the right third, black between.
std::string colour_mask_png(int width, int height) {
  cv::Mat mask(height, width, CV_8UC3, cv::Scalar::all(0));
  mask.colRange(0, width / 3).setTo(cv::Scalar(0, 0, 255));  // BGR
  mask.colRange(2 * width / 3, width).setTo(cv::Scalar(0, 255, 0));
  std::vector<unsigned char> bytes;
  cv::imencode(".png", mask, bytes);
  return std::string(bytes.begin(), bytes.end());
}

cv::Mat decoded(const std::string& png) {
  return cv::imdecode(std::vector<uchar>(png.begin(), png.end()), cv::IMREAD_COLOR);
}

// The largest difference (0..255) of two pictures within columns [from, to).
double difference(const cv::Mat& a, const cv::Mat& b, int from, int to) {
  if (a.size() != b.size()) return 1e9;
  return cv::norm(a.colRange(from, to), b.colRange(from, to), cv::NORM_INF);
}

class ServeMaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_random_magenta_models(scratch_.file("models"), 43);
    write_random_adain_models(scratch_.file("models"), "relu3_1", 47);
    write_studio_models(scratch_.file("models"), 1);  // the fast style "candy"
    server_ = std::make_unique<StudioProcess>(
        scratch_.file("data"), scratch_.file("models"), scratch_.file("server"),
        std::vector<std::string>{"--adain-encoder", "adain/vgg_relu3_1", "--adain-decoder", "adain/decoder_relu3_1"});
    ASSERT_GT(server_->port(), 0) << server_->log();
  }

  httplib::Result post(const std::vector<std::string>& paintings, const std::string& mask,
                       const httplib::MultipartFormDataItems& extra = {}) {
    httplib::MultipartFormDataItems items{{"content", photo_, "photo.png", "image/png"}};
    for (const auto& painting : paintings) items.push_back({"style", painting, "art.png", "image/png"});
    if (!mask.empty()) items.push_back({"mask", mask, "mask.png", "image/png"});
    items.insert(items.end(), extra.begin(), extra.end());
    auto client = server_->client();
    return client.Post("/api/v1/jobs", items);
  }

  // The job's result, after it is done.
  cv::Mat painted(const std::vector<std::string>& paintings, const std::string& mask,
                  const httplib::MultipartFormDataItems& extra = {}) {
    auto posted = post(paintings, mask, extra);
    if (!posted || posted->status != 202) {
      ADD_FAILURE() << (posted ? posted->body : "no answer");
      return {};
    }
    auto client = server_->client();
    const std::string id = json::parse(posted->body)["id"];
    const json job = wait_until_ended(client, id);
    if (job["status"] != "done") {
      ADD_FAILURE() << job.dump() << server_->log();
      return {};
    }
    EXPECT_EQ(job["params"]["mask"], !mask.empty());
    last_job_ = job;
    return decoded(client.Get(job["result_url"].get<std::string>())->body);
  }

  ScratchDir scratch_;
  std::unique_ptr<StudioProcess> server_;
  json last_job_;  // the latest job painted()
  const std::string photo_ = picture_png(96, 64);
  const std::string first_ = picture_png(64, 64, 3), second_ = picture_png(48, 80, 6);
};

TEST_F(ServeMaskTest, OneOrTwoPaintingsGoWhereTheMaskSays) {
  const std::string mask = half_mask_png(96, 64, 48);
  const cv::Mat first = painted({first_}, "");
  const std::int64_t unmasked_bytes = last_job_["estimated_bytes"];
  const cv::Mat second = painted({second_}, "");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  ASSERT_GT(difference(first, second, 0, 96), 20) << "the two paintings paint differently";
  const cv::Mat photo = decoded(photo_);
  ASSERT_GT(difference(first, photo, 0, 96), 20) << "the painting changes the photo";

  // One painting: painted where white, the photo where black.
  const cv::Mat one = painted({first_}, mask);
  EXPECT_LE(difference(one, first, 0, 48), 2) << "the white half is the painting's own result";
  EXPECT_LE(difference(one, photo, 48, 96), 2) << "the black half is the photo";

  // Two paintings: the first where white, the second where black.
  const cv::Mat two = painted({first_, second_}, mask);
  EXPECT_LE(difference(two, first, 0, 48), 2);
  EXPECT_LE(difference(two, second, 48, 96), 2);
  EXPECT_EQ(last_job_["params"]["mask_pixels"], 96 * 64);
  EXPECT_GT(last_job_["estimated_bytes"].get<std::int64_t>(), unmasked_bytes)
      << "the mask and each painting's whole picture count in the memory the job is admitted with";

  // A mask of another size is stretched over the photo (its edge blurs a little).
  const cv::Mat stretched = painted({first_, second_}, half_mask_png(48, 32, 24));
  EXPECT_LE(difference(stretched, first, 0, 44), 2);
  EXPECT_LE(difference(stretched, second, 52, 96), 2);
}

TEST_F(ServeMaskTest, FastAndAdainJobsTakeAMaskToo) {
  const std::string mask = half_mask_png(96, 64, 48);
  const cv::Mat photo = decoded(photo_);
  const httplib::MultipartFormDataItems fast{{"model", "candy", "", ""}};
  const cv::Mat candy = painted({}, "", fast), candy_left = painted({}, mask, fast);
  ASSERT_FALSE(candy.empty());
  ASSERT_GT(difference(candy, photo, 0, 96), 20) << "the fast style changes the photo";
  EXPECT_LE(difference(candy_left, candy, 0, 48), 2) << "a fast style where white";
  EXPECT_LE(difference(candy_left, photo, 48, 96), 2) << "the photo where black";

  const httplib::MultipartFormDataItems adain{{"method", "adain", "", ""}};
  const cv::Mat first = painted({first_}, "", adain), second = painted({second_}, "", adain);
  ASSERT_FALSE(first.empty());
  ASSERT_GT(difference(first, second, 0, 96), 20) << "the two paintings paint differently";
  const cv::Mat two = painted({first_, second_}, mask, adain);
  EXPECT_LE(difference(two, first, 0, 48), 2);
  EXPECT_LE(difference(two, second, 48, 96), 2);
}

TEST_F(ServeMaskTest, ColourRegionsTakeEachTheStyleTheyAreBoundTo) {
  const cv::Mat photo = decoded(photo_);
  const cv::Mat first = painted({first_}, ""), candy = painted({}, "", {{"model", "candy", "", ""}});
  ASSERT_FALSE(first.empty());
  ASSERT_GT(difference(first, candy, 0, 96), 20) << "the painting and the fast style paint differently";
  // Red: the first painting (Magenta), green: the fast style, blue (no pixel): the second painting.
  const httplib::MultipartFormDataItems regions{{"region", "#ff0000=1", "", ""},
                                                {"region", "#00ff00=candy", "", ""},
                                                {"region", "#0000ff=2", "", ""}};
  auto hard = regions;
  hard.push_back({"feather", "0", "", ""});
  const cv::Mat sharp = painted({first_, second_}, colour_mask_png(96, 64), hard);
  EXPECT_LE(difference(sharp, first, 0, 32), 2) << "red: the first painting's own result";
  EXPECT_LE(difference(sharp, photo, 32, 64), 2) << "no region: the photo";
  EXPECT_LE(difference(sharp, candy, 64, 96), 2) << "green: the fast style's own result";
  EXPECT_EQ(last_job_["warnings"], json{"no pixel of the mask is #0000ff: that region is empty"});
  EXPECT_EQ(last_job_["params"]["regions"][1], (json{{"color", "#00ff00"}, {"model", "candy"}}));

  // Feathered (4 px by default): the same away from the edges, and soft across them.
  const cv::Mat soft = painted({first_, second_}, colour_mask_png(96, 64), regions);
  EXPECT_LE(difference(soft, first, 0, 20), 2);
  EXPECT_LE(difference(soft, photo, 44, 52), 2);
  EXPECT_LE(difference(soft, candy, 76, 96), 2);
  EXPECT_GT(difference(soft, sharp, 28, 36), 2) << "the edge is blended";
}

TEST_F(ServeMaskTest, GatysPlacesEachPaintingThroughGuidedGramMatrices) {
  const httplib::MultipartFormDataItems gatys{{"iterations", "5", "", ""}, {"size", "64", "", ""}};
  const cv::Mat blended = painted({first_, second_}, "", gatys);
  const std::int64_t unmasked_bytes = last_job_["estimated_bytes"];
  ASSERT_FALSE(blended.empty());
  auto regions = gatys;
  regions.push_back({"region", "#ff0000=2", "", ""});
  regions.push_back({"region", "#00ff00=1", "", ""});
  const cv::Mat placed = painted({first_, second_}, colour_mask_png(96, 64), regions);
  ASSERT_FALSE(placed.empty());
  EXPECT_EQ(last_job_["method"], "gatys");
  EXPECT_GT(last_job_["estimated_bytes"].get<std::int64_t>(), unmasked_bytes)
      << "each region's guided Gram matrices count in the memory the job is admitted with";
  EXPECT_GT(difference(placed, blended, 0, 64), 2) << "the mask guides the optimisation";
  // One painting where white: the black half, held by the content loss alone, stays nearer the photo.
  const cv::Mat grey = painted({first_}, half_mask_png(96, 64, 48), gatys);
  ASSERT_FALSE(grey.empty());
  cv::Mat photo;
  resize_longest_side(decode_image(std::vector<unsigned char>(photo_.begin(), photo_.end()), "photo"), 64)
      .rgb.convertTo(photo, CV_8UC3, 255.0);
  cv::cvtColor(photo, photo, cv::COLOR_RGB2BGR);
  const auto mean_difference = [&](int from, int to) {
    cv::Mat difference;
    cv::absdiff(grey.colRange(from, to), photo.colRange(from, to), difference);
    const cv::Scalar mean = cv::mean(difference);
    return (mean[0] + mean[1] + mean[2]) / 3;
  };
  const double painted_half = mean_difference(0, 28), photo_half = mean_difference(36, 64);
  EXPECT_GT(painted_half, 2 * photo_half) << "measured 5.65 where white, 1.37 where black";
}

TEST_F(ServeMaskTest, ABadMaskIsAOneLineRefusal) {
  const std::string mask = half_mask_png(96, 64, 48);
  const auto refusal = [&](httplib::Result posted, int status, const std::string& says) {
    ASSERT_TRUE(posted);
    EXPECT_EQ(posted->status, status) << posted->body;
    const std::string error = json::parse(posted->body)["error"];
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_NE(error.find(says), std::string::npos) << error;
  };
  refusal(post({first_}, "not a picture"), 415, "mask");
  refusal(post({first_, second_, first_}, mask), 400, "two");
  refusal(post({first_, second_}, mask, {{"style_blend", "1,1", "", ""}}), 400, "drop style_blend");
  refusal(post({first_}, mask, {{"region", "#ff0000=2", "", ""}}), 400, "no style 2");
  refusal(post({first_}, colour_mask_png(96, 64), {{"region", "#ff0000=1", "", ""}, {"region", "#00ff00=mosaic", "", ""}}),
          400, "region #00ff00: \"mosaic\" is neither an uploaded painting's number or file name nor an installed style");
  refusal(post({first_}, mask, {{"mask", mask, "m.png", "image/png"}}), 400, "one mask");
  auto client = server_->client();
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs")->body)["jobs"].size(), 0u) << "nothing was queued";
}

}  // namespace atelier::testing::serve_mask
