// A bounded fuzz run of the studio's request handling, built with
// AddressSanitizer and UBSan (see CMakeLists.txt): mutated requests over
// real sockets to an in-process StudioServer (malformed multipart, JSON,
// headers, huge fields), and mutated targets, Host and Origin headers,
// multipart bodies and uploads straight into the studio's parsers
// (request_parsing.hpp, parse_job_request and our image-header parser). Any memory
// error aborts; LeakSanitizer checks for leaks at exit.
//
//   fuzz_studio_requests [--seconds N] [--seed S]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "fuzz_run.hpp"
#include "atelier/studio.hpp"
#include "atelier/studio_server.hpp"
#include "server/request_parsing.hpp"

namespace {

using namespace atelier::studio;

// Finishes every job at once; the queue and store still run for real.
class InstantPainter : public Painter {
 public:
  void check(const JobRecord& job) const override {
    if (job.params.value("model", "") != "candy") throw atelier::Error("model: no installed style");
  }
  std::int64_t estimate_bytes(const JobRecord&, std::int64_t) const override { return 1 << 20; }
  PaintOutcome paint(const JobRun& run, int& width, int& height) override {
    run.report(1, 1, {{"total", 1.0}});
    width = height = 1;
    return PaintOutcome::Done;
  }
  nlohmann::json models() const override { return {{"styles", {{{"name", "candy"}, {"version", "1"}}}}}; }
  cv::Mat preview(const std::string& model, const cv::Mat& photo) override {
    if (model != "candy") throw atelier::Error("no style " + model);
    return photo.clone();  // the preview lane, its cache and its routes run for real
  }
};

std::string encoded(const char* extension, int width, int height) {
  cv::Mat pixels(height, width, CV_8UC3, cv::Scalar(10, 200, 90));
  std::vector<unsigned char> bytes;
  cv::imencode(extension, pixels, bytes);
  return std::string(bytes.begin(), bytes.end());
}

std::string multipart(const std::string& boundary, const std::vector<std::pair<std::string, std::string>>& parts) {
  std::string body;
  for (const auto& [name, content] : parts)
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"f\"\r\n" +
            "Content-Type: application/octet-stream\r\n\r\n" + content + "\r\n";
  return body + "--" + boundary + "--\r\n";
}

std::string post(const std::string& path, const std::string& type, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : random_(seed) {}
  std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }

  std::string mutate(std::string text) {
    const int steps = 1 + static_cast<int>(below(4));
    for (int i = 0; i < steps; ++i) {
      const std::size_t at = below(text.size() + 1);
      switch (below(8)) {
        case 0: if (!text.empty()) text[below(text.size())] = static_cast<char>(below(256)); break;
        case 1: text.insert(at, std::string(1 + below(8), static_cast<char>(below(256)))); break;
        case 2: text.erase(at, below(64)); break;
        case 3: text = text.substr(0, at); break;  // truncated
        case 4: text.insert(at, std::string(1 + below(200000), "A\r\n:;=\"-"[below(8)])); break;  // huge field
        case 5: { const std::size_t from = below(text.size()); text.insert(at, text.substr(from, below(300))); break; }
        case 6: text.insert(at, "\r\n"); break;
        default: text.insert(at, std::to_string(static_cast<long long>(random_())) ); break;  // odd numbers
      }
    }
    return text;
  }

 private:
  std::mt19937_64 random_;
};

// True once `answer` holds a whole response (by Content-Length or the last
// chunk), so the client need not wait for a keep-alive connection to close.
bool complete(const std::string& answer) {
  const auto end = answer.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const std::string head = answer.substr(0, end);
  const auto length = head.find("Content-Length: ");
  if (length != std::string::npos) return answer.size() >= end + 4 + std::stoul(head.substr(length + 16));
  return answer.size() >= 5 && answer.compare(answer.size() - 5, 5, "0\r\n\r\n") == 0;
}

// Sends `request` and reads the answer until it is complete, the server
// closes, or it is silent for a second (a request cut short leaves the
// server waiting for the rest until its read timeout).
std::string exchange(int port, const std::string& request) {
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  if (sock < 0) return "";
  timeval timeout{1, 0};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n = send(sock, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    char buffer[4096];
    for (ssize_t n; answer.size() < (1 << 20) && !complete(answer) && (n = recv(sock, buffer, sizeof buffer, 0)) > 0;)
      answer.append(buffer, n);
  }
  close(sock);
  return answer;
}

}  // namespace

int main(int argc, char** argv) {
  const FuzzRun run = parse_fuzz_run(argc, argv);
  const int seconds = run.seconds;
  const std::uint64_t seed = run.seed;
  const std::string data_dir = (std::filesystem::temp_directory_path() / ("atelier-fuzz-" + std::to_string(getpid()))).string();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  long requests = 0, parses = 0;
  std::map<int, long> statuses;
  {
    JobStore store(data_dir);
    InstantPainter painter;
    Studio studio(store, painter, {1, 100000, 0});
    ServerOptions options;
    options.port = 0;
    options.max_upload_bytes = 1 << 20;
    options.read_timeout_seconds = 1;
    options.header_seconds = 1;
    options.allowed_hosts = {"x"};  // the seeds' Host
    options.limits.max_pixels = 1 << 20;
    StudioServer server(studio, options);
    const int port = server.bind();
    std::thread serving([&] { server.run(); });

    const std::string png = encoded(".png", 24, 16), jpeg = encoded(".jpg", 24, 16), bmp = encoded(".bmp", 8, 8);
    const std::string boundary = "----atelierfuzz";
    const std::string type = "multipart/form-data; boundary=" + boundary;
    const std::vector<std::string> seeds = {
        post("/api/v1/jobs", type, multipart(boundary, {{"content", png}, {"model", "candy"}})),
        post("/api/v1/jobs", type, multipart(boundary, {{"content", jpeg}, {"style", bmp}, {"iterations", "5"},
                                                        {"params", R"({"size": 64, "keep_colors": true})"}})),
        post("/api/v1/jobs", "application/json", R"({"content": "x"})"),
        "GET /api/v1/jobs?limit=3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n",
        "GET /api/v1/jobs/0123456789abcdef01234567/result HTTP/1.1\r\nHost: x\r\nRange: bytes=0-10\r\n\r\n",
        "DELETE /api/v1/jobs/0123456789abcdef01234567 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/v1/models/x/thumbnail HTTP/1.1\r\nHost: x\r\n\r\n",
        post("/api/v1/previews", type, multipart(boundary, {{"photo", png}})),
        "GET /api/v1/previews/builtin HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/v1/previews/builtin/candy?v=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "DELETE /api/v1/previews/0123456789abcdef HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: " + type +
            "\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
    };

    // Socket fuzzing in eight threads (mostly waiting on the server's read
    // timeout for requests cut short), upload parsing in this one.
    std::mutex count_mutex;
    auto fuzz_sockets = [&](std::uint64_t thread_seed) {
      Mutator mutator(thread_seed);
      while (std::chrono::steady_clock::now() < deadline) {
        const std::string& base = seeds[mutator.below(seeds.size())];
        const std::string request = mutator.below(10) == 0 ? base : mutator.mutate(base);
        const std::string answer = exchange(port, request);
        std::lock_guard<std::mutex> lock(count_mutex);
        ++requests;
        ++statuses[answer.size() > 12 && answer.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(answer.c_str() + 9) : 0];
      }
    };
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i) clients.emplace_back(fuzz_sockets, seed * 8 + i);
    Mutator mutator(seed);
    const std::vector<std::string> pictures = {png, jpeg, bmp, encoded(".webp", 9, 7), encoded(".tiff", 5, 6)};
    const std::string job_body = multipart(boundary, {{"content", png}, {"style", bmp}, {"params", "{}"}});
    while (std::chrono::steady_clock::now() < deadline) {
      // The studio's own parsers of targets, headers and multipart bodies.
      try {
        parse_multipart(mutator.mutate(job_body), mutator.below(4) ? type : mutator.mutate(type));
      } catch (const atelier::Error&) {
      }
      try {
        parse_target(mutator.mutate("/api/v1/jobs/0123456789abcdef01234567?limit=5&download=%41+b"));
      } catch (const atelier::Error&) {
      }
      const std::string host = mutator.mutate("[::1]:8080");
      host_allowed(host, {"studio.lan"});
      origin_allowed(mutator.mutate("http://127.0.0.1:8080"), host, mutator.below(2) ? "" : "https://app.example");
      std::vector<UploadedField> fields = {{"content", "p", "", mutator.mutate(pictures[mutator.below(pictures.size())])},
                                           {"model", "", "", "candy"}};
      if (mutator.below(2)) fields.push_back({"params", "", "", mutator.mutate(R"({"size": 64, "strength": 0.5})")});
      if (mutator.below(2)) fields.push_back({mutator.mutate("size"), "", "", mutator.mutate("128")});
      if (mutator.below(2)) {  // colour regions: a mask, a painting and bindings by number, name or model
        fields.push_back({"mask", "", "", pictures[mutator.below(pictures.size())]});
        fields.push_back({"style", "f", "", pictures[mutator.below(pictures.size())]});
        fields[1] = {"region", "", "", mutator.mutate("#ff0000=1")};
        for (const char* binding : {"#00ff00=f", "#0000ff=candy"})
          if (mutator.below(2)) fields.push_back({"region", "", "", mutator.mutate(binding)});
        if (mutator.below(2)) fields.push_back({"feather", "", "", mutator.mutate("2.5")});
      }
      try {
        parse_job_request(fields, {});
      } catch (const atelier::Error&) {
      }
      ++parses;
    }
    for (auto& client : clients) client.join();
    // The server still answers (a backlog of slow requests may need a moment).
    std::string health;
    for (int attempt = 0; attempt < 10 && health.rfind("HTTP/1.1 200", 0) != 0; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      health = exchange(port, "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    }
    server.stop();
    serving.join();
    studio.shutdown();
    if (health.rfind("HTTP/1.1 200", 0) != 0) {
      std::cout << "not ok - the server stopped answering /health after " << requests << " requests\n";
      return 1;
    }
  }
  std::filesystem::remove_all(data_dir);
  std::cout << "ok - " << requests << " mutated requests and " << parses << " mutated uploads in " << seconds
            << " s, no sanitizer error; statuses:";
  for (const auto& [status, count] : statuses) std::cout << ' ' << status << 'x' << count;
  std::cout << std::endl;
  return 0;
}
