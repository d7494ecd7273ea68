// What the benchmarks share: peak memory, and measuring in a fresh child
// process so that each configuration's peak memory is its own.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace atelier::bench {

// Peak resident set size of this process so far (VmHWM), in MiB.
double peak_rss_mib();

// Runs this binary again with `arguments` and parses the one JSON object it
// prints on stdout. Throws atelier::Error when the child fails.
nlohmann::json run_self(const std::vector<std::string>& arguments);

// Prints "SKIPPED: PATH absent ..." and returns true when one of the files
// of ../shared that a benchmark needs is missing.
bool report_missing(const std::vector<std::string>& paths);

// Runs a benchmark's body; an exception becomes "NAME: message" on stderr
// and exit status 1.
int guarded(const std::string& name, const std::function<void()>& body);

}  // namespace atelier::bench
