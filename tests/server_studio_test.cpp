// Atelier Studio's queue, store and request parsing, with a fake painter (no
// torch): bounded queue, memory admission, cancel, restart recovery.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <thread>

#include "atelier/atomic_file.hpp"
#include "atelier/studio.hpp"
#include "atelier/studio_server.hpp"
#include "test_support.hpp"

namespace atelier::studio {
namespace {

using testing::ScratchDir;

std::string png_bytes(int width, int height) {
  cv::Mat pixels(height, width, CV_8UC3, cv::Scalar(20, 120, 220));
  std::vector<unsigned char> bytes;
  cv::imencode(".png", pixels, bytes);
  return std::string(bytes.begin(), bytes.end());
}

// Paints nothing: each job "runs" until released (or cancelled), reporting
// one iteration per poll; estimates come from params["fake_bytes"].
class FakePainter : public Painter {
 public:
  std::atomic<bool> release{false};
  std::atomic<int> running{0}, most_running{0};

  void check(const JobRecord& job) const override {
    if (job.params.value("model", "") == "missing") throw Error("model: no installed style \"missing\"");
  }
  std::int64_t estimate_bytes(const JobRecord& job, std::int64_t) const override {
    return job.params.value("fake_bytes", 1000);
  }
  PaintOutcome paint(const JobRun& run, int& width, int& height) override {
    const int now = ++running;
    most_running = std::max(most_running.load(), now);
    int iteration = 0;
    while (!release) {
      if (run.cancel_requested() || run.shutdown_requested()) {
        --running;
        return PaintOutcome::Stopped;
      }
      ++iteration;
      run.report(iteration, 1000, {{"total", iteration == 1 ? std::nan("") : 1.0 / iteration}});
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    --running;
    if (run.job.params.value("fail", false)) throw Error("the fake painter failed on purpose");
    run.preview(cv::Mat(8, 8, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5)));
    width = height = 8;
    return PaintOutcome::Done;
  }
  nlohmann::json models() const override { return {{"styles", nlohmann::json::array()}}; }
  cv::Mat preview(const std::string& model, const cv::Mat&) override { throw Error("no style " + model); }
};

JobRecord fake_job(const nlohmann::json& extra = {}) {
  JobRecord job;
  job.method = "fast";
  job.params = {{"model", "candy"}};
  for (const auto& [key, value] : extra.items()) job.params[key] = value;
  return job;
}

JobStatus wait_for_status(Studio& studio, const std::string& id, JobStatus wanted) {
  for (int i = 0; i < 500; ++i) {
    const JobStatus status = studio.view(id).job.status;
    if (status == wanted) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return studio.view(id).job.status;
}

int refusal_status(const std::function<void()>& action, int* retry_after = nullptr) {
  try {
    action();
  } catch (const Refusal& refusal) {
    if (retry_after) *retry_after = refusal.retry_after_seconds;
    return refusal.status;
  }
  return 0;
}

TEST(StudioQueue, RunsJobsAndKeepsThemAcrossARestart) {
  ScratchDir scratch;
  std::string id;
  {
    JobStore store(scratch.path());
    FakePainter painter;
    Studio studio(store, painter, {});
    id = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
    EXPECT_TRUE(is_job_id(id));
    ASSERT_EQ(wait_for_status(studio, id, JobStatus::Running), JobStatus::Running);
    for (int i = 0; i < 500 && studio.view(id).job.iteration < 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    painter.release = true;
    EXPECT_EQ(wait_for_status(studio, id, JobStatus::Done), JobStatus::Done);
    const JobView view = studio.view(id);
    EXPECT_EQ(view.job.width, 8);
    EXPECT_GT(view.job.iteration, 0);
    ASSERT_GT(view.job.loss_history.size(), 1u);
    EXPECT_TRUE(std::isnan(view.job.loss_history[0])) << "a NaN loss is kept (as null in the store)";
    EXPECT_EQ(read_file_bytes(store.job_dir(id) + "/content").size(), png_bytes(4, 4).size());
  }
  JobStore reopened(scratch.path());
  const auto job = reopened.get(id);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->status, JobStatus::Done);
  EXPECT_EQ(job->params["model"], "candy");
}

TEST(StudioQueue, RefusesWhenTheQueueIsFullWithARetryTime) {
  ScratchDir scratch;
  JobStore store(scratch.path());
  FakePainter painter;
  Studio studio(store, painter, {1, 2});
  const std::string running = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
  ASSERT_EQ(wait_for_status(studio, running, JobStatus::Running), JobStatus::Running);
  studio.submit(fake_job(), png_bytes(4, 4), {});
  studio.submit(fake_job(), png_bytes(4, 4), {});
  int retry_after = 0;
  EXPECT_EQ(refusal_status([&] { studio.submit(fake_job(), png_bytes(4, 4), {}); }, &retry_after), 429);
  EXPECT_GE(retry_after, 1);
  EXPECT_EQ(studio.counters().queued, 2);
  painter.release = true;
}

TEST(StudioQueue, AdmitsByEstimatedMemory) {
  ScratchDir scratch;
  JobStore store(scratch.path());
  FakePainter painter;
  // Two workers, but two 600-byte jobs do not fit in 1000 bytes together.
  Studio studio(store, painter, {2, 8, 1000});
  EXPECT_EQ(refusal_status([&] { studio.submit(fake_job({{"fake_bytes", 5000}}), png_bytes(4, 4), {}); }), 422);
  EXPECT_EQ(refusal_status([&] { studio.submit(fake_job({{"model", "missing"}}), png_bytes(4, 4), {}); }), 400);
  const std::string first = studio.submit(fake_job({{"fake_bytes", 600}}), png_bytes(4, 4), {}).id;
  const std::string second = studio.submit(fake_job({{"fake_bytes", 600}}), png_bytes(4, 4), {}).id;
  ASSERT_EQ(wait_for_status(studio, first, JobStatus::Running), JobStatus::Running);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(studio.view(second).job.status, JobStatus::Queued) << "it waits for memory, not for a worker";
  EXPECT_EQ(studio.view(second).position, 1);
  EXPECT_EQ(studio.counters().reserved_bytes, 600);
  painter.release = true;
  EXPECT_EQ(wait_for_status(studio, second, JobStatus::Done), JobStatus::Done);
  EXPECT_EQ(painter.most_running.load(), 1);
}

TEST(StudioQueue, CancelsQueuedAndRunningJobs) {
  ScratchDir scratch;
  JobStore store(scratch.path());
  FakePainter painter;
  Studio studio(store, painter, {});
  const std::string running = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
  const std::string queued = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
  ASSERT_EQ(wait_for_status(studio, running, JobStatus::Running), JobStatus::Running);
  EXPECT_EQ(studio.cancel(queued).status, JobStatus::Cancelled);
  studio.cancel(running);
  EXPECT_EQ(wait_for_status(studio, running, JobStatus::Cancelled), JobStatus::Cancelled);
  EXPECT_EQ(refusal_status([&] { studio.cancel(running); }), 409);
  EXPECT_EQ(refusal_status([&] { studio.cancel("0123456789abcdef01234567"); }), 404);
  // A cancelled job can run again.
  painter.release = true;
  studio.rerun(running);
  EXPECT_EQ(wait_for_status(studio, running, JobStatus::Done), JobStatus::Done);
  EXPECT_EQ(refusal_status([&] { studio.rerun(running); }), 409);
  // Only an ended job can be deleted; then it is gone with its folder.
  const std::string dir = store.job_dir(running);
  studio.remove(running);
  EXPECT_EQ(refusal_status([&] { studio.view(running); }), 404);
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(refusal_status([&] { studio.remove(running); }), 404);
}

TEST(StudioQueue, ShutdownInterruptsRunningJobsAndKeepsQueuedOnes) {
  ScratchDir scratch;
  std::string running, queued;
  {
    JobStore store(scratch.path());
    FakePainter painter;
    Studio studio(store, painter, {});
    running = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
    queued = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
    ASSERT_EQ(wait_for_status(studio, running, JobStatus::Running), JobStatus::Running);
    studio.shutdown();
    EXPECT_EQ(studio.view(running).job.status, JobStatus::Interrupted);
    EXPECT_NE(studio.view(running).job.message.find("run it again"), std::string::npos);
    EXPECT_EQ(refusal_status([&] { studio.submit(fake_job(), png_bytes(4, 4), {}); }), 503);
  }
  JobStore store(scratch.path());
  FakePainter painter;
  painter.release = true;
  Studio studio(store, painter, {});
  EXPECT_EQ(wait_for_status(studio, queued, JobStatus::Done), JobStatus::Done) << "queued jobs run after a restart";
  EXPECT_EQ(studio.view(running).job.status, JobStatus::Interrupted);
}

TEST(StudioQueue, ARestartAfterACrashMarksRunningJobsInterrupted) {
  ScratchDir scratch;
  JobRecord job = fake_job();
  job.id = new_job_id();
  job.status = JobStatus::Running;
  job.iteration = 42;
  job.created = unix_now();
  {
    JobStore store(scratch.path());
    store.put(job);
    testing::write_all(store.job_dir(job.id) + "/.result.png.tmp-1-2", "half a file");
  }
  std::filesystem::create_directories(scratch.file("jobs/0123456789abcdef01234567"));
  testing::write_all(scratch.file("jobs/0123456789abcdef01234567/content"), "uploads without a record");
  ASSERT_TRUE(std::filesystem::exists(scratch.file("jobs/0123456789abcdef01234567/content")));
  JobStore store(scratch.path());
  FakePainter painter;
  Studio studio(store, painter, {});
  const JobView view = studio.view(job.id);
  EXPECT_EQ(view.job.status, JobStatus::Interrupted);
  EXPECT_FALSE(std::filesystem::exists(scratch.file("jobs/0123456789abcdef01234567"))) << "an orphan folder is removed";
  EXPECT_TRUE(std::filesystem::exists(scratch.file("jobs/" + job.id))) << "a job with a record keeps its folder";
  EXPECT_NE(view.job.message.find("iteration 42"), std::string::npos) << view.job.message;
  EXPECT_TRUE(testing::read_all(store.job_dir(job.id) + "/.result.png.tmp-1-2").empty()) << "temporaries removed";
}

TEST(StudioQueue, WatchersSeeEveryChangeAndTheEnd) {
  ScratchDir scratch;
  JobStore store(scratch.path());
  FakePainter painter;
  Studio studio(store, painter, {});
  const std::string id = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
  JobView view = studio.view(id);
  int changes = 0;
  while (changes < 5) {  // each report of the running job wakes the watcher
    const JobView next = studio.wait_for_change(id, view.version, std::chrono::seconds(5));
    ASSERT_NE(next.version, view.version) << "no change within 5 s";
    view = next;
    ++changes;
  }
  EXPECT_EQ(view.job.status, JobStatus::Running);
  painter.release = true;
  while (view.job.status == JobStatus::Running) view = studio.wait_for_change(id, view.version, std::chrono::seconds(5));
  EXPECT_EQ(view.job.status, JobStatus::Done);
}

TEST(StudioQueue, AFailingJobIsMarkedFailedAndTheNextOneRuns) {
  ScratchDir scratch;
  JobStore store(scratch.path());
  FakePainter painter;
  painter.release = true;
  Studio studio(store, painter, {});
  const std::string failing = studio.submit(fake_job({{"fail", true}}), png_bytes(4, 4), {}).id;
  const std::string next = studio.submit(fake_job(), png_bytes(4, 4), {}).id;
  EXPECT_EQ(wait_for_status(studio, failing, JobStatus::Failed), JobStatus::Failed);
  EXPECT_EQ(studio.view(failing).job.message, "the fake painter failed on purpose");
  EXPECT_EQ(wait_for_status(studio, next, JobStatus::Done), JobStatus::Done);
  EXPECT_EQ(studio.counters().ended["failed"], 1u);
  // A failed job can be queued again.
  EXPECT_EQ(studio.rerun(failing).status, JobStatus::Queued);
}

// --- POST /jobs parsing --------------------------------------------------

int parse_status(const std::vector<UploadedField>& fields, UploadLimits limits = {}) {
  return refusal_status([&] { parse_job_request(fields, limits); });
}

TEST(JobRequestParsing, FillsDefaultsAndReadsParamsJson) {
  const JobRequest fast = parse_job_request({{"content", "photo.png", "image/png", png_bytes(300, 200)},
                                             {"model", "", "", "candy"}},
                                            {});
  EXPECT_EQ(fast.job.method, "fast");
  EXPECT_EQ(fast.job.params["size"], 300) << "fast jobs keep the photo's size";
  EXPECT_EQ(fast.job.params["content_name"], "photo.png");
  const JobRequest gatys = parse_job_request(
      {{"content", "../../etc/passwd", "", png_bytes(64, 64)},
       {"style", "s.png", "", png_bytes(32, 32)},
       {"params", "", "", R"({"iterations": 40, "keep_colors": true, "strength": 0.25, "size": 128})"},
       {"size", "", "", "96"}},
      {});
  EXPECT_EQ(gatys.job.method, "gatys");
  EXPECT_EQ(gatys.job.params["iterations"], 40);
  EXPECT_EQ(gatys.job.params["keep_colors"], true);
  EXPECT_EQ(gatys.job.params["size"], 96) << "a separate field wins over params";
  EXPECT_EQ(gatys.job.params["content_name"], "....etcpasswd") << "no path survives";
  EXPECT_EQ(gatys.styles.size(), 1u);
  // "auto" is resolved by the server's rule, so the job says which it used.
  UploadLimits amx;
  amx.auto_precision = "bf16";
  const JobRequest automatic = parse_job_request({{"content", "photo.png", "image/png", png_bytes(64, 64)},
                                                  {"model", "", "", "candy"},
                                                  {"precision", "", "", "auto"}},
                                                 amx);
  EXPECT_EQ(automatic.job.params["precision"], "bf16");
  EXPECT_EQ(parse_status({{"content", "photo.png", "", png_bytes(64, 64)}, {"model", "", "", "candy"},
                          {"precision", "", "", "fp16"}}),
            400);
}

TEST(JobRequestParsing, RefusesBadInputWithTheRightStatus) {
  const UploadedField photo{"content", "p.png", "", png_bytes(64, 64)};
  const UploadedField model{"model", "", "", "candy"};
  EXPECT_EQ(parse_status({model}), 400) << "no photo";
  EXPECT_EQ(parse_status({photo}), 400) << "no style or model";
  EXPECT_EQ(parse_status({photo, model, {"size", "", "", "12"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"size", "", "", "100px"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"strength", "", "", "1.5"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"strength", "", "", "nan"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"method", "", "", "magic"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"keep_colors", "", "", "maybe"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"colour", "", "", "red"}}), 400) << "unknown field";
  EXPECT_EQ(parse_status({photo, model, {"params", "", "", "{not json"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"params", "", "", "[1,2]"}}), 400);
  EXPECT_EQ(parse_status({photo, model, {"params", "", "", R"({"size": [1]})"}}), 400);
  EXPECT_EQ(parse_status({photo, photo, model}), 400) << "two photos";
  EXPECT_EQ(parse_status({{"content", "a.png", "", "hello, I am text"}, model}), 415);
  EXPECT_EQ(parse_status({{"content", "a.png", "", png_bytes(64, 64).substr(0, 40)}, model}), 415) << "truncated";
  UploadLimits small;
  small.max_pixels = 1000;
  EXPECT_EQ(parse_status({photo, model}, small), 413);
  EXPECT_EQ(parse_status({{"content", "p.png", "", ""}, model}), 400) << "empty file";
}

// The refusal's message, or "" when the request was accepted.
std::string refusal_message(const std::vector<UploadedField>& fields) {
  try {
    parse_job_request(fields, {});
  } catch (const Refusal& refusal) {
    return refusal.what();
  }
  return "";
}

TEST(JobRequestParsing, PaintingsDefaultToMagentaWhichBlendsByWeights) {
  const UploadedField photo{"content", "p.png", "", png_bytes(300, 200)};
  const UploadedField painting{"style", "a.png", "", png_bytes(40, 30)};
  const JobRequest plain = parse_job_request({photo, painting}, {});
  EXPECT_EQ(plain.job.method, "magenta") << "an uploaded painting is painted in one pass by default";
  EXPECT_EQ(plain.job.params["size"], 300) << "like a fast job, the photo's own size";
  EXPECT_EQ(plain.job.params["strength"], 1.0);
  EXPECT_EQ(plain.job.params["style_blend"], nlohmann::json::array()) << "equal weights";
  EXPECT_EQ(plain.job.iterations, 1);
  EXPECT_EQ(parse_job_request({photo, painting, {"iterations", "", "", "50"}}, {}).job.method, "gatys")
      << "iterations ask for an optimisation, as before Magenta";

  const JobRequest blend = parse_job_request(
      {photo, painting, painting, {"style_blend", "", "", "0.7, 0.3"}, {"strength", "", "", "0.4"}}, {});
  EXPECT_EQ(blend.job.method, "magenta");
  EXPECT_EQ(blend.job.params["style_blend"], (nlohmann::json{0.7, 0.3}));
  EXPECT_EQ(blend.job.params["strength"], 0.4);
  EXPECT_EQ(blend.styles.size(), 2u);
  const JobRequest in_params = parse_job_request(
      {photo, painting, painting, {"params", "", "", R"({"method": "magenta", "style_blend": [1, 3]})"}}, {});
  EXPECT_EQ(in_params.job.params["style_blend"], (nlohmann::json{1.0, 3.0}));
  EXPECT_EQ(job_settings(in_params.job.params).style_blend, (std::vector<double>{1, 3})) << "kept and read back";
  const JobRequest adain = parse_job_request(
      {photo, painting, painting, {"method", "", "", "adain"}, {"style_blend", "", "", "1,3"}, {"strength", "", "", "0"}},
      {});
  EXPECT_EQ(adain.job.method, "adain");
  EXPECT_EQ(adain.job.params["style_blend"], (nlohmann::json{1.0, 3.0})) << "AdaIN blends paintings too";
  EXPECT_EQ(adain.job.params["strength"], 0.0);
}

TEST(JobRequestParsing, RefusesBadMagentaRequestsWithOneLine) {
  const UploadedField photo{"content", "p.png", "", png_bytes(64, 64)};
  const UploadedField painting{"style", "a.png", "", png_bytes(32, 32)};
  const UploadedField magenta{"method", "", "", "magenta"};
  const auto blend = [](const std::string& text) { return UploadedField{"style_blend", "", "", text}; };
  const std::vector<std::pair<std::vector<UploadedField>, std::string>> cases = {
      {{photo, magenta}, "style: a magenta job needs a painting"},
      {{photo, painting, magenta, {"model", "", "", "candy"}}, "model: a magenta job takes paintings, not a model"},
      {{photo, painting, painting, blend("1")}, "style_blend: 1 weights for 2 paintings"},
      {{photo, painting, painting, blend("1,2,3")}, "style_blend: more weights than the 2 paintings uploaded"},
      {{photo, painting, painting, blend("1,-2")}, "style_blend: -2 is out of range (0..1000)"},
      {{photo, painting, painting, blend("1,nan")}, "style_blend: nan is out of range (0..1000)"},
      {{photo, painting, painting, blend("1,1e9")}, "style_blend: 1e9 is out of range (0..1000)"},
      {{photo, painting, painting, blend("1,,2")}, "style_blend: \"\" is not a number"},
      {{photo, painting, painting, blend("1,two")}, "style_blend: \"two\" is not a number"},
      {{photo, painting, painting, blend("0,0")}, "style_blend: the weights are all zero"},
      {{photo, painting, {"params", "", "", R"({"style_blend": ["x"]})"}}, "params: \"style_blend\" must be numbers"},
      {{photo, painting, blend("1"), {"method", "", "", "gatys"}}, "style_blend: only a magenta or adain job blends paintings"},
      {{photo, {"model", "", "", "candy"}, blend("1")}, "style_blend: only a magenta or adain job blends paintings"},
      {{photo, painting, {"strength", "", "", "1.5"}}, "strength: 1.5 is out of range (0..1)"},
      {{photo, painting, {"method", "", "", "adain "}}, "method: \"adain \" is not fast, magenta, adain or gatys"},
      {{photo, {"method", "", "", "adain"}}, "style: an adain job needs a painting"},
      {{photo, painting, {"method", "", "", "adain"}, {"style", "tiny.png", "", png_bytes(12, 40)}},
       "style 2: 12x40 is too small for a style (at least 16 pixels a side)"},
      {{photo, painting, painting, painting, painting, painting}, "style: at most 4 paintings"},
      {{photo, painting, {"style", "tiny.png", "", png_bytes(1, 1)}},
       "style 2: 1x1 is too small for a style (at least 16 pixels a side)"},
  };
  for (const auto& [fields, expected] : cases) {
    EXPECT_EQ(refusal_status([&] { parse_job_request(fields, {}); }), 400) << expected;
    EXPECT_EQ(refusal_message(fields), expected);
  }
}

TEST(StudioMetrics, ArePrometheusText) {
  StudioCounters counters;
  counters.submitted = 3;
  counters.ended["done"] = 2;
  const std::string text = prometheus_metrics(counters, {{200, 7}, {429, 1}}, 12.5);
  EXPECT_NE(text.find("# TYPE atelier_jobs_submitted_total counter\natelier_jobs_submitted_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("atelier_jobs_ended_total{status=\"done\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("atelier_http_responses_total{code=\"429\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace atelier::studio
