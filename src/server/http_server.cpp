// The studio's HTTP routes: JSON API under /api/v1, the web page at /, on
// the event-driven transport of http_transport.hpp. Handlers stay thin:
// parsing is in request_parsing.cpp and job_request.cpp, the queue in
// studio.cpp, the painting in the Painter.
#include <algorithm>
#include <cctype>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>

#include "atelier/atomic_file.hpp"
#include "atelier/image.hpp"
#include "atelier/studio_server.hpp"
#include "atelier/style_previews.hpp"
#include "server/http_transport.hpp"
#include "server/request_parsing.hpp"
#include "server/web_assets.hpp"

namespace atelier::studio {
namespace {

using http::Request;
using http::Response;
using http::StreamWriter;
using http::Transport;
using http::TransportCallbacks;
using http::TransportOptions;

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
  if (ends_with(".jpg")) return "image/jpeg";
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

void send_json(Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.body = json_text(body);
  res.content_type = "application/json";
}

void send_error(Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

Response error_response(int status, const std::string& message) {
  Response res;
  send_error(res, status, message);
  return res;
}

void send_refusal(Response& res, const Refusal& refusal) {
  if (refusal.retry_after_seconds > 0) res.set_header("Retry-After", std::to_string(refusal.retry_after_seconds));
  send_error(res, refusal.status, refusal.what());
}

using Handler = std::function<void(const Request&, Response&)>;
struct Route {
  std::string method;
  std::regex pattern;
  Handler handle;
  bool takes_body = false;
};

}  // namespace

struct StudioServer::Impl {
  Studio& studio;
  ServerOptions options;
  std::vector<Route> routes;
  std::unique_ptr<Transport> transport;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::mutex responses_mutex;
  std::map<int, std::uint64_t> responses_by_status;
  std::unique_ptr<StylePreviews> previews;

  Impl(Studio& studio, ServerOptions options) : studio(studio), options(std::move(options)) {}

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  double uptime() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  void setup();
  void add(const std::string& method, const std::string& pattern, Handler handle, bool takes_body = false) {
    routes.push_back({method, std::regex(pattern), std::move(handle), takes_body});
  }
  void add_page_routes();
  void add_job_routes();
  void add_studio_routes();
  void add_preview_routes();
  // The route for a request (its matches filled in); null with a 404/405 in `refusal`.
  const Route* route(Request& req, Response& refusal) const;
  std::optional<Response> check_head(const Request& head) const;
  Response handle(Request& req) const;
  void stream_events(const std::string& id, Response& res);
  struct EventCursor {
    std::uint64_t version = 0, preview_version = 0;
    bool ended = false;
  };
  bool send_next_event(const std::string& id, EventCursor& seen, const StreamWriter& write);
  bool authorised(const Request& req) const;
};

bool StudioServer::Impl::authorised(const Request& req) const {
  if (options.token.empty()) return true;
  const std::string header = req.header("authorization");
  // The scheme's name is case-insensitive (RFC 9110): "bearer" is Bearer too.
  const std::string prefix = "bearer ";
  const bool bearer = header.size() >= prefix.size() &&
                      std::equal(prefix.begin(), prefix.end(), header.begin(), [](char a, char b) {
                        return a == std::tolower(static_cast<unsigned char>(b));
                      });
  return bearer && same_secret(header.substr(prefix.size()), options.token);
}

const Route* StudioServer::Impl::route(Request& req, Response& refusal) const {
  bool path_known = false;
  for (const Route& candidate : routes) {
    std::smatch match;
    if (!std::regex_match(req.path, match, candidate.pattern)) continue;
    path_known = true;
    if (candidate.method != req.method && !(candidate.method == "GET" && req.method == "HEAD")) continue;
    req.matches.assign(match.begin(), match.end());
    return &candidate;
  }
  if (path_known) {
    send_error(refusal, 405, req.method + " is not allowed on " + req.path);
  } else {
    send_error(refusal, 404, "no such page or API route");
  }
  return nullptr;
}

// Everything that can refuse a request is decided from its head, before its
// body is read: a stranger's upload costs the studio nothing.
std::optional<Response> StudioServer::Impl::check_head(const Request& head) const {
  Response refusal;
  // Without a token, a name other than this machine's addresses is how DNS
  // rebinding shows (the attacker's domain resolving to 127.0.0.1).
  if (options.token.empty() && !host_allowed(head.header("host"), options.allowed_hosts)) {
    send_error(refusal, 403,
               "this studio answers only to its IP address or localhost, not to Host \"" +
                   head.header("host").substr(0, 100) + "\" (add the name with --allowed-host)");
    return refusal;
  }
  // A page on another site may post forms here: browsers say whose page it is.
  if (!origin_allowed(head.header("origin"), head.header("host"), options.cors_origin)) {
    send_error(refusal, 403,
               "requests from the web page at " + head.header("origin").substr(0, 100) +
                   " are refused (only this studio's own page, or --cors-origin)");
    return refusal;
  }
  if (head.method == "OPTIONS" && !options.cors_origin.empty() && head.path.rfind(kApi + "/", 0) == 0) return {};
  const bool api = head.path.compare(0, kApi.size() + 1, kApi + "/") == 0;
  if (api && head.path != kApi + "/health" && !authorised(head)) {
    refusal.set_header("WWW-Authenticate", "Bearer");
    send_error(refusal, 401, "this studio needs its access token (Authorization: Bearer ...)");
    return refusal;
  }
  Request probe = head;
  const Route* found = route(probe, refusal);
  if (!found) return refusal;
  const std::string length = head.header("content-length");
  const bool has_body = !head.header("transfer-encoding").empty() || (!length.empty() && length != "0");
  if (has_body && !found->takes_body) {
    send_error(refusal, 413, head.method + " " + head.path + " takes no request body");
    return refusal;
  }
  return {};
}

Response StudioServer::Impl::handle(Request& req) const {
  Response res;
  if (req.method == "OPTIONS") {
    res.status = 204;
    return res;
  }
  const Route* found = route(req, res);
  if (!found) return res;
  try {
    found->handle(req, res);
  } catch (const Refusal& refusal) {
    res = Response{};
    send_refusal(res, refusal);
  } catch (const std::exception& failure) {
    const std::string message = first_line(failure.what());
    log("error in " + req.method + " " + req.path + ": " + message);
    res = Response{};
    send_error(res, 500, message);
  }
  if (req.method == "HEAD") res.body.clear();
  return res;
}

void StudioServer::Impl::setup() {
  add_page_routes();
  add_job_routes();
  add_studio_routes();
  add_preview_routes();

  TransportOptions transport;
  transport.host = options.host;
  transport.port = options.port;
  transport.max_body_bytes = options.max_upload_bytes;
  transport.max_bodies_bytes = 4 * options.max_upload_bytes;
  transport.header_seconds = options.header_seconds;
  transport.body_seconds = options.read_timeout_seconds;
  transport.max_connections = options.max_connections;
  transport.max_connections_per_client = options.max_connections_per_client;
  transport.handler_threads = options.http_threads;
  transport.max_streams = options.max_event_streams;

  TransportCallbacks callbacks;
  callbacks.check_head = [this](const Request& head) { return check_head(head); };
  callbacks.handle = [this](Request& req) { return handle(req); };
  callbacks.is_quick = [](const Request& head) {
    return head.method == "GET" && (head.path == kApi + "/health" || head.path.rfind(kApi, 0) != 0);
  };
  callbacks.error = error_response;
  callbacks.on_response = [this](int status) {
    std::lock_guard<std::mutex> lock(responses_mutex);
    ++responses_by_status[status];
  };
  callbacks.default_headers = {
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; frame-ancestors 'none'"}};
  if (!options.cors_origin.empty()) {
    callbacks.default_headers.emplace_back("Access-Control-Allow-Origin", options.cors_origin);
    callbacks.default_headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
    callbacks.default_headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    callbacks.default_headers.emplace_back("Access-Control-Expose-Headers", "Retry-After, Location");
  }
  this->transport = std::make_unique<Transport>(std::move(transport), std::move(callbacks));
}

void StudioServer::Impl::add_page_routes() {
  for (const WebAsset& asset : web_assets()) {
    const std::string path = asset.path;
    if (path == "/openapi.json") continue;  // served under the API below
    const std::string body(reinterpret_cast<const char*>(asset.data), asset.size);
    const auto serve = [body, type = content_type_of(path)](const Request&, Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.body = body;
      res.content_type = type;
    };
    add("GET", std::regex_replace(path, std::regex(R"([.])"), R"(\.)"), serve);
    if (path == "/index.html") add("GET", "/", serve);
  }
}

void StudioServer::Impl::add_job_routes() {
  add(
      "POST", kApi + "/jobs",
      [this](const Request& req, Response& res) {
        const std::vector<UploadedField> fields = parse_multipart(req.body, req.header("content-type"));
        const JobRequest request = parse_job_request(fields, options.limits);
        const JobRecord job = studio.submit(request.job, request.content, request.styles, request.mask);
        const JobView view = studio.view(job.id);
        res.set_header("Location", kApi + "/jobs/" + job.id);
        send_json(res, 202, {{"id", job.id}, {"status", status_name(view.job.status)}, {"position", view.position}});
      },
      true);
  add("GET", kApi + "/jobs", [this](const Request& req, Response& res) {
    int limit = 50;
    if (req.has_param("limit")) {
      const std::string text = req.param("limit");
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
  add("GET", kJobPattern, [this](const Request& req, Response& res) {
    send_json(res, 200, job_json(studio.view(req.matches[1])));
  });
  // DELETE cancels a queued or running job, and deletes an ended one.
  add("DELETE", kJobPattern, [this](const Request& req, Response& res) {
    const std::string id = req.matches[1];
    if (has_ended(studio.view(id).job.status)) {
      studio.remove(id);
      return send_json(res, 200, {{"id", id}, {"deleted", true}});
    }
    studio.cancel(id);
    send_json(res, 200, job_json(studio.view(id)));
  });
  add("POST", kJobPattern + "/rerun", [this](const Request& req, Response& res) {
    studio.rerun(req.matches[1]);
    send_json(res, 202, job_json(studio.view(req.matches[1])));
  });
  add("GET", kJobPattern + "/result", [this](const Request& req, Response& res) {
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
    res.body.assign(bytes.begin(), bytes.end());
    res.content_type = "image/png";
  });
  add("GET", kJobPattern + "/content", [this](const Request& req, Response& res) {
    const std::string id = req.matches[1];
    studio.view(id);  // 404 for unknown jobs
    std::vector<unsigned char> bytes;
    try {
      bytes = read_file_bytes(studio.store().job_dir(id) + "/content");
    } catch (const Error&) {  // its message names the server's own path
      return send_error(res, 404, "the photo of job " + id + " is missing from the data directory");
    }
    const std::string format = sniff_image_format(bytes);
    res.set_header("Cache-Control", "private, max-age=86400, immutable");
    if (format == "png" || format == "jpeg" || format == "webp" || format == "bmp") {
      res.body.assign(bytes.begin(), bytes.end());
      res.content_type = format == "jpeg" ? "image/jpeg" : "image/" + format;
      return;
    }
    // Browsers show no TIFF: send it as PNG.
    const std::vector<unsigned char> png = encode_image(decode_image(bytes, "content", LoadOptions{0}), ".png");
    res.body.assign(png.begin(), png.end());
    res.content_type = "image/png";
  });
  add("GET", kJobPattern + "/events", [this](const Request& req, Response& res) { stream_events(req.matches[1], res); });
}

// Server-Sent Events: one "progress" event per change of the job (with a
// preview image when the picture changed), an "end" event when it ends.
void StudioServer::Impl::stream_events(const std::string& id, Response& res) {
  studio.view(id);  // 404 before any stream starts
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.content_type = "text/event-stream";
  res.stream = [this, id](const StreamWriter& write) {
    EventCursor seen;
    try {
      while (send_next_event(id, seen, write)) {
      }
    } catch (const std::exception& error) {
      log("event stream of job " + id + " ended: " + first_line(error.what()));
    }
  };
}

// Waits for the job's next change and writes it as one event; false when
// the stream has ended or the client has gone.
bool StudioServer::Impl::send_next_event(const std::string& id, EventCursor& seen, const StreamWriter& write) {
  if (seen.ended) return false;
  const JobView view = studio.wait_for_change(id, seen.version, std::chrono::seconds(10));
  const bool ended = has_ended(view.job.status);
  if (view.version == seen.version && !ended) {
    if (studio.shutting_down()) return false;  // a queued job: it waits for the next start
    return write(": ping\n\n");
  }
  seen.version = view.version;
  nlohmann::json data = job_json(view);
  if (view.preview_version != seen.preview_version && view.preview_jpeg) {
    data["preview"] = "data:image/jpeg;base64," + base64(*view.preview_jpeg);
    seen.preview_version = view.preview_version;
  }
  seen.ended = ended;
  return write(std::string("event: ") + (ended ? "end" : "progress") + "\ndata: " + json_text(data) + "\n\n");
}

void StudioServer::Impl::add_studio_routes() {
  add("GET", kApi + "/health", [this](const Request&, Response& res) {
    const StudioCounters counters = studio.counters();
    send_json(res, 200,
              {{"status", studio.shutting_down() ? "stopping" : "ok"},
               {"queued", counters.queued},
               {"running", counters.running},
               {"workers", counters.workers},
               {"uptime_seconds", uptime()}});
  });
  add("GET", kApi + "/metrics", [this](const Request&, Response& res) {
    std::map<int, std::uint64_t> responses;
    {
      std::lock_guard<std::mutex> lock(responses_mutex);
      responses = responses_by_status;
    }
    res.body = prometheus_metrics(studio.counters(), responses, uptime());
    res.content_type = "text/plain; version=0.0.4";
  });
  add("GET", kApi + "/models", [this](const Request&, Response& res) {
    send_json(res, 200, studio.painter().models());
  });
  for (const WebAsset& asset : web_assets()) {
    if (std::string(asset.path) != "/openapi.json") continue;
    const std::string body(reinterpret_cast<const char*>(asset.data), asset.size);
    add("GET", kApi + "/openapi\\.json", [body](const Request&, Response& res) {
      res.body = body;
      res.content_type = "application/json";
    });
  }
}

// The built-in photo every style is first shown on (web/preview-photo.jpg).
cv::Mat built_in_preview_photo() {
  for (const WebAsset& asset : web_assets())
    if (std::string(asset.path) == "/preview-photo.jpg")
      return decode_image(std::vector<unsigned char>(asset.data, asset.data + asset.size), "preview-photo.jpg").rgb;
  throw Error("the studio's built-in preview photo is missing from the binary");
}

void send_jpeg(Response& res, const std::vector<unsigned char>& jpeg) {
  res.set_header("Cache-Control", "max-age=3600");
  res.body.assign(jpeg.begin(), jpeg.end());
  res.content_type = "image/jpeg";
}

// Previews of every style on a photo, painted on their own thread (style_previews.hpp).
void StudioServer::Impl::add_preview_routes() {
  previews = std::make_unique<StylePreviews>(studio.painter(), studio.store().data_dir() + "/previews",
                                             built_in_preview_photo());
  add("GET", kApi + "/models/(.+)/thumbnail", [this](const Request& req, Response& res) {
    send_jpeg(res, previews->built_in_jpeg(req.matches[1], std::chrono::seconds(30)));
  });
  add(
      "POST", kApi + "/previews",
      [this](const Request& req, Response& res) {
        const cv::Mat photo = parse_preview_photo(parse_multipart(req.body, req.header("content-type")), options.limits);
        send_json(res, 202, previews->status(previews->add_photo(photo)));
      },
      true);
  const std::string photo = kApi + "/previews/([0-9a-z]{1,64})";
  add("GET", photo, [this](const Request& req, Response& res) { send_json(res, 200, previews->status(req.matches[1])); });
  add("DELETE", photo, [this](const Request& req, Response& res) {
    previews->cancel(req.matches[1]);
    send_json(res, 200, {{"photo", req.matches[1]}, {"cancelled", true}});
  });
  add("GET", photo + "/(.+)", [this](const Request& req, Response& res) {
    const auto jpeg = previews->jpeg(req.matches[1], req.matches[2]);
    if (!jpeg) return send_error(res, 404, "no preview of \"" + std::string(req.matches[2]).substr(0, 80) + "\" on that photo yet");
    send_jpeg(res, *jpeg);
  });
}

StudioServer::StudioServer(Studio& studio, ServerOptions options)
    : impl_(std::make_unique<Impl>(studio, std::move(options))) {
  impl_->setup();
}

StudioServer::~StudioServer() { stop(); }

int StudioServer::bind() { return impl_->transport->bind(); }

void StudioServer::run() { impl_->transport->run(); }

void StudioServer::stop() { impl_->transport->stop(); }

}  // namespace atelier::studio
