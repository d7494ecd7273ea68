#!/usr/bin/env bash
# Configures build/ with Ninja (once; later runs keep the cache). Extra
# arguments are passed to cmake, e.g. -DATELIER_BUILD_FUZZ=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
# A build/ left by an older Makefile-based setup cannot switch generators.
if [ -f build/CMakeCache.txt ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' build/CMakeCache.txt; then
  rm -rf build
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" > /dev/null
