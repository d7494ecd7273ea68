// `atelier serve` under attack, end to end over raw sockets on loopback: slow
// clients, unauthenticated uploads, request smuggling, DNS rebinding and
// cross-site posts, a second studio on the same port or data directory.
// Each case failed on the old thread-per-connection server.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <tuple>
#include <functional>
#include <nlohmann/json.hpp>

#include "studio_fixtures.hpp"
#include "studio_process.hpp"
#include "test_support.hpp"

namespace atelier::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends what it can without blocking; false once the server has closed.
bool send_some(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 || errno == EAGAIN;
}

bool send_all(int fd, const std::string& data) {
  for (size_t sent = 0; sent < data.size();) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Everything the server sends until it closes (or `seconds` pass).
std::string read_until_closed(int fd, int seconds) {
  std::string received;
  char buffer[65536];
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < deadline) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    received.append(buffer, static_cast<size_t>(got));
  }
  return received;
}

int count_responses(const std::string& received) {
  int count = 0;
  for (size_t at = received.find("HTTP/1.1 "); at != std::string::npos; at = received.find("HTTP/1.1 ", at + 1))
    ++count;
  return count;
}

std::int64_t resident_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

class StudioAttack : public ::testing::Test {
 protected:
  void SetUp() override { write_studio_models(scratch_.file("models")); }
  std::unique_ptr<StudioProcess> start(const std::vector<std::string>& extra = {}, const std::string& data = "data") {
    auto server = std::make_unique<StudioProcess>(scratch_.file(data), scratch_.file("models"),
                                                  scratch_.file("server" + std::to_string(starts_++)), extra);
    EXPECT_GT(server->port(), 0) << server->log();
    return server;
  }
  static httplib::MultipartFormDataItems fast_job() {
    return {{"content", picture_png(64, 48), "photo.png", "image/png"}, {"model", "candy", "", ""}};
  }
  ScratchDir scratch_;
  int starts_ = 0;
};

// 200 clients trickle a header line every 3 s and 20 trickle a body (and
// reconnect whenever dropped) for 20 s: /health answers fast throughout and
// jobs submitted meanwhile complete.
TEST_F(StudioAttack, SlowClientsDoNotStallTheStudio) {
  auto server = start();
  const int port = server->port();
  struct Slow {
    int fd = -1;
    bool body = false;
    Clock::time_point next;
  };
  std::vector<Slow> slow(220);
  for (size_t i = 0; i < slow.size(); ++i) slow[i].body = i >= 200;
  std::atomic<bool> attacking{true};
  std::atomic<int> reconnects{0};
  std::thread attacker([&] {
    while (attacking) {
      const auto now = Clock::now();
      for (Slow& client : slow) {
        if (client.fd < 0) {
          client.fd = connect_to(port);
          if (client.fd < 0) continue;
          ++reconnects;
          send_some(client.fd, client.body ? "POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                             "multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
                                           : "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
          client.next = now + std::chrono::seconds(client.body ? 1 : 3);
        } else if (now >= client.next) {
          if (!send_some(client.fd, client.body ? std::string(100, 'x') : "X-Slow: 1\r\n")) {
            ::close(client.fd);
            client.fd = -1;
          }
          client.next = now + std::chrono::seconds(client.body ? 1 : 3);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (Slow& client : slow)
      if (client.fd >= 0) ::close(client.fd);
  });
  // Stops the attack however the test ends (a failed ASSERT returns early).
  const auto stop_attack = [&] {
    attacking = false;
    if (attacker.joinable()) attacker.join();
  };
  struct Guard {
    std::function<void()> at_exit;
    ~Guard() { at_exit(); }
  } guard{stop_attack};
  std::this_thread::sleep_for(std::chrono::seconds(1));  // every slow client connected

  auto client = server->client();
  std::vector<std::string> jobs;
  std::vector<double> latencies_ms;
  const auto end = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < end) {
    if (jobs.size() < 4 && latencies_ms.size() % 40 == 0) {
      auto res = client.Post("/api/v1/jobs", fast_job());
      ASSERT_TRUE(res) << "a job could not be submitted during the attack";
      ASSERT_EQ(res->status, 202) << res->body;
      jobs.push_back(json::parse(res->body)["id"]);
    }
    httplib::Client probe("127.0.0.1", port);  // a new connection each time, as a load balancer's check
    probe.set_read_timeout(5);
    const auto started = Clock::now();
    auto health = probe.Get("/api/v1/health");
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    ASSERT_TRUE(health && health->status == 200) << "/health failed during the attack";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop_attack();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p99 = latencies_ms[latencies_ms.size() * 99 / 100];
  EXPECT_LT(p99, 100.0) << latencies_ms.size() << " probes, slowest " << latencies_ms.back() << " ms";
  EXPECT_GT(reconnects.load(), 220) << "the slow clients were never dropped: no deadline for heads or bodies";
  for (const std::string& id : jobs) {
    json job;
    for (int i = 0; i < 600; ++i) {
      job = json::parse(client.Get("/api/v1/jobs/" + id)->body);
      if (job["status"] == "done") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(job["status"], "done") << job.dump();
  }
}

// With a token, 20 strangers each send a 60 MiB upload: refused from the
// head, the bodies are never kept.
TEST_F(StudioAttack, UnauthenticatedUploadsCostNoMemory) {
  auto server = start({"--token", "s3cret"});
  ASSERT_GT(server->pid(), 0);
  const std::int64_t before = resident_kib(server->pid());
  const std::string body(60 << 20, 'x');
  std::atomic<int> refused{0};
  std::vector<std::thread> uploads;
  for (int i = 0; i < 20; ++i) {
    uploads.emplace_back([&] {
      const int fd = connect_to(server->port());
      if (fd < 0) return;
      const std::string head = "POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                               "multipart/form-data; boundary=b\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n";
      if (send_all(fd, head)) send_all(fd, body);  // fails once the server closes
      if (read_until_closed(fd, 5).find(" 401 ") != std::string::npos) ++refused;
      ::close(fd);
    });
  }
  for (auto& upload : uploads) upload.join();
  const std::int64_t after = resident_kib(server->pid());
  EXPECT_LT(after - before, 50 << 10) << "RSS grew from " << before << " to " << after << " KiB";
  EXPECT_GT(refused.load(), 0) << "no upload was answered 401";
  auto health = server->client().Get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// A request hidden in a refused body never runs: multipart with 1100 parts
// (the old server stopped reading at 1024), and a body sent to a token studio
// without the token.
TEST_F(StudioAttack, ASmuggledRequestNeverRuns) {
  auto server = start({"--token", "s3cret"});
  const std::string smuggled = "POST /api/v1/jobs/000000000000000000000000/rerun HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Authorization: Bearer s3cret\r\nContent-Length: 0\r\n\r\n";
  std::string parts;
  for (int i = 0; i < 1100; ++i) parts += "--b\r\nContent-Disposition: form-data; name=\"p" + std::to_string(i) + "\"\r\n\r\nx\r\n";
  parts += smuggled;
  const std::string many_parts = parts + "--b--\r\n";
  for (const bool with_token : {true, false}) {
    const int fd = connect_to(server->port());
    ASSERT_GE(fd, 0);
    const std::string request = "POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                std::string(with_token ? "Authorization: Bearer s3cret\r\n" : "") +
                                "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " +
                                std::to_string(many_parts.size()) + "\r\n\r\n" + many_parts;
    // A well-formed request follows on the same connection: with the token
    // it is answered after the 400; without, the connection ends at the 401.
    const std::string follow = "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    ASSERT_TRUE(send_all(fd, request + follow));
    const std::string received = read_until_closed(fd, 10);
    ::close(fd);
    EXPECT_EQ(count_responses(received), with_token ? 2 : 1) << received;
    EXPECT_EQ(received.rfind(with_token ? "HTTP/1.1 400 " : "HTTP/1.1 401 ", 0), 0u) << received;
  }
  const std::string metrics = server->client("s3cret").Get("/api/v1/metrics")->body;
  EXPECT_EQ(metrics.find("code=\"404\""), std::string::npos) << "the smuggled request ran:\n" << metrics;
}

// DNS rebinding (a foreign Host) and cross-site requests (a foreign Origin)
// on a default studio.
TEST_F(StudioAttack, ForgedHostAndForeignOriginAreRefused) {
  auto server = start({"--allowed-host", "studio.lan"});
  auto client = server->client();
  const std::string own = "http://127.0.0.1:" + std::to_string(server->port());
  auto rebound = client.Get("/api/v1/jobs", {{"Host", "attacker.example"}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403) << rebound->body;
  EXPECT_NE(rebound->body.find("--allowed-host"), std::string::npos);
  EXPECT_EQ(client.Get("/", {{"Host", "attacker.example:8080"}})->status, 403);
  EXPECT_EQ(client.Get("/api/v1/health", {{"Host", "studio.lan:8080"}})->status, 200);
  EXPECT_EQ(client.Get("/api/v1/health", {{"Host", "localhost"}})->status, 200);

  for (const std::string origin : {"http://attacker.example", "null", "http://127.0.0.1.attacker.example"}) {
    auto posted = client.Post("/api/v1/jobs", {{"Origin", origin}}, fast_job());
    ASSERT_TRUE(posted);
    EXPECT_EQ(posted->status, 403) << origin << ": " << posted->body;
  }
  auto own_page = client.Post("/api/v1/jobs", {{"Origin", own}}, fast_job());
  ASSERT_TRUE(own_page);
  EXPECT_EQ(own_page->status, 202) << own_page->body;
  const json jobs = json::parse(client.Get("/api/v1/jobs")->body)["jobs"];
  EXPECT_EQ(jobs.size(), 1u) << "only the studio's own page may post jobs";

  // With a token, a rebinding page cannot authenticate: any Host is allowed.
  auto guarded = start({"--token", "s3cret"}, "data-token");
  auto with_token = guarded->client("s3cret");
  EXPECT_EQ(with_token.Get("/api/v1/health", {{"Host", "studio.example.com"}})->status, 200);
}

TEST_F(StudioAttack, ASecondStudioOnTheSamePortOrDataDirectoryRefusesToStart) {
  auto first = start();
  // Each second studio must exit with an error instead of listening.
  StudioProcess same_port(scratch_.file("other"), scratch_.file("models"), scratch_.file("second-port"),
                          {"--port", std::to_string(first->port())});
  EXPECT_EQ(same_port.port(), 0) << "a second studio listens on the busy port";
  EXPECT_EQ(same_port.stop(SIGKILL, 1), -1) << "it had already exited";
  EXPECT_NE(same_port.log().find("the port is in use"), std::string::npos) << same_port.log();
  StudioProcess same_data(scratch_.file("data"), scratch_.file("models"), scratch_.file("second-data"));
  EXPECT_EQ(same_data.port(), 0) << "a second studio listens on the same data directory";
  EXPECT_NE(same_data.log().find("is in use by another studio"), std::string::npos) << same_data.log();
  EXPECT_EQ(first->client().Get("/api/v1/health")->status, 200);
}

// A photo removed from the data directory: a plain 404 without the server's
// paths, and a rerun (sent with no body at all) says it is gone.
TEST_F(StudioAttack, ARemovedPhotoIsReportedWithoutServerPaths) {
  auto server = start({"--token", "s3cret"});
  auto client = server->client("s3cret");
  auto posted = client.Post("/api/v1/jobs", {{"content", picture_png(96, 64), "photo.png", "image/png"},
                                             {"style", picture_png(64, 64, 3), "art.png", "image/png"},
                                             {"iterations", "2000", "", ""}});
  ASSERT_TRUE(posted && posted->status == 202) << (posted ? posted->body : "");
  const std::string id = json::parse(posted->body)["id"];
  client.Delete("/api/v1/jobs/" + id);
  for (int i = 0; i < 600 && json::parse(client.Get("/api/v1/jobs/" + id)->body)["status"] != "cancelled"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::remove(scratch_.file("data") + "/jobs/" + id + "/content"));
  auto content = client.Get("/api/v1/jobs/" + id + "/content");
  ASSERT_TRUE(content);
  EXPECT_EQ(content->status, 404);
  EXPECT_EQ(content->body.find(scratch_.path()), std::string::npos) << content->body;

  const int fd = connect_to(server->port());
  ASSERT_TRUE(send_all(fd, "POST /api/v1/jobs/" + id + "/rerun HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Authorization: bearer s3cret\r\nConnection: close\r\n\r\n"));
  const std::string rerun = read_until_closed(fd, 10);
  ::close(fd);
  EXPECT_EQ(rerun.rfind("HTTP/1.1 410 ", 0), 0u) << rerun;
  EXPECT_NE(rerun.find("gone from the data directory"), std::string::npos) << rerun;
  EXPECT_EQ(rerun.find(scratch_.path()), std::string::npos) << rerun;
}

TEST_F(StudioAttack, EveryNumericServeFlagIsBounded) {
  for (const auto& [flag, value, words] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--port", "abc", "not a number"},
           {"--max-pixels", "-5", "out of range"},
           {"--http-threads", "99999", "out of range"},
           {"--max-connections", "1", "out of range"},
           {"--max-upload", "5G", "out of range [1K..2G]"},
           {"--max-upload", "abc", "memory size"}}) {
    StudioProcess refused(scratch_.file("flags"), scratch_.file("models"), scratch_.file("flags-log"), {flag, value});
    EXPECT_EQ(refused.port(), 0) << flag << " " << value << " was accepted";
    EXPECT_NE(refused.log().find(words), std::string::npos) << flag << " " << value << ": " << refused.log();
  }
}

}  // namespace
}  // namespace atelier::testing
