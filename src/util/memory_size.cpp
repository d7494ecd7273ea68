#include "atelier/memory_size.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "atelier/error.hpp"

namespace atelier {

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

void return_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

int64_t default_memory_budget() { return available_memory_bytes() / 10 * 9; }

int64_t parse_memory_size(const std::string& text) {
  const std::string what = "memory size \"" + text + "\": expected bytes or a number with K, M, G or T, e.g. 4G";
  size_t end = 0;
  double value = 0;
  try {
    value = std::stod(text, &end);
  } catch (const std::exception&) {
    throw Error(what);
  }
  std::string unit = text.substr(end);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && (unit.substr(1) == "IB" || unit.substr(1) == "B")) unit = unit.substr(0, 1);
  const std::string units = "KMGT";
  double scale = 1;
  if (!unit.empty()) {
    const size_t power = units.find(unit);
    if (unit.size() != 1 || power == std::string::npos) throw Error(what);
    scale = std::pow(1024.0, static_cast<double>(power + 1));
  }
  if (!(value > 0) || !std::isfinite(value)) throw Error(what);
  return static_cast<int64_t>(value * scale);
}

std::string format_memory_size(int64_t bytes) {
  char text[32];
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  if (mib >= 1024.0)
    std::snprintf(text, sizeof text, "%.1f GiB", mib / 1024.0);
  else
    std::snprintf(text, sizeof text, "%.0f MiB", mib);
  return text;
}

}  // namespace atelier
