#!/usr/bin/env bash
# Installs Atelier's build dependencies (Debian 12) and builds it into build/.
# Safe to run again: apt skips what is installed, cmake rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # Ninja builds in parallel without make's overhead; ccache and lld make
  # rebuilds in the edit loop fast.
  build-essential cmake pkg-config ninja-build ccache lld
  libtorch-dev libopencv-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libboost-dev libssl-dev
  libgtest-dev
  # Headers of the Gloo library inside libtorch (multi-process training) and
  # zlib (gzipped IDX datasets).
  libgloo-dev zlib1g-dev
  # oneDNN's own API (libtorch links the library already): Winograd convolutions for the VGG passes.
  libdnnl-dev
  # Video files through FFmpeg's libraries (H.264 through Debian's libx264, audio stream copy).
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  # Fashion-MNIST (IDX files) for the data loader and GAN training.
  dataset-fashion-mnist
  # Debian's default libblas.so.3 is the unoptimised reference BLAS, which
  # makes libtorch's matrix products ~8x slower; OpenBLAS (OpenMP flavour, so
  # it shares libtorch's threads) replaces it through update-alternatives.
  libopenblas0-openmp
  # Built-in example images for the demo: Starry Night and skimage's photos.
  opencv-doc python3-skimage
  # The fast style network tests compare against a PyTorch reference.
  python3-torch
  # The Python module (python/: pybind11, numpy arrays, PIL images) and its pytest tests.
  pybind11-dev python3-dev python3-numpy python3-pil python3-pytest
  # Atelier Studio (atelier serve): its job store, and the browser and load
  # tests (headless Chromium, wrk, curl).
  libsqlite3-dev chromium wrk curl
  # cpack -G DEB's Depends (dpkg-shlibdeps) and the package test's man pages.
  dpkg-dev man-db
  # `models export` writes ONNX with Debian's ONNX protobuf classes; its test
  # checks the files with onnx.checker.
  libonnx-dev libprotobuf-dev python3-onnx
)
# Node drives the browser test (playwright-core from npm); any node with npm
# will do, Debian's when there is none.
command -v npm > /dev/null || packages+=(nodejs npm)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# playwright-core for the browser test (pinned by tests/browser/package-lock.json).
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "setup: npm ci failed: the browser test will be skipped" >&2
fi

# ONNX Runtime's CPU build for the ONNX export test (pinned by
# tests/onnx/package-lock.json; its install script only fetches GPU extras).
if [ ! -d tests/onnx/node_modules/onnxruntime-node ]; then
  (cd tests/onnx && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    echo "setup: npm ci failed: the ONNX Runtime test will be skipped" >&2
fi

# The tool alone: the tests, fuzz target and benchmarks are built by
# scripts/test.sh (and CI) when they are needed.
scripts/configure.sh
cmake --build build --target atelier_cli -j "$(nproc)"
