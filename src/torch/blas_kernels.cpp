// What this CPU offers, and which OpenBLAS kernels the matrix products run on (runtime.hpp).
#include <dlfcn.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "atelier/runtime.hpp"

namespace atelier {
namespace {

// OpenBLAS's cores from before AVX2: what it falls back to when CPUID names
// a CPU it does not know, as some virtual machines do.
const std::set<std::string> kOldCores = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai",
                                         "Coppermine", "Northwood", "Banias", "Sandybridge", "Opteron", "Barcelona"};

}  // namespace

std::string cpu_flags() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("flags", 0) == 0) return line;  // every core lists the same flags
  return "";
}

std::string better_blas_core_for(const std::string& corename, const std::string& cpu_flags) {
  if (!kOldCores.count(corename)) return "";
  std::set<std::string> flags;
  std::istringstream words(cpu_flags);
  for (std::string word; words >> word;) flags.insert(word);
  const auto has = [&](std::initializer_list<const char*> names) {
    for (const char* name : names)
      if (!flags.count(name)) return false;
    return true;
  };
  if (has({"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"})) return "SkylakeX";
  if (has({"avx2", "fma"})) return "Haswell";
  return "";
}

std::string better_blas_core() {
  if (std::getenv("OPENBLAS_CORETYPE")) return "";  // the user's choice (or ours, after the restart)
  using CoreName = char* (*)();
  const auto corename = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!corename) return "";  // another BLAS, or none loaded
  const char* name = corename();
  return name ? better_blas_core_for(name, cpu_flags()) : "";
}

}  // namespace atelier
