// fetch_file against a local httplib server on 127.0.0.1: never the internet.
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>

#include "atelier/error.hpp"
#include "atelier/fetch.hpp"
#include "atelier/model_store.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::ScratchDir;
using testing::read_all;
using testing::write_all;

std::string make_body() {
  std::mt19937 rng(7);
  std::string body(1 << 20, '\0');
  for (char& c : body) c = static_cast<char>(rng() & 0xff);
  return body;
}

// Serves one generated ~1 MB file in several ways and records what it was asked.
class TestServer {
 public:
  TestServer() : body_(make_body()) {
    // set_content answers Range requests itself (206, or 416 past the end).
    server_.Get("/model.bin", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.set_content(body_, "application/octet-stream");
    });
    // Sends a quarter of the file, then drops the connection.
    server_.Get("/drop.bin", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.set_content_provider(body_.size(), "application/octet-stream",
                                    [this](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                      if (offset >= body_.size() / 4) return false;
                                      sink.write(body_.data() + offset, body_.size() / 4);
                                      return true;
                                    });
    });
    server_.Get("/redirect", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.set_redirect("/model.bin?signature=a%2Fb%22c", 302);
    });
    server_.Get("/missing.bin", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.status = 404;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the loop runs: wait for it, or the destructor could hang.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  const std::string& body() const { return body_; }

  // "target|Range header" for every request so far.
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void record(const httplib::Request& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request.target + "|" + request.get_header_value("Range"));
  }

  std::string body_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
};

// A one-shot HTTP server that answers 200 with the whole body whatever the
// Range header says (httplib's own server always honours Range).
class RangeIgnoringServer {
 public:
  explicit RangeIgnoringServer(std::string body) : body_(std::move(body)) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(listener_, 1) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot start the test server");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve_one(); });
  }
  ~RangeIgnoringServer() {
    shutdown(listener_, SHUT_RDWR);  // wakes accept() should no request have come
    thread_.join();
    close(listener_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/whole.bin"; }
  // The request head, readable once the download is over.
  const std::string& request() const { return request_; }

 private:
  void serve_one() {
    const int connection = accept(listener_, nullptr, nullptr);
    if (connection < 0) return;
    char buffer[4096];
    ssize_t count;
    while (request_.find("\r\n\r\n") == std::string::npos && (count = recv(connection, buffer, sizeof buffer, 0)) > 0) {
      request_.append(buffer, static_cast<std::size_t>(count));
    }
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_.size()) +
                                 "\r\nConnection: close\r\n\r\n" + body_;
    for (std::size_t sent = 0; sent < response.size();) {
      count = send(connection, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (count <= 0) break;
      sent += static_cast<std::size_t>(count);
    }
    close(connection);
  }

  std::string body_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

class FetchTest : public ::testing::Test {
 protected:
  FetchTest() {
    write_all(scratch.file("reference.bin"), server.body());
    body_sha = sha256_file(scratch.file("reference.bin"));
  }

  std::string fetch_error(const std::string& url, const std::string& sha) {
    try {
      fetch_file(url, sha, destination);
    } catch (const Error& error) {
      return error.what();
    }
    ADD_FAILURE() << "expected fetch_file to fail";
    return "";
  }

  TestServer server;
  ScratchDir scratch;
  const std::string destination = scratch.file("models/sub/weights.safetensors");
  const std::string part = destination + ".part";
  std::string body_sha;
};

TEST(Sha256, KnownVectors) {
  ScratchDir dir;
  write_all(dir.file("empty"), "");
  EXPECT_EQ(sha256_file(dir.file("empty")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  write_all(dir.file("abc"), "abc");
  EXPECT_EQ(sha256_file(dir.file("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  write_all(dir.file("million"), std::string(1000000, 'a'));
  EXPECT_EQ(sha256_file(dir.file("million")), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW(sha256_file(dir.file("absent")), Error);
}

TEST_F(FetchTest, DownloadsVerifiesAndInstalls) {
  std::vector<FetchProgress> progress;
  fetch_file(server.url("/model.bin"), body_sha, destination, [&](const FetchProgress& p) { progress.push_back(p); });
  EXPECT_EQ(read_all(destination), server.body());
  EXPECT_FALSE(fs::exists(part));
  EXPECT_EQ(server.requests(), (std::vector<std::string>{"/model.bin|"}));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().received, server.body().size());
  EXPECT_EQ(progress.back().total, server.body().size());
}

TEST_F(FetchTest, UppercaseHashIsAccepted) {
  std::string upper = body_sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  fetch_file(server.url("/model.bin"), upper, destination);
  EXPECT_EQ(read_all(destination), server.body());
}

TEST_F(FetchTest, ShaMismatchRemovesEverything) {
  const std::string wrong(64, '0');
  const std::string message = fetch_error(server.url("/model.bin"), wrong);
  EXPECT_EQ(message, "sha256 mismatch for " + server.url("/model.bin") + ": expected " + wrong + ", got " + body_sha);
  EXPECT_FALSE(fs::exists(destination));
  EXPECT_FALSE(fs::exists(part));
}

TEST_F(FetchTest, ResumesFromPartFileWithRange) {
  const std::size_t half = server.body().size() / 2;
  fs::create_directories(fs::path(destination).parent_path());
  write_all(part, server.body().substr(0, half));
  std::vector<FetchProgress> progress;
  fetch_file(server.url("/model.bin"), body_sha, destination, [&](const FetchProgress& p) { progress.push_back(p); });
  EXPECT_EQ(server.requests(), (std::vector<std::string>{"/model.bin|bytes=" + std::to_string(half) + "-"}));
  EXPECT_EQ(read_all(destination), server.body());
  EXPECT_FALSE(fs::exists(part));
  ASSERT_FALSE(progress.empty());
  EXPECT_GT(progress.front().received, half);
  EXPECT_EQ(progress.back().received, server.body().size());
  EXPECT_EQ(progress.back().total, server.body().size());
}

TEST_F(FetchTest, RestartsWhenServerIgnoresRange) {
  fs::create_directories(fs::path(destination).parent_path());
  write_all(part, "stale bytes from another file");
  RangeIgnoringServer whole(server.body());
  std::vector<FetchProgress> progress;
  fetch_file(whole.url(), body_sha, destination, [&](const FetchProgress& p) { progress.push_back(p); });
  EXPECT_NE(whole.request().find("Range: bytes=29-"), std::string::npos) << whole.request();
  EXPECT_EQ(read_all(destination), server.body());
  ASSERT_FALSE(progress.empty());
  EXPECT_LE(progress.front().received, server.body().size());  // counted from zero again
  EXPECT_EQ(progress.back().received, server.body().size());
}

TEST_F(FetchTest, CompletePartFileIsVerifiedWithoutDownloading) {
  fs::create_directories(fs::path(destination).parent_path());
  write_all(part, server.body());
  fetch_file(server.url("/model.bin"), body_sha, destination);  // the server answers 416
  EXPECT_EQ(read_all(destination), server.body());
  EXPECT_FALSE(fs::exists(part));
}

TEST_F(FetchTest, DroppedConnectionKeepsPartForResume) {
  const std::string message = fetch_error(server.url("/drop.bin"), body_sha);
  EXPECT_NE(message.find("download of " + server.url("/drop.bin") + " failed"), std::string::npos) << message;
  EXPECT_NE(message.find("run again to resume"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(destination));
  ASSERT_TRUE(fs::exists(part));
  const std::uintmax_t kept = fs::file_size(part);
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, server.body().size());

  fetch_file(server.url("/model.bin"), body_sha, destination);
  EXPECT_EQ(server.requests().back(), "/model.bin|bytes=" + std::to_string(kept) + "-");
  EXPECT_EQ(read_all(destination), server.body());
}

TEST_F(FetchTest, FollowsRedirectsKeepingTheQuery) {
  fetch_file(server.url("/redirect"), body_sha, destination);
  const std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], "/redirect|");
  // httplib hands the Location header over decoded; what may not appear raw is re-encoded.
  EXPECT_EQ(requests[1], "/model.bin?signature=a/b%22c|");
  EXPECT_EQ(read_all(destination), server.body());
}

TEST_F(FetchTest, HttpErrorStatusIsReported) {
  const std::string message = fetch_error(server.url("/missing.bin"), body_sha);
  EXPECT_NE(message.find("HTTP 404"), std::string::npos) << message;
  EXPECT_NE(message.find(server.url("/missing.bin")), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(destination));
}

TEST_F(FetchTest, ConnectionFailureNamesHttplibError) {
  const std::string message = fetch_error("http://127.0.0.1:1/model.bin", body_sha);
  EXPECT_NE(message.find("Connection"), std::string::npos) << message;
}

TEST_F(FetchTest, RefusesMissingOrMalformedHashBeforeDownloading) {
  const std::string missing = fetch_error(server.url("/model.bin"), "");
  EXPECT_NE(missing.find("--sha256"), std::string::npos) << missing;
  const std::string malformed = fetch_error(server.url("/model.bin"), "abc123");
  EXPECT_NE(malformed.find("64 hexadecimal digits"), std::string::npos) << malformed;
  EXPECT_TRUE(server.requests().empty());
  EXPECT_FALSE(fs::exists(part));
}

TEST_F(FetchTest, RejectsUnsupportedUrls) {
  EXPECT_NE(fetch_error("ftp://127.0.0.1/model.bin", body_sha).find("not an http or https URL"), std::string::npos);
  EXPECT_NE(fetch_error("http://127.0.0.1:99999/x", body_sha).find("invalid port"), std::string::npos);
  EXPECT_NE(fetch_error("http:///x", body_sha).find("no host"), std::string::npos);
}

}  // namespace
}  // namespace atelier
