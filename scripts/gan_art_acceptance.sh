#!/usr/bin/env bash
# GAN acceptance on few-shot art (issue 5, item 2): 64 px patches from the
# eight paintings of ../shared/images/style with DiffAugment, trained in
# segments (each a --resume of the last, the same run as one without
# stops); KID against real patches after each, and a grid in docs/.
#
#   scripts/gan_art_acceptance.sh [OUT_DIR] [SEGMENT_STEPS] [SEGMENTS]   (from the repository root, after building)
set -euo pipefail
out=${1:-/tmp/atelier-gan-art}
segment=${2:-150}
segments=${3:-4}
atelier=${ATELIER:-build/atelier}
export ATELIER_MODELS=${ATELIER_MODELS:-$(cd .. && pwd)/shared/models}  # resnet50-caffe, for gan eval
paintings=../shared/images/style
[ -d "$paintings" ] || { echo "SKIPPED: $paintings absent (real data needed)"; exit 0; }
mkdir -p "$out"
settings=(--data "$paintings" --size 64 --batch-size 32 --precision bf16 --augment color,translation,cutout
          --crop-area 0.1 --flip)
evaluate() {  # KID of the generator so far against 500 real patches
  "$atelier" gan eval --model "$out/art.safetensors" --data "$paintings" -n 500 --json
}

rm -rf "$out"/art.safetensors*
"$atelier" gan train "${settings[@]}" -o "$out/art.safetensors" --steps 0 -q
echo "step 0: $(evaluate)"
start=$(date +%s)
for ((k = 1; k <= segments; k++)); do
  "$atelier" gan train "${settings[@]}" -o "$out/art.safetensors" --steps $((k * segment)) --sample-every "$segment" \
      --checkpoint-every "$segment" -q $([ "$k" -gt 1 ] && echo --resume)
  echo "step $((k * segment)) ($(( $(date +%s) - start )) s of training and evaluation): $(evaluate)"
done
"$atelier" gan sample --model "$out/art.safetensors" -n 64 --seed 1 --grid docs/gan_paintings.png
