// Downloads of weights files (`atelier models fetch`): the one part of
// Atelier that speaks HTTP(S), kept in its own library (atelier_fetch) so
// that programs that only paint link no HTTP or TLS code.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace atelier {

struct FetchProgress {
  std::uint64_t received = 0;  // bytes on disk so far, resumed part included
  std::uint64_t total = 0;     // 0 when unknown
};

// Downloads `url` (http or https) into `destination`: bytes go to
// "<destination>.part" (resumed with an HTTP Range request when it exists),
// the sha256 is verified, and only then is the part file renamed to
// `destination`. A mismatch removes the part file and throws. `on_progress`
// is called as data arrives.
void fetch_file(const std::string& url, const std::string& expected_sha256, const std::string& destination,
                const std::function<void(const FetchProgress&)>& on_progress = {});

}  // namespace atelier
