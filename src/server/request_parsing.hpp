// The studio's own request parsing, kept apart from the transport so that
// the fuzz target and unit tests reach it directly: request targets, query
// strings, multipart/form-data bodies and the Host/Origin checks that stop
// cross-site requests and DNS rebinding.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "atelier/studio_server.hpp"

namespace atelier::studio {

// "%2F" -> "/"; '+' stays '+' in a path (it is a space only in a query).
// Throws Refusal(400) for a malformed escape or an encoded NUL.
std::string percent_decode(const std::string& text, bool plus_is_space);

struct RequestTarget {
  std::string path;                           // decoded
  std::multimap<std::string, std::string> query;  // decoded
};
// "/api/v1/jobs?limit=5" -> {"/api/v1/jobs", {limit: 5}}. Throws Refusal(400)
// for a target that is not an absolute path.
RequestTarget parse_target(const std::string& target);

// The parts of a multipart/form-data body whose Content-Type is `content_type`.
// Throws Refusal(400) when the boundary is missing, the body does not follow
// it, or it has more than max_parts parts.
std::vector<UploadedField> parse_multipart(const std::string& body, const std::string& content_type,
                                           std::size_t max_parts = 64);

// Whether a request's Host names this studio. A name that is not an IP
// literal, "localhost" or one of allowed_hosts is how DNS rebinding shows:
// a page's own domain made to resolve to 127.0.0.1. Port is not checked.
bool host_allowed(const std::string& host_header, const std::vector<std::string>& allowed_hosts);

// Whether a request's Origin (sent by browsers on cross-origin requests and
// on every POST) is the studio's own page or the configured CORS origin.
// No Origin at all (curl, scripts) is allowed.
bool origin_allowed(const std::string& origin, const std::string& host_header, const std::string& cors_origin);

}  // namespace atelier::studio
