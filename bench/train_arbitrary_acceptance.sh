#!/usr/bin/env bash
# Issue 14, acceptance 3 ("train your own"): trains an AdaIN decoder on the
# shared and Debian photos and 7 of the 8 shared paintings, at relu3_1 of the
# shared partial Caffe VGG19, then checks that the 8th painting's style loss
# (never trained on) falls >= 3x from the untrained decoder's, on the 11
# shared photos, and writes a before/after sheet (photo, held-out painting,
# untrained, trained). Not a test (about 15 minutes on 2 cores); the numbers
# of a run are in docs/ARBITRARY.md ("Train your own").
#
#   bench/train_arbitrary_acceptance.sh [WORK_DIR]
# Environment: ATELIER (default build/atelier), SHARED (../shared), STEPS (600),
# SIZE (128), BATCH (4), LR (1e-3), HELD_OUT (turner_shipwreck.jpg),
# SHEET (docs/train_arbitrary_turner.jpg; empty: none), NICE (10).
# The measurement is the run's own held-out evaluation (OUTPUT.validation.csv:
# step 0 is the untrained decoder, the seed's initial weights; the last row the
# trained one), the AdaIN style loss of train-arbitrary, on centred squares at
# the training size. The sheet needs Debian's python3-pil.
set -euo pipefail
cd "$(dirname "$0")/.."
atelier=${ATELIER:-build/atelier}
shared=${SHARED:-../shared}
work=${1:-$(mktemp -d /tmp/train-arbitrary.XXXXXX)}
steps=${STEPS:-600} size=${SIZE:-128} batch=${BATCH:-4} lr=${LR:-1e-3}
held_out=${HELD_OUT:-turner_shipwreck.jpg}
sheet=${SHEET-docs/train_arbitrary_turner.jpg}
[ -d "$shared/images/style" ] || { echo "SKIPPED: $shared/images is absent (real data needed)"; exit 77; }

mkdir -p "$work/paintings.original"
scripts/collect_photos.sh "$work/photos.original"
for painting in "$shared"/images/style/*; do
  [ "$(basename "$painting")" = "$held_out" ] || ln -sf "$(realpath "$painting")" "$work/paintings.original/"
done
echo "$(ls "$work/paintings.original" | wc -l) paintings; held out: $held_out"
# Decoded and shrunk once (shorter side 1.5x / 2x the crop), not at every step;
# random crops of >= 35% of a picture then still come from enough pixels.
"$atelier" data prepare "$work/photos.original" -o "$work/photos" --size $((size * 3 / 2)) --crop none --val 0 -q
"$atelier" data prepare "$work/paintings.original" -o "$work/paintings" --size $((size * 2)) --crop none --val 0 -q

output=$work/decoder.safetensors
/usr/bin/time -f "%e %U %S" -o "$work/time.txt" nice -n "${NICE:-10}" \
  env ATELIER_MODELS="$shared/models" "$atelier" train-arbitrary \
  --content-dir "$work/photos" --style-dir "$work/paintings" -o "$output" --encoder vgg19 --level relu3_1 \
  --steps "$steps" --size "$size" --batch-size "$batch" --lr "$lr" --threads 2 \
  --preview-style "$shared/images/style/$held_out" --preview-content "$shared/images/content" \
  --preview-every 100 --checkpoint-every 100 --json >"$work/train.jsonl"
read -r wall user system <"$work/time.txt"
echo "wall ${wall} s, CPU $(awk "BEGIN {print $user + $system}") s"

# The last info line holds the held-out losses, first (untrained) and last (trained).
/usr/bin/python3 - "$work/train.jsonl" <<'EOF'
import json, sys
final = [json.loads(line) for line in open(sys.argv[1]) if '"style_loss_first"' in line][-1]
ratio = final["style_loss_first"] / final["style_loss_last"]
print(f"held-out painting's style loss: untrained {final['style_loss_first']:.6g}, trained "
      f"{final['style_loss_last']:.6g} ({ratio:.1f}x lower); the photos themselves {final['style_loss_photos']:.6g}")
print(f"held-out content loss: untrained {final['content_loss_first']:.6g}, trained {final['content_loss_last']:.6g}")
sys.exit(0 if ratio >= 3 else 1)
EOF

# Before/after sheet from the first and last previews: rows of photo, painting, untrained, trained.
[ -z "$sheet" ] || /usr/bin/python3 - "$output.previews" "$steps" "$size" "$sheet" <<'EOF'
import sys
from PIL import Image
previews, steps, size, sheet = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
first = Image.open(f"{previews}/step_000000.png").convert("RGB")
last = Image.open(f"{previews}/step_{steps:06d}.png").convert("RGB")
cell = lambda picture, row, column: picture.crop((column * size, row * size, (column + 1) * size, (row + 1) * size))
columns = [3, 7, 10, 11]  # chelsea, golden_gate, stata, tubingen among the 11 sorted shared photos (+1: the painting)
out = Image.new("RGB", (4 * size, len(columns) * size), "white")
for row, column in enumerate(columns):
    for x, picture in enumerate([cell(first, 0, column), cell(first, 0, 0), cell(first, 1, column), cell(last, 1, column)]):
        out.paste(picture, (x * size, row * size))
out.save(sheet, quality=92)
print("wrote", sheet)
EOF
