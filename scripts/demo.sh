#!/usr/bin/env bash
# The main job: paints skimage's astronaut photo in the style of Van Gogh's
# Starry Night (shipped by Debian's opencv-doc), writing out/astronaut_starry_night.png.
# Weights: $ATELIER_MODELS, else ../shared/models, else `atelier models fetch vgg19`.
set -euo pipefail
cd "$(dirname "$0")/.."
content=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
style=/usr/share/doc/opencv-doc/examples/data/starry_night.jpg
for f in "$content" "$style"; do
  [ -f "$f" ] || { echo "demo: $f is missing: run scripts/setup.sh first" >&2; exit 1; }
done
if [ -z "${ATELIER_MODELS:-}" ] && [ -d ../shared/models ]; then
  export ATELIER_MODELS="$(cd ../shared/models && pwd)"
fi
if ! ./build/atelier models list --json | grep -q '"architecture": "vgg'; then
  echo "demo: no VGG weights found; fetching vgg19 (about 550 MB)" >&2
  ./build/atelier models fetch vgg19
fi
# bf16 is ~2.5x faster where the CPU computes it natively (AMX or AVX512-BF16).
precision=fp32
grep -q -E 'amx_bf16|avx512_bf16' /proc/cpuinfo && precision=bf16
mkdir -p out
./build/atelier stylize --content "$content" --style "$style" --size 384 --iterations 200 \
  --precision "$precision" -o out/astronaut_starry_night.png "$@"
