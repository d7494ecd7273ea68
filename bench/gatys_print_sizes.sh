#!/usr/bin/env bash
# Gatys at print sizes within a memory budget (not a test): tubingen in the
# style of the Starry Night with the shared partial VGG19, each size a fresh
# `atelier stylize --method gatys` process timed by GNU time, coarse to fine:
# the coarse scales (COARSE_SCALES below the size, default 512 1024) whole
# for COARSE iterations, so that the last scale starts from a painting, then the size
# itself for ITERATIONS, in tiles when it does not fit --max-memory. Prints
# per size the peak resident memory, the wall time, the tiles of the last
# scale and the seam measure of the output: the mean squared step across the
# tile boundaries over that across the lines 16, 32, 48 and 64 px beside them
# (1.0: no seam). With CONTROL=1 the same run is repeated with the last scale
# whole (where memory allows) and the same lines measured on it: what the
# picture's content alone reads there.
#
#   bench/gatys_print_sizes.sh [build-dir]
#   SIZES="1024 2048" BUDGET=4G ITERATIONS=3 COARSE=60 CONTROL=1 THREADS=n
#   SIZES=8000 BUDGET=8G [COARSE_SCALES="512 1024 2048"]    (the 8000 x 6000 run of issue 16)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
sizes=${SIZES:-"512 1024 2048"}
budget=${BUDGET:-4G}
iterations=${ITERATIONS:-3}
coarse=${COARSE:-60}
coarse_scales=${COARSE_SCALES:-"512 1024"}
control=${CONTROL:-0}
threads=${THREADS:-$(nproc)}
python=/usr/bin/python3
atelier="$build/atelier"
shared=$(cd .. && pwd)/shared
[ -x "$atelier" ] || { echo "error: $atelier is not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: needs GNU time (apt install time)" >&2; exit 1; }
for file in models/vgg19-caffe-partial.safetensors images/content/tubingen.jpg images/style/starry_night.jpg; do
  [ -f "$shared/$file" ] || { echo "SKIPPED: $shared/$file absent (the benchmark needs ../shared)"; exit 0; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "Gatys print sizes: tubingen x starry_night, shared partial VGG19 (relu3_2; relu1_1,2_1,3_1), L-BFGS,"
echo "$coarse iterations a coarse scale, then $iterations (a tile), --max-memory $budget, $threads threads, fp32"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(grep -o -E 'amx_bf16|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%6s  %-22s  %10s  %8s  %-14s  %s\n' size scales "peak MiB" seconds "tiles" "seam ratio"
# One run at a size within a budget: the output in $work/out.png, its log in $work/log.json, "KiB seconds" in $work/time.
paint() {
  /usr/bin/time -f "%M %e" -o "$work/time" "$atelier" stylize --method gatys -c "$shared/images/content/tubingen.jpg" \
    -s "$shared/images/style/starry_night.jpg" --size "$1" --scales "$2" -n "$iterations" --coarse-iterations "$coarse" \
    --max-memory "$3" --precision fp32 --threads "$threads" --checkpoint-every 0 \
    --models-dir "$shared/models" -o "$work/out.png" --json > "$work/log.json"
}
# The last scale's tiles (gatys_tiles: about equal spans of at most the tile side, on multiples of 16 px) and the
# seam measure over them, of the run in $work; $1: the tile side whose lines to measure (0: the run's own).
measure() {
  "$python" - "$work/log.json" "$work/out.png" "$1" <<'EOF'
import json, sys
import numpy as np
from PIL import Image
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
last = [r for r in rows if r.get("event") == "progress"][-1]
side = int(sys.argv[3]) or last.get("tile_side", 0)  # the tiled run's side, to measure the control's same lines
if not side:
    print("whole - -")
    sys.exit()
a = np.asarray(Image.open(sys.argv[2]).convert("RGB"), np.float64) / 255
h, w = a.shape[:2]
def bounds(length):  # as src/stylize/gatys_tiles.cpp's even_spans
    units, most = -(-length // 16), max(1, side // 16)
    count = -(-units // most)
    return [16 * (units * i // count) for i in range(1, count)]
def ratio(energy, lines):  # energy[i]: the step from line i to i + 1; a boundary at b is the step into b
    on = near = 0.0
    for b in lines:
        # Lines 16, 32, 48 and 64 away: the same phase of VGG's poolings, whose strokes keep a period of up to 16 px
        # (as tests/torch_gatys_tiles_test.cpp measures).
        around = [b - 1 + d for d in (-64, -48, -32, -16, 16, 32, 48, 64) if 0 <= b - 1 + d < len(energy)]
        on += energy[b - 1]
        near += energy[around].mean()
    return on / near if lines else 0.0
dx = ((a[:, 1:] - a[:, :-1]) ** 2).sum(2).mean(0)
dy = ((a[1:] - a[:-1]) ** 2).sum(2).mean(1)
lines = len(bounds(w)) + len(bounds(h))
both = ratio(dx, bounds(w)) * len(bounds(w)) + ratio(dy, bounds(h)) * len(bounds(h)) if lines else 0
print(f"{last['tiles']}x{side}px {both / max(1, lines):.3f} {side}")
EOF
}
for size in $sizes; do
  scales=""
  for s in $coarse_scales; do [ "$s" -lt "$size" ] && scales+="$s,"; done
  scales+="$size"
  paint "$size" "$scales" "$budget"
  read -r peak_kib seconds < "$work/time"
  report=$(measure 0)
  read -r tiles seam side <<< "$report"
  printf '%6s  %-22s  %10.0f  %8.1f  %-14s  %s\n' "$size" "$scales" "$(echo "$peak_kib / 1024" | bc -l)" "$seconds" \
    "$tiles" "$seam"
  if [ "$control" = 1 ] && [ "$side" != "-" ]; then  # the last scale whole, measured on the tiled run's lines
    paint "$size" "$scales" 20G
    read -r peak_kib seconds < "$work/time"
    read -r _ seam _ <<< "$(measure "$side")"
    printf '%6s  %-22s  %10.0f  %8.1f  %-14s  %s\n' "$size" "$scales" "$(echo "$peak_kib / 1024" | bc -l)" "$seconds" \
      "whole (control)" "$seam"
  fi
done
