#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite. Tests that need the real
# weights and images in ../shared skip, saying so, when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
export ATELIER_MODELS="${ATELIER_MODELS:-$(cd .. && pwd)/shared/models}"
# Every command's --precision defaults to auto (bf16 on CPUs with AMX); the
# tests compare against fp32 references, so their verdicts must not depend on
# the CPU. The tests of auto itself ask for it by name.
export ATELIER_PRECISION=fp32
# Where OpenBLAS does not know this CPU (some virtual machines), the CLI
# restarts itself on the CPU's own kernels (atelier::better_blas_core); the
# tests start it hundreds of times, so they choose the kernels once here,
# by the same rule: AVX-512, else AVX2, else OpenBLAS's own choice.
if [ -z "${OPENBLAS_CORETYPE+set}" ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  if [[ " $flags " == *" avx512f "* && " $flags " == *" avx512bw "* && " $flags " == *" avx512vl "* &&
        " $flags " == *" avx512dq "* && " $flags " == *" avx512cd "* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
# CI also builds and runs the AddressSanitizer fuzz targets; in the edit loop
# they are opt-in (scripts/configure.sh -D...=ON). The benchmarks are not
# built here (a minute of CI's 15 for nothing tested): -DATELIER_BUILD_BENCH=ON.
if [ -n "${CI:-}" ]; then
  scripts/configure.sh -DATELIER_BUILD_TESTS=ON -DATELIER_BUILD_FUZZ=ON
else
  scripts/configure.sh -DATELIER_BUILD_TESTS=ON
fi
cmake --build build -j "$(nproc)"
# ctest starts the longest tests first when it knows their costs; a fresh
# build/ gets the costs measured on 2 cores, later runs keep their own.
costs=build/Testing/Temporary/CTestCostData.txt
[ -f "$costs" ] || { mkdir -p "$(dirname "$costs")" && { cat tests/ctest_costs.txt; echo ---; } > "$costs"; }
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
