// `atelier serve` end to end: the real binary, real HTTP, tiny random models.
// Every endpoint and error status, events, cancel, SIGTERM and kill -9.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <map>

#include "studio_fixtures.hpp"
#include "studio_process.hpp"
#include "test_support.hpp"

namespace atelier::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override { write_studio_models(scratch_.file("models")); }

  std::unique_ptr<StudioProcess> start(const std::vector<std::string>& extra = {}) {
    auto server = std::make_unique<StudioProcess>(scratch_.file("data"), scratch_.file("models"),
                                                  scratch_.file("server" + std::to_string(starts_++)), extra);
    EXPECT_GT(server->port(), 0) << server->log();
    return server;
  }

  static httplib::MultipartFormDataItems fast_job(int width = 96, int height = 64) {
    return {{"content", picture_png(width, height), "photo.png", "image/png"}, {"model", "candy", "", ""}};
  }
  static httplib::MultipartFormDataItems gatys_job(int iterations, int size = 64) {
    return {{"content", picture_png(96, 64), "photo.png", "image/png"},
            {"style", picture_png(64, 64, 3), "art.png", "image/png"},
            {"iterations", std::to_string(iterations), "", ""},
            {"size", std::to_string(size), "", ""}};
  }

  static std::string submit(httplib::Client& client, const httplib::MultipartFormDataItems& items) {
    auto res = client.Post("/api/v1/jobs", items);
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 202) << res->body;
    return res->status == 202 ? json::parse(res->body)["id"].get<std::string>() : "";
  }

  static json job(httplib::Client& client, const std::string& id) {
    auto res = client.Get("/api/v1/jobs/" + id);
    return res && res->status == 200 ? json::parse(res->body) : json{{"status", "unreachable"}};
  }

  // Polls until `done(job)` or 60 s.
  static json wait_for(httplib::Client& client, const std::string& id, const std::function<bool(const json&)>& done) {
    json current;
    for (int i = 0; i < 1200; ++i) {
      current = job(client, id);
      if (done(current)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return current;
  }
  static json wait_for_status(httplib::Client& client, const std::string& id, const std::string& status) {
    return wait_for(client, id, [&](const json& j) { return j["status"] == status; });
  }

  static int status_of(const httplib::Result& res) { return res ? res->status : -1; }

  ScratchDir scratch_;
  int starts_ = 0;
};

TEST_F(ServeTest, ServesThePageTheApiAndAFastJob) {
  auto server = start();
  auto client = server->client();
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  EXPECT_EQ(page->get_header_value("Access-Control-Allow-Origin"), "") << "CORS is off by default";
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(status_of(client.Get("/app.js")), 200);
  EXPECT_EQ(status_of(client.Get("/style.css")), 200);

  const json openapi = json::parse(client.Get("/api/v1/openapi.json")->body);
  EXPECT_EQ(openapi["openapi"], "3.0.3");
  for (const char* path : {"/jobs", "/jobs/{id}", "/jobs/{id}/events", "/jobs/{id}/result", "/models", "/health",
                           "/metrics", "/previews", "/previews/{photo}", "/previews/{photo}/{name}"})
    EXPECT_TRUE(openapi["paths"].contains(path)) << path;

  const json health = json::parse(client.Get("/api/v1/health")->body);
  EXPECT_EQ(health["status"], "ok");
  const json models = json::parse(client.Get("/api/v1/models")->body);
  ASSERT_EQ(models["styles"].size(), 2u) << models.dump();
  EXPECT_EQ(models["styles"][0]["name"], "candy");
  EXPECT_EQ(models["gatys_available"], true);
  EXPECT_EQ(models["feature_networks"][0]["name"], "vgg19");
  auto thumbnail = client.Get(models["styles"][0]["thumbnail_url"].get<std::string>());
  ASSERT_TRUE(thumbnail);
  EXPECT_EQ(thumbnail->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_FALSE(cv::imdecode(std::vector<uchar>(thumbnail->body.begin(), thumbnail->body.end()), cv::IMREAD_COLOR).empty());
  EXPECT_EQ(status_of(client.Get("/api/v1/models/nonesuch/thumbnail")), 404);

  const std::string id = submit(client, fast_job(96, 64));
  ASSERT_FALSE(id.empty());
  const json done = wait_for_status(client, id, "done");
  ASSERT_EQ(done["status"], "done") << done.dump();
  EXPECT_EQ(done["width"], 96);
  EXPECT_EQ(done["height"], 64);
  EXPECT_EQ(done["progress"], 1.0);
  auto result = client.Get(done["result_url"].get<std::string>() + "?download=1");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("Content-Type"), "image/png");
  EXPECT_NE(result->get_header_value("Content-Disposition").find("attachment"), std::string::npos);
  const cv::Mat painted = cv::imdecode(std::vector<uchar>(result->body.begin(), result->body.end()), cv::IMREAD_COLOR);
  EXPECT_EQ(painted.cols, 96);
  auto content = client.Get("/api/v1/jobs/" + id + "/content");
  ASSERT_TRUE(content);
  EXPECT_EQ(content->body, picture_png(96, 64)) << "the upload is kept as sent";

  const json history = json::parse(client.Get("/api/v1/jobs?limit=5")->body);
  ASSERT_EQ(history["jobs"].size(), 1u);
  EXPECT_EQ(history["jobs"][0]["id"], id);
  EXPECT_EQ(status_of(client.Get("/api/v1/jobs?limit=0")), 400);
  EXPECT_EQ(status_of(client.Post("/api/v1/jobs/" + id + "/rerun")), 409) << "a done job is not run again";

  const std::string metrics = client.Get("/api/v1/metrics")->body;
  EXPECT_NE(metrics.find("atelier_jobs_submitted_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("atelier_jobs_ended_total{status=\"done\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("atelier_http_responses_total{code=\"202\"} 1"), std::string::npos) << metrics;

  // DELETE of an ended job deletes it, record and pictures.
  auto deleted = client.Delete("/api/v1/jobs/" + id);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 200);
  EXPECT_EQ(json::parse(deleted->body)["deleted"], true);
  EXPECT_EQ(status_of(client.Get("/api/v1/jobs/" + id)), 404);
  EXPECT_EQ(status_of(client.Delete("/api/v1/jobs/" + id)), 404);
  EXPECT_FALSE(fs::exists(scratch_.file("data/jobs/" + id)));
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs")->body)["jobs"].size(), 0u);
}

// The studio and `atelier models list` name styles alike: metadata titles,
// readable file names, twins told apart; previews paint an uploaded photo.
TEST_F(ServeTest, NamesMatchModelsListAndPreviewsPaintAnUploadedPhoto) {
  const std::string models = scratch_.file("models");
  for (const char* folder : {"/a", "/b"}) fs::create_directories(models + folder);
  write_random_style_network(models + "/a/twin.safetensors", 22, {{"architecture", "pytorch-examples"}});
  write_random_style_network(models + "/b/twin.safetensors", 23, {{"architecture", "pytorch-examples"}});
  write_random_style_network(models + "/kiss-v3.safetensors", 24,
                             {{"architecture", "pytorch-examples"}, {"title", "The Kiss"}, {"artist", "Gustav Klimt"}});
  auto server = start();
  auto client = server->client();
  const json api = json::parse(client.Get("/api/v1/models")->body);
  const CliResult run = run_atelier(scratch_, "models list --json --models-dir " + models);
  ASSERT_EQ(run.code, 0) << run.err;
  std::map<std::string, std::string> listed;
  const json listing = json::parse(run.out);
  for (const auto& model : listing["models"]) listed[model["name"]] = model["display_name"];
  std::map<std::string, json> styles;
  for (const auto& style : api["styles"]) styles[style["name"]] = style;
  ASSERT_EQ(styles.size(), 5u) << api.dump();
  for (const auto& [name, style] : styles) EXPECT_EQ(style["display_name"], listed[name]) << name;
  EXPECT_EQ(styles["candy"]["display_name"], "Candy");
  EXPECT_EQ(styles["kiss-v3"]["display_name"], "The Kiss");
  EXPECT_EQ(styles["kiss-v3"]["artist"], "Gustav Klimt");
  EXPECT_EQ(styles["a/twin"]["family_name"], "pytorch-examples");
  const std::string twin = styles["a/twin"]["display_name"];
  EXPECT_NE(twin, styles["b/twin"]["display_name"]);
  EXPECT_EQ(twin.rfind("Twin \u2014 fast, pytorch-examples", 0), 0u) << twin;
  EXPECT_EQ(twin.find('/'), std::string::npos) << twin;

  auto posted = client.Post("/api/v1/previews", httplib::MultipartFormDataItems{
                                                    {"photo", picture_png(120, 80, 1), "mine.png", "image/png"}});
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  json previews = json::parse(posted->body);
  const std::string photo = previews["photo"];
  for (int i = 0; i < 600 && previews["pending"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    previews = json::parse(client.Get("/api/v1/previews/" + photo)->body);
  }
  ASSERT_EQ(previews["pending"], 0) << previews.dump();
  ASSERT_EQ(previews["styles"].size(), 5u);
  auto jpeg = client.Get(previews["styles"][0]["url"].get<std::string>());
  ASSERT_TRUE(jpeg);
  EXPECT_EQ(jpeg->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat painted = cv::imdecode(std::vector<uchar>(jpeg->body.begin(), jpeg->body.end()), cv::IMREAD_COLOR);
  EXPECT_EQ(painted.cols, 120) << "a small photo keeps its size";
  ASSERT_EQ(previews["styles"][0]["name"], "a/twin");

  // A replaced style file has a new version: its preview is painted again, with the new weights.
  write_random_style_network(models + "/a/twin.safetensors", 99, {{"architecture", "pytorch-examples"}});
  fs::last_write_time(models + "/a/twin.safetensors", fs::file_time_type::clock::now() + std::chrono::seconds(5));
  const json replaced = json::parse(client.Get("/api/v1/models")->body);
  EXPECT_NE(replaced["styles"][0]["version"], api["styles"][0]["version"]);
  json again = json::parse(client.Get("/api/v1/previews/" + photo)->body);
  EXPECT_EQ(again["pending"], 1) << again.dump();
  for (int i = 0; i < 600 && again["pending"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    again = json::parse(client.Get("/api/v1/previews/" + photo)->body);
  }
  ASSERT_TRUE(again["styles"][0]["url"].is_string()) << again.dump();
  EXPECT_NE(again["styles"][0]["url"], previews["styles"][0]["url"]);
  EXPECT_NE(client.Get(again["styles"][0]["url"].get<std::string>())->body, jpeg->body);
  EXPECT_EQ(status_of(client.Post("/api/v1/previews", httplib::MultipartFormDataItems{
                                                          {"photo", "hello", "a.png", "image/png"}})),
            415);
  EXPECT_EQ(status_of(client.Get("/api/v1/previews/0123456789abcdef")), 404);
  EXPECT_EQ(status_of(client.Delete("/api/v1/previews/" + photo)), 200);
}

// The README's example: a client may name a style as the CLI does, by a
// short name that resolves to one installed style, or by its full name.
TEST_F(ServeTest, ShortStyleNamesResolveAsInTheCli) {
  const std::string models = scratch_.file("models");
  for (const char* folder : {"/fast-style/family", "/a", "/b"}) fs::create_directories(models + folder);
  write_random_style_network(models + "/fast-style/family/wave.safetensors", 21, {{"architecture", "pytorch-examples"}});
  write_random_style_network(models + "/a/twin.safetensors", 22, {{"architecture", "pytorch-examples"}});
  write_random_style_network(models + "/b/twin.safetensors", 23, {{"architecture", "pytorch-examples"}});
  auto server = start();
  auto client = server->client();
  const json listed = json::parse(client.Get("/api/v1/models")->body);
  EXPECT_EQ(listed["defaults"]["gatys_size"], 384);
  EXPECT_EQ(listed["defaults"]["gatys_iterations"], 150);
  for (const char* name : {"wave", "fast-style/family/wave"}) {
    const std::string id = submit(client, {{"content", picture_png(64, 48), "photo.png", "image/png"}, {"model", name, "", ""}});
    ASSERT_FALSE(id.empty()) << name;
    EXPECT_EQ(wait_for_status(client, id, "done")["status"], "done") << name;
  }
  // Two styles of that name, a file path and an unknown name are refused alike.
  for (const std::string& name : std::vector<std::string>{"twin", models + "/a/twin.safetensors", "../models/candy", "nonesuch"}) {
    auto res = client.Post("/api/v1/jobs", {{"content", picture_png(64, 48), "photo.png", "image/png"}, {"model", name, "", ""}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << name << ": " << res->body;
    EXPECT_NE(res->body.find("no installed style"), std::string::npos) << res->body;
    EXPECT_NE(res->body.find("GET /api/v1/models"), std::string::npos) << "points at the API path: " << res->body;
  }
}

TEST_F(ServeTest, AnswersEveryErrorWithItsStatusAndAReadableMessage) {
  auto server = start({"--max-upload", "300K", "--max-pixels", "200000", "--max-memory", "64M"});
  auto client = server->client();
  const auto post = [&](const httplib::MultipartFormDataItems& items) { return client.Post("/api/v1/jobs", items); };
  const auto expect_error = [&](const httplib::Result& res, int status, const std::string& words) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find(words), std::string::npos) << res->body;
  };
  // 404: unknown job, malformed id (never a path), unknown route.
  expect_error(client.Get("/api/v1/jobs/0123456789abcdef01234567"), 404, "no job");
  expect_error(client.Get("/api/v1/jobs/..%2F..%2Fstudio.sqlite3"), 404, "no such");
  expect_error(client.Get("/api/v1/nothing"), 404, "no such");
  expect_error(client.Delete("/api/v1/jobs/0123456789abcdef01234567"), 404, "no job");
  // 400: bad parameters, not multipart.
  auto items = fast_job();
  items.push_back({"size", "9", "", ""});
  expect_error(post(items), 400, "size");
  items = fast_job();
  items.push_back({"strength", "lots", "", ""});
  expect_error(post(items), 400, "strength");
  items = fast_job();
  items[1].content = "no-such-style";
  expect_error(post(items), 400, "no installed style");
  items = fast_job();
  items.push_back({"params", "{\"iterations\": ", "", ""});
  expect_error(post(items), 400, "JSON");
  expect_error(client.Post("/api/v1/jobs", "{}", "application/json"), 400, "multipart");
  // 415: not a picture, whatever its name says.
  expect_error(post({{"content", "GIF89a not really", "photo.png", "image/png"}, {"model", "candy", "", ""}}), 415,
               "not a picture");
  // 413: a body over --max-upload; a picture over --max-pixels.
  expect_error(post({{"content", std::string(400 << 10, 'x'), "big.png", "image/png"}, {"model", "candy", "", ""}}),
               413, "larger");
  expect_error(post(fast_job(600, 400)), 413, "pixels");
  // 422: an optimisation that cannot fit in --max-memory.
  auto big = gatys_job(10, 512);
  expect_error(post(big), 422, "needs about");
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs")->body)["jobs"].size(), 0u) << "nothing refused was kept";
}

TEST_F(ServeTest, RefusesWhenTheQueueIsFullAndCancelsARunningJob) {
  auto server = start({"--queue", "1", "--workers", "1"});
  auto client = server->client();
  const std::string running = submit(client, gatys_job(2000, 96));
  wait_for(client, running, [](const json& j) { return j["iteration"].get<int>() > 0; });
  const std::string queued = submit(client, fast_job());
  EXPECT_EQ(job(client, queued)["position"], 1);
  auto refused = client.Post("/api/v1/jobs", fast_job());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  ASSERT_TRUE(refused->has_header("Retry-After"));
  EXPECT_GE(std::stoi(refused->get_header_value("Retry-After")), 1);

  auto cancel = client.Delete("/api/v1/jobs/" + running);
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 200);
  const json cancelled = wait_for_status(client, running, "cancelled");
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_LT(cancelled["iteration"].get<int>(), 2000);
  EXPECT_EQ(status_of(client.Get("/api/v1/jobs/" + running + "/result")), 404);
  EXPECT_EQ(wait_for_status(client, queued, "done")["status"], "done") << "the next job then runs";
}

TEST_F(ServeTest, NeedsTheTokenWhenGivenOne) {
  auto server = start({"--token", "s3cret"});
  auto anonymous = server->client();
  auto refused = anonymous.Get("/api/v1/jobs");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(status_of(anonymous.Post("/api/v1/jobs", fast_job())), 401);
  EXPECT_EQ(status_of(server->client("wrong").Get("/api/v1/models")), 401);
  EXPECT_EQ(status_of(server->client("s3cre").Get("/api/v1/models")), 401);
  EXPECT_EQ(status_of(anonymous.Get("/api/v1/health")), 200) << "health needs no token";
  EXPECT_EQ(status_of(anonymous.Get("/")), 200) << "the page itself holds nothing secret";
  auto client = server->client("s3cret");
  EXPECT_EQ(status_of(client.Get("/api/v1/models")), 200);
  // The scheme's name is case-insensitive; the token is not.
  for (const char* header : {"bearer s3cret", "BEARER s3cret"})
    EXPECT_EQ(status_of(anonymous.Get("/api/v1/models", {{"Authorization", header}})), 200) << header;
  EXPECT_EQ(status_of(anonymous.Get("/api/v1/models", {{"Authorization", "Bearer S3CRET"}})), 401);
  EXPECT_EQ(status_of(anonymous.Get("/api/v1/models", {{"Authorization", "Basic s3cret"}})), 401);
  const std::string id = submit(client, fast_job());
  EXPECT_EQ(wait_for_status(client, id, "done")["status"], "done");
  server.reset();
  // The same from the environment, which `ps` does not show.
  setenv("ATELIER_STUDIO_TOKEN", "from-env", 1);
  server = start();
  unsetenv("ATELIER_STUDIO_TOKEN");
  EXPECT_EQ(status_of(server->client().Get("/api/v1/models")), 401);
  EXPECT_EQ(status_of(server->client("from-env").Get("/api/v1/models")), 200);
}

// The events of one stream, parsed: (event name, data).
std::vector<std::pair<std::string, json>> parse_events(const std::string& stream) {
  std::vector<std::pair<std::string, json>> events;
  std::istringstream lines(stream);
  std::string line, event;
  while (std::getline(lines, line)) {
    if (line.rfind("event: ", 0) == 0) event = line.substr(7);
    if (line.rfind("data: ", 0) == 0) events.emplace_back(event, json::parse(line.substr(6)));
  }
  return events;
}

TEST_F(ServeTest, StreamsProgressEventsWithPreviewsUntilTheEnd) {
  auto server = start();
  auto client = server->client();
  const std::string id = submit(client, gatys_job(300, 96));
  // Read the stream until it closes; once 8 progress events with 2 previews
  // have come, cancel the job from another connection: the stream must end
  // with it.
  std::string stream;
  bool cancelled = false;
  auto res = client.Get("/api/v1/jobs/" + id + "/events", [&](const char* data, size_t length) {
    stream.append(data, length);
    const auto events = parse_events(stream.substr(0, stream.rfind("\n\n") + 1));
    int previews = 0;
    for (const auto& [name, data] : events) previews += data.contains("preview");
    if (!cancelled && events.size() >= 8 && previews >= 2) {
      cancelled = true;
      EXPECT_EQ(status_of(server->client().Delete("/api/v1/jobs/" + id)), 200);
    }
    return true;
  });
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  ASSERT_TRUE(cancelled) << stream.substr(0, 300);
  const auto events = parse_events(stream);
  int last_iteration = 0, previews = 0;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i].first, "progress");
    const json& data = events[i].second;
    EXPECT_GE(data["iteration"].get<int>(), last_iteration) << "iterations only grow";
    last_iteration = data["iteration"];
    if (data.contains("preview")) {
      ++previews;
      EXPECT_EQ(data["preview"].get<std::string>().rfind("data:image/jpeg;base64,", 0), 0u);
    }
  }
  EXPECT_GE(previews, 2);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().first, "end");
  EXPECT_EQ(events.back().second["status"], "cancelled");
  EXPECT_GT(last_iteration, 0);
}

TEST_F(ServeTest, AFinishedOptimisationLowersItsLoss) {
  auto server = start();
  auto client = server->client();
  const std::string id = submit(client, gatys_job(40, 64));
  const json done = wait_for_status(client, id, "done");
  ASSERT_EQ(done["status"], "done") << done.dump();
  EXPECT_EQ(done["iteration"], 40);
  ASSERT_GT(done["loss_history"].size(), 10u);
  EXPECT_LT(done["loss_history"].back().get<double>(), 0.9 * done["loss_history"].front().get<double>());
  // An ended job's stream answers at once with its end.
  const auto events = parse_events(client.Get("/api/v1/jobs/" + id + "/events")->body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, "end");
}

TEST_F(ServeTest, SigtermCheckpointsARunningJobThatResumesWhenRerun) {
  std::string id;
  {
    auto server = start();
    auto client = server->client();
    id = submit(client, gatys_job(2000, 96));
    wait_for(client, id, [](const json& j) { return j["iteration"].get<int>() > 30; });
    std::string stream;  // a watcher, to see how the job ends
    std::thread watcher([&] {
      auto watching = server->client();
      watching.Get("/api/v1/jobs/" + id + "/events", [&](const char* data, size_t length) {
        stream.append(data, length);
        return true;
      });
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(server->stop(SIGTERM), 0) << server->log();
    watcher.join();
    EXPECT_NE(server->log().find("stopping"), std::string::npos) << server->log();
    const auto events = parse_events(stream);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().first, "end") << "watchers see the job end before the server goes";
    EXPECT_EQ(events.back().second["status"], "interrupted");
  }
  EXPECT_TRUE(fs::exists(scratch_.file("data/jobs/" + id + "/checkpoint.safetensors")));
  auto server = start();
  auto client = server->client();
  const json interrupted = job(client, id);
  EXPECT_EQ(interrupted["status"], "interrupted") << interrupted.dump();
  EXPECT_NE(interrupted["message"].get<std::string>().find("run it again"), std::string::npos);
  auto rerun = client.Post("/api/v1/jobs/" + id + "/rerun");
  ASSERT_TRUE(rerun);
  EXPECT_EQ(rerun->status, 202) << rerun->body;
  const json resumed = wait_for(client, id, [](const json& j) { return j["iteration"].get<int>() > 0; });
  EXPECT_GE(resumed["iteration"].get<int>(), 25) << "it continues from its checkpoint, not from 0";
  client.Delete("/api/v1/jobs/" + id);
}

TEST_F(ServeTest, AKilledServerKeepsFinishedResultsAndMarksTheRunningJob) {
  std::string finished, running, result;
  {
    auto server = start();
    auto client = server->client();
    finished = submit(client, fast_job());
    wait_for_status(client, finished, "done");
    result = client.Get("/api/v1/jobs/" + finished + "/result")->body;
    running = submit(client, gatys_job(2000, 96));
    wait_for(client, running, [](const json& j) { return j["iteration"].get<int>() > 30; });
    server->stop(SIGKILL);
  }
  // As the kill left it: every picture under its own name decodes (writes
  // go to temporaries renamed when complete).
  int pictures = 0;
  for (const auto& entry : fs::recursive_directory_iterator(scratch_.file("data/jobs"))) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.find(".tmp-") != std::string::npos) continue;
    if (name == "result.png" || name == "content" || name.rfind("style-", 0) == 0) {
      ++pictures;
      EXPECT_FALSE(cv::imread(entry.path().string(), cv::IMREAD_UNCHANGED).empty()) << entry.path();
    }
  }
  EXPECT_EQ(pictures, 4) << "two photos, a painting and a result";
  auto server = start();
  auto client = server->client();
  EXPECT_EQ(job(client, finished)["status"], "done");
  EXPECT_EQ(client.Get("/api/v1/jobs/" + finished + "/result")->body, result) << "the result is intact";
  const json interrupted = job(client, running);
  EXPECT_EQ(interrupted["status"], "interrupted") << interrupted.dump();
  // The restart cleared any temporaries the kill left.
  for (const auto& entry : fs::recursive_directory_iterator(scratch_.file("data/jobs")))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  EXPECT_EQ(status_of(client.Post("/api/v1/jobs/" + running + "/rerun")), 202);
  client.Delete("/api/v1/jobs/" + running);
}

}  // namespace
}  // namespace atelier::testing
