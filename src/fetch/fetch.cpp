#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "atelier/error.hpp"
#include "atelier/fetch.hpp"
#include "atelier/model_store.hpp"

namespace fs = std::filesystem;

namespace atelier {

namespace {

constexpr int kMaxRedirects = 10;

struct Url {
  std::string scheme;
  std::string host;
  int port = 0;
  std::string target;  // path and query, sent as is

  std::string origin() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

int parse_port(const std::string& text, const std::string& url) {
  const bool digits = !text.empty() && text.size() <= 5 &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  const int port = digits ? std::stoi(text) : 0;
  if (port < 1 || port > 65535) throw Error("invalid port \"" + text + "\" in URL " + url);
  return port;
}

Url parse_url(const std::string& text) {
  const std::size_t separator = text.find("://");
  Url url;
  url.scheme = lowercase(text.substr(0, separator == std::string::npos ? 0 : separator));
  if (url.scheme != "http" && url.scheme != "https") throw Error("not an http or https URL: " + text);

  const std::size_t host_start = separator + 3;
  const std::size_t host_end = std::min(text.find_first_of("/?#", host_start), text.size());
  const std::string authority = text.substr(host_start, host_end - host_start);
  if (authority.find('@') != std::string::npos) throw Error("user names in URLs are not supported: " + text);
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6 literal]
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) throw Error("malformed host in URL " + text);
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw Error("malformed host in URL " + text);
      port_text = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) throw Error("no host in URL " + text);
  url.port = port_text.empty() ? (url.scheme == "https" ? 443 : 80) : parse_port(port_text, text);

  url.target = text.substr(host_end, text.find('#', host_end) - host_end);  // the fragment stays local
  if (url.target.empty() || url.target.front() != '/') url.target.insert(0, "/");
  return url;
}

// httplib 0.11 percent-decodes every response header, Location included.
// The exact original cannot be recovered, so re-encode only what may not
// appear raw in a request target (spaces, quotes, non-ASCII, ...), the way
// browsers do; reserved characters such as '/', '&', '=' stay as they are.
std::string reencode_location(const std::string& decoded) {
  static const std::string kUnsafe = " \"<>\\^`{|}";
  static const char* const kHex = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : decoded) {
    if (c <= 0x20 || c >= 0x7f || kUnsafe.find(static_cast<char>(c)) != std::string::npos) {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 0xf];
    } else {
      encoded += static_cast<char>(c);
    }
  }
  return encoded;
}

// The absolute URL a Location header points to, relative to `base`.
std::string resolve_location(const Url& base, const std::string& decoded_location) {
  const std::string location = reencode_location(decoded_location);
  if (location.find("://") != std::string::npos) return location;
  if (location.rfind("//", 0) == 0) return base.scheme + ":" + location;
  if (location.rfind("/", 0) == 0) return base.origin() + location;
  const std::string path = base.target.substr(0, base.target.find('?'));
  return base.origin() + path.substr(0, path.rfind('/') + 1) + location;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::uint64_t file_size_or_zero(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = fs::file_size(path, error);
  return error ? 0 : size;
}

// First byte of a "Content-Range: bytes FIRST-LAST/TOTAL" header, or -1.
long long content_range_start(const httplib::Response& response) {
  const std::string range = response.get_header_value("Content-Range");
  long long first = -1;
  return std::sscanf(range.c_str(), "bytes %lld-", &first) == 1 ? first : -1;
}

// One GET of `url` that appends to (206) or rewrites (200) the part file.
class PartDownload {
 public:
  PartDownload(std::string part_path, std::function<void(const FetchProgress&)> on_progress)
      : part_path_(std::move(part_path)), on_progress_(std::move(on_progress)) {}

  // Returns the HTTP status; for a redirect, `location()` is where to go.
  int run(const Url& url, const std::string& original_url) {
    httplib::Client client(url.origin());
    client.set_url_encode(false);         // targets are already encoded
    client.set_follow_location(false);    // redirects are followed by fetch_file, see reencode_location
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(30);
    client.set_read_timeout(60);

    const std::uint64_t existing = file_size_or_zero(part_path_);
    httplib::Headers headers;
    if (existing > 0) headers.emplace("Range", "bytes=" + std::to_string(existing) + "-");
    progress_ = {existing, 0};
    status_ = 0;
    location_.clear();

    auto result = client.Get(
        url.target, headers, [&](const httplib::Response& response) { return on_response(response, existing); },
        [&](const char* data, std::size_t size) { return on_data(data, size); });
    if (out_.is_open()) {
      out_.close();  // flushes: a full disk shows up here
      if (out_.fail() && failure_.empty()) failure_ = "cannot write " + part_path_;
    }
    if (!failure_.empty()) throw Error("download of " + original_url + " failed: " + failure_);
    if (!result && !stopped_on_purpose()) {
      const std::string resume = file_size_or_zero(part_path_) > 0
                                     ? " (the partial file " + part_path_ + " is kept: run again to resume)"
                                     : "";
      throw Error("download of " + original_url + " failed: " + httplib::to_string(result.error()) + resume);
    }
    return status_;
  }

  const std::string& location() const { return location_; }

 private:
  // on_response cancels every status but 200 and 206: those bodies are of no use.
  bool stopped_on_purpose() const { return status_ > 0 && status_ != 200 && status_ != 206; }

  bool on_response(const httplib::Response& response, std::uint64_t existing) {
    status_ = response.status;
    if (is_redirect(status_)) location_ = response.get_header_value("Location");
    if (status_ != 200 && status_ != 206) return false;

    auto mode = std::ios::binary | std::ios::app;
    if (status_ == 206 && content_range_start(response) != static_cast<long long>(existing)) {
      failure_ = "the server resumed at the wrong offset (Content-Range: " +
                 response.get_header_value("Content-Range") + ")";
      return false;
    }
    if (status_ == 200) {  // the server ignored the Range header: start over
      mode = std::ios::binary | std::ios::trunc;
      progress_.received = 0;
    }
    if (response.has_header("Content-Length")) {
      progress_.total = progress_.received + response.get_header_value<std::uint64_t>("Content-Length");
    }
    out_.open(part_path_, mode);
    if (!out_) failure_ = "cannot write " + part_path_;
    return failure_.empty();
  }

  bool on_data(const char* data, std::size_t size) {
    out_.write(data, static_cast<std::streamsize>(size));
    if (!out_) {
      failure_ = "cannot write " + part_path_;
      return false;
    }
    progress_.received += size;
    if (on_progress_) on_progress_(progress_);
    return true;
  }

  std::string part_path_;
  std::function<void(const FetchProgress&)> on_progress_;
  std::ofstream out_;
  FetchProgress progress_;
  int status_ = 0;
  std::string location_;
  std::string failure_;
};

std::string checked_sha256(const std::string& sha256, const std::string& url) {
  if (sha256.empty()) {
    throw Error("no sha256 known for " + url + ": refusing to install unverified weights; pass the expected hash with --sha256");
  }
  const std::string hex = lowercase(sha256);
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c); })) {
    throw Error("invalid sha256 \"" + sha256 + "\": expected 64 hexadecimal digits");
  }
  return hex;
}

}  // namespace

void fetch_file(const std::string& url, const std::string& expected_sha256, const std::string& destination,
                const std::function<void(const FetchProgress&)>& on_progress) {
  const std::string expected = checked_sha256(expected_sha256, url);
  const fs::path parent = fs::path(destination).parent_path();
  std::error_code error;
  if (!parent.empty()) fs::create_directories(parent, error);
  if (error) throw Error("cannot create directory " + parent.string() + ": " + error.message());

  const std::string part_path = destination + ".part";
  PartDownload download(part_path, on_progress);
  Url current = parse_url(url);
  int status = download.run(current, url);
  for (int hops = 0; is_redirect(status); ++hops) {
    if (hops == kMaxRedirects || download.location().empty()) {
      throw Error("download of " + url + " failed: too many or malformed redirects (HTTP " + std::to_string(status) + ")");
    }
    current = parse_url(resolve_location(current, download.location()));
    status = download.run(current, url);
  }
  // 416: the part file already holds every byte; the hash decides.
  if (status >= 400 && status != 416) {
    throw Error("download of " + url + " failed: HTTP " + std::to_string(status));
  }
  if (status != 200 && status != 206 && status != 416) {
    throw Error("download of " + url + " failed: unexpected HTTP status " + std::to_string(status));
  }

  const std::string actual = sha256_file(part_path);
  if (actual != expected) {
    fs::remove(part_path, error);
    throw Error("sha256 mismatch for " + url + ": expected " + expected + ", got " + actual);
  }
  fs::rename(part_path, destination, error);
  if (error) throw Error("cannot move " + part_path + " to " + destination + ": " + error.message());
}

}  // namespace atelier
