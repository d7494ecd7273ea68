#!/usr/bin/env bash
# Flicker of a feed-forward style on video, per frame and with the temporal
# blend (not a test): for each of opencv-doc's clips, the first FRAMES frames
# painted by stylize-video with --temporal-weight 0 and with the default,
# then `atelier video-metrics` on both (the warping error of Lai et al. 2018,
# the change between frames, the texture measure and the style measure: the
# frames' VGG Gram distance to the painting the network was trained on).
# Prints one row per clip and weight, as docs/VIDEO.md quotes them. About 6
# minutes per run of 120 frames at 768x576 on 2 busy cores.
#
#   bench/video_flicker.sh [build-dir]   (MODEL=fast-style/pytorch-examples/udnie,
#                                         STYLE=../shared/images/style/picabia_udnie.jpg, FRAMES=120,
#                                         WEIGHTS="0 0.5", THREADS=n, CLIPS="vtest.avi Megamind.avi")
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
model=${MODEL:-fast-style/pytorch-examples/udnie}
style=${STYLE:-$(cd .. && pwd)/shared/images/style/picabia_udnie.jpg}
frames=${FRAMES:-120}
weights=${WEIGHTS:-"0 0.5"}
threads=${THREADS:-0}
clips=${CLIPS:-"vtest.avi Megamind.avi"}
data=/usr/share/doc/opencv-doc/examples/data
export ATELIER_MODELS=${ATELIER_MODELS:-$(cd .. && pwd)/shared/models}
atelier="$build/atelier"
[ -x "$atelier" ] || { echo "error: $atelier is not built" >&2; exit 1; }
[ -d "$data" ] || { echo "error: $data is absent (apt install opencv-doc)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -f "$style" ] || { echo "SKIPPED: $style absent (the style measure needs the painting)"; exit 0; }
printf '%-14s %-7s %-14s %-13s %-9s %-9s %s\n' clip weight warping_error frame_change texture style seconds
for clip in $clips; do
  for weight in $weights; do
    out="$work/${clip%.*}_$weight.mp4"
    start=$(date +%s)
    "$atelier" stylize-video "$data/$clip" -o "$out" --model "$model" --frames "$frames" \
      --temporal-weight "$weight" --threads "$threads" -q
    seconds=$(( $(date +%s) - start ))
    "$atelier" video-metrics "$data/$clip" "$out" --frames "$frames" --style "$style" --json |
      python3 -c "import json, sys; m = json.load(sys.stdin)
print('%-14s %-7s %-14.6f %-13.6f %-9.4f %-9.4f %s' % ('$clip', '$weight', m['warping_error'], m['frame_change'],
      m['texture'], m['style_distance'], '$seconds'))"
  done
done
