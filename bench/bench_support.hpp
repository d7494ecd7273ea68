// What the benchmarks share: peak memory, and measuring in a fresh child
// process so that each configuration's peak memory is its own.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace atelier::bench {

// Peak resident set size of this process so far (VmHWM), in MiB.
double peak_rss_mib();

// Runs this binary again with `arguments` and parses the one JSON object it
// prints on stdout. Throws atelier::Error when the child fails.
nlohmann::json run_self(const std::vector<std::string>& arguments);

}  // namespace atelier::bench
