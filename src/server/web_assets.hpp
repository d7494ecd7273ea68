// The web page's files (web/), compiled into the binary by
// cmake/embed_files.cmake.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace atelier::studio {

struct WebAsset {
  const char* path;  // "/index.html", "/app.js", "/openapi.json", ...
  const unsigned char* data;
  std::size_t size;
};
const std::vector<WebAsset>& web_assets();

}  // namespace atelier::studio
