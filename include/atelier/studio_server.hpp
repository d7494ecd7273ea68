// Atelier Studio's HTTP side: the JSON API under /api/v1 (see
// docs/STUDIO_API.md) and the web page, served by an event-driven HTTP/1.1
// transport (src/server/http_transport.hpp, on Boost.Beast).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "atelier/studio.hpp"

namespace atelier::studio {

struct UploadLimits {
  std::int64_t max_pixels = 40'000'000;  // per uploaded picture (413 above)
  int max_size = 2048;                   // longest side of a result
  int max_styles = 4;
  int max_iterations = 2000;
  std::string default_precision = "fp32";
  std::string auto_precision = "fp32";  // what a job's "auto" means on this machine (auto_precision)
};

// One part of a multipart/form-data body.
struct UploadedField {
  std::string name, filename, content_type, content;
};

// A validated POST /jobs: the record to submit (method and params set) and
// the uploaded files' bytes.
struct JobRequest {
  JobRecord job;
  std::string content;
  std::vector<std::string> styles;
  std::string mask;  // empty: none
};

// Checks every field and decodes every picture (its bytes decide whether it
// is one, never its name). Throws Refusal: 400 for bad or missing fields,
// 413 for pictures over the pixel limit, 415 for what is not a readable
// picture.
JobRequest parse_job_request(const std::vector<UploadedField>& fields, const UploadLimits& limits);

// The one picture of a POST /previews form (field "photo"), decoded (RGB
// float), refused as job uploads are.
cv::Mat parse_preview_photo(const std::vector<UploadedField>& fields, const UploadLimits& limits);

// The JSON that GET /jobs/{id} answers (and SSE events carry).
nlohmann::json job_json(const JobView& view);

// GET /metrics: Prometheus text exposition format.
std::string prometheus_metrics(const StudioCounters& counters, const std::map<int, std::uint64_t>& responses_by_status,
                               double uptime_seconds);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (bind() says which)
  std::string token;  // non-empty: /api/v1 (but /health) needs "Authorization: Bearer <token>"
  std::size_t max_upload_bytes = 64 << 20;
  UploadLimits limits;
  int http_threads = 8;        // threads running request handlers (I/O needs none per connection)
  int max_event_streams = 16;  // open /events streams; more get 503
  int header_seconds = 10;     // a request's head must arrive within this (slow clients are dropped)
  int read_timeout_seconds = 15;  // a body's deadline: this plus one second per 256 KiB
  int max_connections = 1000;  // open connections in all (capped by the descriptor limit)
  int max_connections_per_client = 400;
  std::string cors_origin;     // empty: no CORS headers (browsers refuse cross-origin calls)
  // Host names the studio answers to besides IP addresses and localhost
  // (any other Host is how DNS rebinding shows). With a token, any Host.
  std::vector<std::string> allowed_hosts;
  // One line per finished job and per server event; may be empty.
  std::function<void(const std::string&)> log;
};

class StudioServer {
 public:
  StudioServer(Studio& studio, ServerOptions options);
  ~StudioServer();
  StudioServer(const StudioServer&) = delete;
  StudioServer& operator=(const StudioServer&) = delete;

  // Binds the socket; returns the port. Throws atelier::Error when it cannot.
  int bind();
  // Serves until stop(); call bind() first.
  void run();
  // Stops serving (from any thread); run() then returns.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atelier::studio
