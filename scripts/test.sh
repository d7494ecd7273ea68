#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite. Tests that need the real
# weights and images in ../shared skip, saying so, when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
export ATELIER_MODELS="${ATELIER_MODELS:-$(cd .. && pwd)/shared/models}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
