// The gallery's previews (style_previews.hpp): painted on their own thread
// beside a running job, cached on disk by the style file's version, and
// dropped when a newer photo comes.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "atelier/studio.hpp"
#include "atelier/style_previews.hpp"
#include "test_support.hpp"

namespace atelier::studio {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Styles "dark" and "light" paint the photo in one grey; "broken" throws.
// A job runs until released, so previews can be asked for meanwhile.
class PreviewPainter : public Painter {
 public:
  void check(const JobRecord&) const override {}
  std::int64_t estimate_bytes(const JobRecord&, std::int64_t) const override { return 1; }
  PaintOutcome paint(const JobRun& run, int& width, int& height) override {
    job_running = true;
    while (!release_job && !run.cancel_requested() && !run.shutdown_requested()) std::this_thread::sleep_for(2ms);
    job_running = false;
    width = height = 1;
    return release_job ? PaintOutcome::Done : PaintOutcome::Stopped;
  }
  nlohmann::json models() const override {
    nlohmann::json styles = nlohmann::json::array();
    for (const char* name : {"dark", "light", "broken"}) styles.push_back({{"name", name}, {"version", version}});
    return {{"styles", styles}};
  }
  cv::Mat preview(const std::string& model, const cv::Mat& photo) override {
    ++previews_painted;
    if (model == "broken") throw Error("broken: cannot paint");
    while (hold_previews) std::this_thread::sleep_for(2ms);
    return cv::Mat(photo.size(), CV_32FC3, cv::Scalar::all(model == "dark" ? 0.1 : 0.9));
  }

  std::string version = "v1";
  std::atomic<bool> job_running{false}, release_job{false}, hold_previews{false};
  std::atomic<int> previews_painted{0};
};

cv::Mat photo(int width, int height, float grey) { return cv::Mat(height, width, CV_32FC3, cv::Scalar::all(grey)); }

// Polls status() until nothing is pending, or 10 s.
nlohmann::json settled(StylePreviews& previews, const std::string& id) {
  nlohmann::json answer;
  for (int i = 0; i < 1000; ++i) {
    answer = previews.status(id);
    if (answer["pending"] == 0) break;
    std::this_thread::sleep_for(10ms);
  }
  return answer;
}

double mean_grey(const std::vector<unsigned char>& jpeg) {
  return cv::mean(cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE))[0] / 255.0;
}

TEST(StylePreviews, PaintsEveryStyleOnceAndRepaintsWhenAStyleFileChanges) {
  testing::ScratchDir scratch;
  PreviewPainter painter;
  {
    StylePreviews previews(painter, scratch.file("cache"), photo(400, 300, 0.5f));
    const nlohmann::json answer = settled(previews, kBuiltInPhoto);
    ASSERT_EQ(answer["pending"], 0) << answer.dump();
    ASSERT_EQ(answer["styles"].size(), 3u);
    EXPECT_EQ(answer["styles"][0]["name"], "dark");
    EXPECT_TRUE(answer["styles"][0]["url"].is_string()) << answer.dump();
    EXPECT_EQ(answer["styles"][2]["error"], "broken: cannot paint");
    const auto dark = previews.jpeg(kBuiltInPhoto, "dark"), light = previews.jpeg(kBuiltInPhoto, "light");
    ASSERT_TRUE(dark && light);
    EXPECT_LT(mean_grey(*dark), 0.2);
    EXPECT_GT(mean_grey(*light), 0.8);
    EXPECT_EQ(cv::imdecode(*dark, cv::IMREAD_COLOR).cols, StylePreviews::kSize);  // scaled down to preview size
    EXPECT_EQ(previews.built_in_jpeg("light", 5s), *light);
    EXPECT_THROW(previews.built_in_jpeg("nonesuch", 1s), Refusal);
    EXPECT_EQ(painter.previews_painted, 3);
  }
  // After a restart the disk cache answers; a changed style file is painted again.
  StylePreviews again(painter, scratch.file("cache"), photo(400, 300, 0.5f));
  EXPECT_EQ(settled(again, kBuiltInPhoto)["pending"], 0);
  EXPECT_EQ(painter.previews_painted, 4) << "only the failed style is tried again";
  painter.version = "v2";  // every style file replaced: the broken one may be mended too
  EXPECT_EQ(again.status(kBuiltInPhoto)["pending"], 3);
  EXPECT_EQ(settled(again, kBuiltInPhoto)["pending"], 0);
  EXPECT_EQ(painter.previews_painted, 7);
}

TEST(StylePreviews, AnUploadedPhotoIsPaintedWhileAJobRuns) {
  testing::ScratchDir scratch;
  PreviewPainter painter;
  JobStore store(scratch.file("data"));
  Studio studio(store, painter, {});
  StylePreviews previews(painter, scratch.file("cache"), photo(64, 48, 0.5f));
  JobRecord job;
  job.method = "fast";
  job.params = {{"model", "dark"}};
  const std::string job_id = studio.submit(job, "photo", {}).id;
  for (int i = 0; i < 500 && !painter.job_running; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(painter.job_running);

  const std::string id = previews.add_photo(photo(640, 480, 0.3f));
  EXPECT_NE(id, kBuiltInPhoto);
  const nlohmann::json answer = settled(previews, id);
  EXPECT_EQ(answer["pending"], 0) << "previews waited for the job";
  EXPECT_TRUE(painter.job_running) << "the job is still running";
  EXPECT_TRUE(previews.jpeg(id, "light").has_value());
  EXPECT_THROW(previews.status("0123456789abcdef"), Refusal);
  painter.release_job = true;
  for (int i = 0; i < 500 && studio.view(job_id).job.status != JobStatus::Done; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(studio.view(job_id).job.status, JobStatus::Done);
}

TEST(StylePreviews, ANewerPhotoOrACancelDropsQueuedPreviews) {
  testing::ScratchDir scratch;
  PreviewPainter painter;
  painter.hold_previews = true;  // the first preview waits, so the rest stay queued
  StylePreviews previews(painter, scratch.file("cache"), photo(64, 48, 0.5f));
  const std::string first = previews.add_photo(photo(64, 48, 0.2f));
  const std::string second = previews.add_photo(photo(64, 48, 0.8f));
  previews.cancel(second);
  painter.hold_previews = false;
  std::this_thread::sleep_for(100ms);
  // At most the one preview already being painted ran; nothing queued for either photo did.
  EXPECT_LE(painter.previews_painted, 1);
  EXPECT_EQ(settled(previews, second)["pending"], 0) << "asking again queues them again";
  EXPECT_EQ(previews.status(second)["styles"][1]["url"].is_string(), true);
  EXPECT_NE(first, second);
}

TEST(StylePreviews, KeepsTheLatestUploadsOnly) {
  testing::ScratchDir scratch;
  PreviewPainter painter;
  StylePreviews previews(painter, scratch.file("cache"), photo(64, 48, 0.5f));
  std::vector<std::string> ids;
  for (std::size_t i = 0; i <= StylePreviews::kKeptPhotos; ++i)
    ids.push_back(previews.add_photo(photo(64, 48, 0.05f * static_cast<float>(i + 1))));
  EXPECT_THROW(previews.status(ids.front()), Refusal) << "the oldest upload is forgotten";
  EXPECT_EQ(settled(previews, ids.back())["pending"], 0);
  EXPECT_EQ(settled(previews, kBuiltInPhoto)["pending"], 0) << "the sample photo is always kept";
  // Uploaded again, the forgotten photo is painted again (its queued work was dropped with it, not left stuck).
  EXPECT_EQ(previews.add_photo(photo(64, 48, 0.05f)), ids.front());
  EXPECT_EQ(settled(previews, ids.front())["pending"], 0);
}

}  // namespace
}  // namespace atelier::studio
