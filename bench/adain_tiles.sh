#!/usr/bin/env bash
# AdaIN's peak memory whole and in tiles (not a test): random weights in
# naoto0804's layout (tests/reference/adain_checkpoints.py), imported with
# `atelier models import`, painting a picture of noise at each size through
# the CLI, each run a fresh process timed by GNU time. Prints per size and
# mode the peak MiB, (peak - base) / pixels (the costs plan_adain_tiling in
# src/pipeline/adain_style.cpp uses) and the largest difference between the
# tiled and the whole picture, in 8-bit steps.
#
#   bench/adain_tiles.sh [build-dir]   (SIZES="2000x1500 2800x2100", BUDGET=1500M, THREADS=n)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
sizes=${SIZES:-"2000x1500 2800x2100"}
budget=${BUDGET:-1500M}
threads=${THREADS:-$(nproc)}
python=/usr/bin/python3
atelier="$build/atelier"
[ -x "$atelier" ] || { echo "error: $atelier is not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: needs GNU time (apt install time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" tests/reference/adain_checkpoints.py write "$work" >/dev/null
mkdir -p "$work/models/adain"
"$atelier" models import "$work/vgg_normalised.pth" -o "$work/models/adain/vgg_normalised.safetensors" -q
"$atelier" models import "$work/decoder.pth" -o "$work/models/adain/decoder.safetensors" -q
picture() {  # noise, smoothed: tiles see different content
  "$python" -c "import sys, numpy as np; from PIL import Image
w, h = map(int, sys.argv[1].split('x')); r = np.random.default_rng(1)
small = Image.fromarray((r.random((h // 16 + 1, w // 16 + 1, 3)) * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
Image.fromarray(np.clip(np.asarray(small, np.int16) + r.integers(-20, 20, (h, w, 3)), 0, 255).astype(np.uint8)).save(sys.argv[2])" "$1" "$2"
}
paint() {  # size, budget, output -> "peak_kib seconds"
  /usr/bin/time -f "%M %e" -o "$work/time" "$atelier" stylize --method adain -c "$work/$1.png" -s "$work/style.png" \
    -o "$3" --max-memory "$2" --models-dir "$work/models" --threads "$threads" -q
  cat "$work/time"
}
picture 64x64 "$work/tiny.png"
picture 512x512 "$work/style.png"
mv "$work/tiny.png" "$work/64x64.png"
read -r base _ < <(paint 64x64 64G "$work/tiny.out.png")
echo "AdaIN (relu4_1, random weights) whole and in tiles within --max-memory $budget; $threads threads"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; date $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "base (a 64x64 picture): $((base / 1024)) MiB"
printf '%10s %6s %8s %8s %10s %12s\n' size mode seconds peakMiB bytes/px max-diff
for size in $sizes; do
  picture "$size" "$work/$size.png"
  pixels=$(( ${size%x*} * ${size#*x} ))
  read -r whole_kib whole_s < <(paint "$size" 64G "$work/whole.png")
  read -r tiled_kib tiled_s < <(paint "$size" "$budget" "$work/tiled.png")
  diff=$("$python" -c "import sys, numpy as np; from PIL import Image
a, b = (np.asarray(Image.open(p), np.int16) for p in sys.argv[1:]); print(int(np.abs(a - b).max()))" "$work/whole.png" "$work/tiled.png")
  printf '%10s %6s %8s %8d %10d %12s\n' "$size" whole "$whole_s" $((whole_kib / 1024)) $(( (whole_kib - base) * 1024 / pixels )) -
  printf '%10s %6s %8s %8d %10d %12s\n' "$size" tiled "$tiled_s" $((tiled_kib / 1024)) $(( (tiled_kib - base) * 1024 / pixels )) "$diff/255"
done
