// Request targets, multipart bodies and the Host/Origin checks; see
// request_parsing.hpp. Everything here works on bytes already framed by the
// transport, so a refusal can never leave bytes to be read as a new request.
#include "server/request_parsing.hpp"

#include <algorithm>
#include <cctype>

#include "atelier/studio.hpp"

namespace atelier::studio {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `name` in a header such as `form-data; name="x"; filename="y"`
// (quoted or not); empty when absent. One pass, however hostile the header.
std::string header_parameter(const std::string& header, const std::string& name) {
  std::size_t at = header.find(';');
  while (at != std::string::npos && at < header.size()) {
    ++at;
    const std::size_t equals = header.find_first_of("=;", at);
    if (equals == std::string::npos) return "";
    if (header[equals] == ';') {  // a parameter without a value
      at = equals;
      continue;
    }
    const bool wanted = lower(trim(header.substr(at, equals - at))) == name;
    std::string value;
    std::size_t next = equals + 1;
    if (next < header.size() && header[next] == '"') {
      for (++next; next < header.size() && header[next] != '"'; ++next) {
        if (header[next] == '\\' && next + 1 < header.size()) ++next;
        if (wanted) value += header[next];
      }
      if (wanted) return value;
      next = header.find(';', next);
    } else {
      const std::size_t end = header.find(';', next);
      if (wanted) return trim(header.substr(next, end == std::string::npos ? std::string::npos : end - next));
      next = end;
    }
    at = next;
  }
  return "";
}

// Splits "host:port", "[v6]:port" and "host" into the host part.
std::string host_part(const std::string& authority) {
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    return close == std::string::npos ? "" : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

bool is_ipv4_literal(const std::string& host) {
  int dots = 0, digits = 0;
  for (char c : host) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (std::isdigit(static_cast<unsigned char>(c)) && ++digits <= 3) {
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

}  // namespace

std::string percent_decode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (text[i] == '%') {
      const int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int low = high >= 0 ? hex_value(text[i + 2]) : -1;
      if (low < 0) throw Refusal(400, "malformed percent-escape in the request target");
      if (high == 0 && low == 0) throw Refusal(400, "the request target contains an encoded NUL");
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

RequestTarget parse_target(const std::string& target) {
  if (target.empty() || target[0] != '/') throw Refusal(400, "the request target must be an absolute path");
  RequestTarget parsed;
  const std::size_t question = target.find('?');
  parsed.path = percent_decode(target.substr(0, question), false);
  if (question == std::string::npos) return parsed;
  const std::string query = target.substr(question + 1, target.find('#') - question - 1);
  std::size_t at = 0;
  while (at <= query.size()) {
    const std::size_t end = std::min(query.find('&', at), query.size());
    const std::string pair = query.substr(at, end - at);
    if (!pair.empty()) {
      const std::size_t equals = pair.find('=');
      parsed.query.emplace(percent_decode(pair.substr(0, equals), true),
                           equals == std::string::npos ? "" : percent_decode(pair.substr(equals + 1), true));
    }
    at = end + 1;
  }
  return parsed;
}

std::vector<UploadedField> parse_multipart(const std::string& body, const std::string& content_type,
                                           std::size_t max_parts) {
  if (lower(trim(content_type.substr(0, content_type.find(';')))) != "multipart/form-data")
    throw Refusal(400, "send the job as multipart/form-data");
  const std::string boundary = header_parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) throw Refusal(400, "multipart/form-data without a usable boundary");
  const std::string delimiter = "--" + boundary;
  std::size_t at = body.find(delimiter);
  if (at == std::string::npos) throw Refusal(400, "the multipart body does not contain its boundary");
  std::vector<UploadedField> fields;
  while (true) {
    at += delimiter.size();
    if (body.compare(at, 2, "--") == 0) return fields;  // the closing delimiter
    if (body.compare(at, 2, "\r\n") != 0) throw Refusal(400, "malformed multipart body (after a boundary)");
    at += 2;
    const std::size_t headers_end = body.find("\r\n\r\n", at);
    if (headers_end == std::string::npos) throw Refusal(400, "malformed multipart body (a part without headers)");
    if (fields.size() == max_parts)
      throw Refusal(400, "the multipart body has more than " + std::to_string(max_parts) + " parts");
    UploadedField field;
    std::size_t line_start = at;
    while (line_start < headers_end) {
      const std::size_t line_end = std::min(body.find("\r\n", line_start), headers_end);
      const std::string line = body.substr(line_start, line_end - line_start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) throw Refusal(400, "malformed multipart body (a part header without ':')");
      const std::string name = lower(trim(line.substr(0, colon)));
      const std::string value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (lower(trim(value.substr(0, value.find(';')))) != "form-data")
          throw Refusal(400, "malformed multipart body (a part that is not form-data)");
        field.name = header_parameter(value, "name");
        field.filename = header_parameter(value, "filename");
      } else if (name == "content-type") {
        field.content_type = value;
      }
      line_start = line_end + 2;
    }
    if (field.name.empty()) throw Refusal(400, "malformed multipart body (a part without a name)");
    const std::size_t content_start = headers_end + 4;
    const std::size_t content_end = body.find("\r\n" + delimiter, content_start);
    if (content_end == std::string::npos) throw Refusal(400, "the multipart body ends inside a part");
    field.content = body.substr(content_start, content_end - content_start);
    fields.push_back(std::move(field));
    at = content_end + 2;
  }
}

bool host_allowed(const std::string& host_header, const std::vector<std::string>& allowed_hosts) {
  const std::string host = lower(host_part(trim(host_header)));
  if (host.empty()) return false;
  if (host == "localhost" || host[0] == '[' || is_ipv4_literal(host)) return true;
  return std::any_of(allowed_hosts.begin(), allowed_hosts.end(),
                     [&](const std::string& allowed) { return lower(allowed) == host; });
}

bool origin_allowed(const std::string& origin, const std::string& host_header, const std::string& cors_origin) {
  if (origin.empty()) return true;
  if (!cors_origin.empty() && (cors_origin == "*" || lower(origin) == lower(cors_origin))) return true;
  // The page's own origin: scheme://authority with the authority the Host
  // header names ("null", file pages and other sites are foreign).
  const std::size_t scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = lower(origin.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return false;
  return lower(origin.substr(scheme_end + 3)) == lower(trim(host_header));
}

}  // namespace atelier::studio
