// ATELIER_VERSION comes from project(VERSION ...) through a definition on
// this one file (cmake/package.cmake), so a new version recompiles only it.
#include "atelier/version.hpp"

#ifndef ATELIER_VERSION
#error "ATELIER_VERSION is set by cmake/package.cmake"
#endif

namespace atelier {

std::string version() { return ATELIER_VERSION; }

}  // namespace atelier
