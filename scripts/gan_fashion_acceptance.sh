#!/usr/bin/env bash
# GAN acceptance on Fashion-MNIST (issue 5, item 1): a bounded CPU run
# (2200 steps, about 18 minutes on 2 cores), KID against the test set before
# and after, a sample grid in docs/, and the classifier check of
# tests/torch_gan_acceptance_test.cpp.
#
#   scripts/gan_fashion_acceptance.sh [OUT_DIR]     (from the repository root, after building)
set -euo pipefail
out=${1:-/tmp/atelier-gan-fashion}
atelier=${ATELIER:-build/atelier}
export ATELIER_MODELS=${ATELIER_MODELS:-$(cd .. && pwd)/shared/models}  # resnet50-caffe, for gan eval
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "SKIPPED: $data absent (apt install dataset-fashion-mnist)"; exit 0; }
mkdir -p "$out"
settings=(--data "$data/train-images-idx3-ubyte.gz" --size 32 --batch-size 64 --precision bf16
          --augment none --beta1 0.5 --beta2 0.999)

"$atelier" gan train "${settings[@]}" -o "$out/untrained.safetensors" --steps 0 -q
start=$(date +%s)
"$atelier" gan train "${settings[@]}" -o "$out/fashion.safetensors" --steps 2200 --sample-every 550 \
    --checkpoint-every 550 --log-every 100
echo "training took $(( $(date +%s) - start )) s"

for model in untrained fashion; do
  echo "== KID/FID of $model against the test set"
  "$atelier" gan eval --model "$out/$model.safetensors" --data "$data/t10k-images-idx3-ubyte.gz" -n 1000
done
"$atelier" gan sample --model "$out/fashion.safetensors" -n 64 --seed 1 --grid docs/gan_fashion_mnist.png
ATELIER_GAN_FASHION_MODEL="$out/fashion.safetensors" ATELIER_GAN_FASHION_UNTRAINED="$out/untrained.safetensors" \
    build/tests/torch_gan_acceptance_test
