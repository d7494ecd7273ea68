// The library's version, as project() in CMakeLists.txt states it: what
// `atelier --version` prints and what a program linked against the
// installed libatelier can check at run time.
#pragma once
#include <string>

namespace atelier {

// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
std::string version();

}  // namespace atelier
