// The studio's HTTP routes on cpp-httplib: JSON API under /api/v1, the web
// page at /. Handlers stay thin: parsing is in job_request.cpp, the queue in
// studio.cpp, the painting in the Painter.
#include <algorithm>
#include <cctype>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>

#include "atelier/atomic_file.hpp"
#include "atelier/image.hpp"
#include "atelier/studio_server.hpp"
#include "server/web_assets.hpp"

namespace atelier::studio {
namespace {

const std::string kApi = "/api/v1";
const std::string kJobPattern = "/api/v1/jobs/([0-9a-f]{24})";

std::string base64(const std::vector<unsigned char>& bytes) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const unsigned value = (bytes[i] << 16) | (i + 1 < bytes.size() ? bytes[i + 1] << 8 : 0) |
                           (i + 2 < bytes.size() ? bytes[i + 2] : 0);
    out += alphabet[(value >> 18) & 63];
    out += alphabet[(value >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(value >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[value & 63] : '=';
  }
  return out;
}

std::string content_type_of(const std::string& path) {
  const auto ends_with = [&](const char* suffix) {
    const std::string text(suffix);
    return path.size() >= text.size() && path.compare(path.size() - text.size(), text.size(), text) == 0;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".json")) return "application/json";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// Compares without an early exit, so response time says nothing about how
// much of a guessed token was right.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i)
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<size_t>(1, expected.size())]);
  return difference == 0;
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

void send_refusal(httplib::Response& res, const Refusal& refusal) {
  if (refusal.retry_after_seconds > 0) res.set_header("Retry-After", std::to_string(refusal.retry_after_seconds));
  send_error(res, refusal.status, refusal.what());
}

}  // namespace

struct StudioServer::Impl {
  Studio& studio;
  ServerOptions options;
  httplib::Server http;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::mutex responses_mutex;
  std::map<int, std::uint64_t> responses_by_status;
  std::atomic<int> open_streams{0};
  int listening_socket = -1;

  Impl(Studio& studio, ServerOptions options) : studio(studio), options(std::move(options)) {}

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  double uptime() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  void setup();
  void add_page_routes();
  void add_job_routes();
  void add_studio_routes();
  void stream_events(const std::string& id, httplib::Response& res);
  struct EventCursor {
    std::uint64_t version = 0, preview_version = 0;
    bool ended = false;
  };
  bool send_next_event(const std::string& id, EventCursor& seen, httplib::DataSink& sink);
  bool authorised(const httplib::Request& req) const;
};

bool StudioServer::Impl::authorised(const httplib::Request& req) const {
  if (options.token.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  // The scheme's name is case-insensitive (RFC 9110): "bearer" is Bearer too.
  const std::string prefix = "bearer ";
  const bool bearer = header.size() >= prefix.size() &&
                      std::equal(prefix.begin(), prefix.end(), header.begin(), [](char a, char b) {
                        return a == std::tolower(static_cast<unsigned char>(b));
                      });
  return bearer && same_secret(header.substr(prefix.size()), options.token);
}

void StudioServer::Impl::setup() {
  http.new_task_queue = [threads = options.http_threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_upload_bytes);
  // Headers and body go out in separate writes: without this, Nagle's
  // algorithm holds the second until the client's delayed ACK (~40 ms).
  http.set_tcp_nodelay(true);
  http.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listening_socket = sock;
  });
  // With a thread per connection, a keep-alive client holds its thread: after
  // 100 requests it reconnects and waits its turn like everyone else.
  http.set_keep_alive_max_count(100);
  http.set_read_timeout(options.read_timeout_seconds);
  httplib::Headers headers = {
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; frame-ancestors 'none'"}};
  if (!options.cors_origin.empty()) {
    headers.emplace("Access-Control-Allow-Origin", options.cors_origin);
    headers.emplace("Access-Control-Allow-Headers", "Authorization, Content-Type");
    headers.emplace("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    headers.emplace("Access-Control-Expose-Headers", "Retry-After, Location");
    http.Options(kApi + "/.*", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  }
  http.set_default_headers(headers);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const bool api = req.path.compare(0, kApi.size() + 1, kApi + "/") == 0;
    if (!api || req.path == kApi + "/health" || req.method == "OPTIONS" || authorised(req))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "this studio needs its access token (Authorization: Bearer ...)");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors that httplib answers itself (no route, body too large, bad
  // request) get the same JSON body as ours.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 404) message = "no such page or API route";
    if (res.status == 413) message = "the upload is larger than the studio accepts (--max-upload)";
    if (res.status == 400) message = "malformed request";
    send_error(res, res.status, message);
  });
  http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(error);
    } catch (const Refusal& refusal) {
      send_refusal(res, refusal);
      return;
    } catch (const std::exception& failure) {
      message = first_line(failure.what());
    } catch (...) {
    }
    log("error in " + req.method + " " + req.path + ": " + message);
    send_error(res, 500, message);
  });
  http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    std::lock_guard<std::mutex> lock(responses_mutex);
    ++responses_by_status[res.status];
  });
  add_page_routes();
  add_job_routes();
  add_studio_routes();
}

void StudioServer::Impl::add_page_routes() {
  for (const WebAsset& asset : web_assets()) {
    const std::string path = asset.path;
    if (path == "/openapi.json") continue;  // served under the API below
    const std::string body(reinterpret_cast<const char*>(asset.data), asset.size);
    const auto serve = [body, type = content_type_of(path)](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(body, type.c_str());
    };
    http.Get(path, serve);
    if (path == "/index.html") http.Get("/", serve);
  }
}

void StudioServer::Impl::add_job_routes() {
  http.Post(kApi + "/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    if (!req.is_multipart_form_data()) return send_error(res, 400, "send the job as multipart/form-data");
    std::vector<UploadedField> fields;
    for (const auto& [name, part] : req.files) fields.push_back({name, part.filename, part.content_type, part.content});
    const JobRequest request = parse_job_request(fields, options.limits);
    const JobRecord job = studio.submit(request.job, request.content, request.styles);
    const JobView view = studio.view(job.id);
    res.set_header("Location", kApi + "/jobs/" + job.id);
    send_json(res, 202, {{"id", job.id}, {"status", status_name(view.job.status)}, {"position", view.position}});
  });
  http.Get(kApi + "/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    int limit = 50;
    if (req.has_param("limit")) {
      const std::string text = req.get_param_value("limit");
      try {
        size_t used = 0;
        limit = std::stoi(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
      } catch (const std::exception&) {
        return send_error(res, 400, "limit: \"" + text.substr(0, 40) + "\" is not a whole number");
      }
      if (limit < 1 || limit > 500) return send_error(res, 400, "limit: must be 1..500");
    }
    nlohmann::json jobs = nlohmann::json::array();
    for (const JobView& view : studio.history(limit)) jobs.push_back(job_json(view));
    send_json(res, 200, {{"jobs", jobs}});
  });
  http.Get(kJobPattern, [this](const httplib::Request& req, httplib::Response& res) {
    send_json(res, 200, job_json(studio.view(req.matches[1])));
  });
  // DELETE cancels a queued or running job, and deletes an ended one.
  http.Delete(kJobPattern, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (has_ended(studio.view(id).job.status)) {
      studio.remove(id);
      return send_json(res, 200, {{"id", id}, {"deleted", true}});
    }
    studio.cancel(id);
    send_json(res, 200, job_json(studio.view(id)));
  });
  http.Post(kJobPattern + "/rerun", [this](const httplib::Request& req, httplib::Response& res) {
    studio.rerun(req.matches[1]);
    send_json(res, 202, job_json(studio.view(req.matches[1])));
  });
  http.Get(kJobPattern + "/result", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    const JobView view = studio.view(id);
    if (view.job.status != JobStatus::Done)
      return send_error(res, 404, std::string("job ") + id + " has no result (it is " + status_name(view.job.status) + ")");
    std::vector<unsigned char> bytes;
    try {
      bytes = read_file_bytes(studio.store().job_dir(id) + "/result.png");
    } catch (const Error&) {
      return send_error(res, 404, "the result of job " + id + " is missing from the data directory");
    }
    if (req.has_param("download"))
      res.set_header("Content-Disposition", "attachment; filename=\"atelier-" + id.substr(0, 8) + ".png\"");
    res.set_header("Cache-Control", "private, max-age=86400, immutable");
    res.set_content(std::string(bytes.begin(), bytes.end()), "image/png");
  });
  http.Get(kJobPattern + "/content", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    studio.view(id);  // 404 for unknown jobs
    const std::vector<unsigned char> bytes = read_file_bytes(studio.store().job_dir(id) + "/content");
    const std::string format = sniff_image_format(bytes);
    res.set_header("Cache-Control", "private, max-age=86400, immutable");
    if (format == "png" || format == "jpeg" || format == "webp" || format == "bmp") {
      res.set_content(std::string(bytes.begin(), bytes.end()), format == "jpeg" ? "image/jpeg" : "image/" + format);
      return;
    }
    // Browsers show no TIFF: send it as PNG.
    const std::vector<unsigned char> png = encode_image(decode_image(bytes, "content", LoadOptions{0}), ".png");
    res.set_content(std::string(png.begin(), png.end()), "image/png");
  });
  http.Get(kJobPattern + "/events", [this](const httplib::Request& req, httplib::Response& res) {
    stream_events(req.matches[1], res);
  });
}

// Server-Sent Events: one "progress" event per change of the job (with a
// preview image when the picture changed), an "end" event when it ends.
void StudioServer::Impl::stream_events(const std::string& id, httplib::Response& res) {
  studio.view(id);  // 404 before any stream starts
  if (++open_streams > options.max_event_streams) {
    --open_streams;
    res.set_header("Retry-After", "5");
    return send_error(res, 503, "too many open event streams; poll GET /jobs/{id} instead");
  }
  auto seen = std::make_shared<EventCursor>();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, id, seen](size_t, httplib::DataSink& sink) {
        // httplib runs providers outside its handler's try: nothing may escape.
        try {
          return send_next_event(id, *seen, sink);
        } catch (const std::exception& error) {
          log("event stream of job " + id + " ended: " + first_line(error.what()));
          return false;
        }
      },
      [this](bool) { --open_streams; });
}

// Waits for the job's next change and writes it as one event; false when
// the client has gone.
bool StudioServer::Impl::send_next_event(const std::string& id, EventCursor& seen, httplib::DataSink& sink) {
  if (seen.ended) {
    sink.done();
    return true;
  }
  const JobView view = studio.wait_for_change(id, seen.version, std::chrono::seconds(10));
  const bool ended = has_ended(view.job.status);
  if (view.version == seen.version && !ended) {
    if (studio.shutting_down()) {  // a queued job: it waits for the next start
      sink.done();
      return true;
    }
    const std::string ping = ": ping\n\n";
    return sink.write(ping.data(), ping.size());
  }
  seen.version = view.version;
  nlohmann::json data = job_json(view);
  if (view.preview_version != seen.preview_version && view.preview_jpeg) {
    data["preview"] = "data:image/jpeg;base64," + base64(*view.preview_jpeg);
    seen.preview_version = view.preview_version;
  }
  const std::string event = std::string("event: ") + (ended ? "end" : "progress") + "\ndata: " + json_text(data) + "\n\n";
  seen.ended = ended;
  return sink.write(event.data(), event.size());
}

void StudioServer::Impl::add_studio_routes() {
  http.Get(kApi + "/health", [this](const httplib::Request&, httplib::Response& res) {
    const StudioCounters counters = studio.counters();
    send_json(res, 200,
              {{"status", studio.shutting_down() ? "stopping" : "ok"},
               {"queued", counters.queued},
               {"running", counters.running},
               {"workers", counters.workers},
               {"uptime_seconds", uptime()}});
  });
  http.Get(kApi + "/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::map<int, std::uint64_t> responses;
    {
      std::lock_guard<std::mutex> lock(responses_mutex);
      responses = responses_by_status;
    }
    res.set_content(prometheus_metrics(studio.counters(), responses, uptime()), "text/plain; version=0.0.4");
  });
  http.Get(kApi + "/models", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, studio.painter().models());
  });
  http.Get(kApi + "/models/(.+)/thumbnail", [this](const httplib::Request& req, httplib::Response& res) {
    std::vector<unsigned char> jpeg;
    try {
      jpeg = studio.painter().thumbnail(req.matches[1]);
    } catch (const Error& error) {
      return send_error(res, 404, first_line(error.what()));
    }
    res.set_header("Cache-Control", "max-age=3600");
    res.set_content(std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
  });
  for (const WebAsset& asset : web_assets()) {
    if (std::string(asset.path) != "/openapi.json") continue;
    const std::string body(reinterpret_cast<const char*>(asset.data), asset.size);
    http.Get(kApi + "/openapi.json", [body](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "application/json");
    });
  }
}

StudioServer::StudioServer(Studio& studio, ServerOptions options)
    : impl_(std::make_unique<Impl>(studio, std::move(options))) {
  impl_->setup();
}

StudioServer::~StudioServer() { stop(); }

int StudioServer::bind() {
  const ServerOptions& options = impl_->options;
  int port = options.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(options.host);
    if (port < 0) port = 0;
  } else if (!impl_->http.bind_to_port(options.host, port)) {
    port = 0;
  }
  if (port == 0)
    throw Error("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                " (address in use, or not an address of this machine)");
  // httplib listens with a backlog of 5: a burst of new connections (a page
  // load, pollers reconnecting) would wait out SYN retries of a second or
  // more. Linux takes a second listen() as a new backlog.
  if (impl_->listening_socket >= 0) ::listen(impl_->listening_socket, 1024);
  return port;
}

void StudioServer::run() { impl_->http.listen_after_bind(); }

void StudioServer::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace atelier::studio
