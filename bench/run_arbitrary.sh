#!/usr/bin/env bash
# Arbitrary style transfer (Magenta and AdaIN): Atelier fp32 and bf16 beside
# the same computation in PyTorch eager (fp32, no_grad), same pictures, sizes
# and threads; the style is computed once, outside the timing, on both
# sides. AdaIN runs naoto0804's layout with random weights (written by
# tests/reference/adain_checkpoints.py, imported by `atelier models import`):
# the real ones are not in ../shared, and the time does not depend on them.
# Ratios are PyTorch / Atelier.
#
#   bench/run_arbitrary.sh [build-dir]        (THREADS=n, RUNS=n to change)
# Needs the benchmark built (cmake --build build --target bench_arbitrary)
# and Debian's python3-torch and python3-pil for the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-5}
bench="$build/bench/bench_arbitrary"
python=/usr/bin/python3  # Debian's python3-torch; the default python3 may lack torch
[ -x "$bench" ] || { echo "error: $bench is not built (cmake --build $build --target bench_arbitrary)" >&2; exit 1; }
"$python" -c 'import torch, PIL' 2>/dev/null || { echo "error: the reference needs python3-torch and python3-pil for $python" >&2; exit 1; }

adain=$(mktemp -d)
trap 'rm -rf "$adain"' EXIT
"$python" tests/reference/adain_checkpoints.py write "$adain" >/dev/null
mkdir -p "$adain/adain"
for network in vgg_normalised decoder; do
  "$build/atelier" models import "$adain/$network.pth" -o "$adain/adain/$network.safetensors" -q
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
atelier=$("$bench" --sizes 512,1080 --runs "$runs" --threads "$threads" --adain "$adain" --json)
if [[ $atelier == SKIPPED* ]]; then echo "$atelier"; exit 0; fi
pytorch=()
for size in 512 1080; do
  pytorch+=("$("$python" bench/arbitrary_reference.py --size "$size" --runs "$runs" --threads "$threads")")
  pytorch+=("$("$python" bench/arbitrary_reference.py --size "$size" --runs "$runs" --threads "$threads" --adain "$adain")")
done

echo "Arbitrary style transfer, Magenta (TFLite release) and AdaIN (relu4_1) painting amber.jpg like starry_night.jpg; median of $runs"
echo "runs after a warm-up; peak RSS of a fresh process per configuration. Ratios: PyTorch eager fp32 / Atelier."
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $threads threads used," \
     "bf16 units: $(grep -o -E 'amx_bf16|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC');  load before: $load_before"
"$python" - "$atelier" "${pytorch[@]}" <<'PY'
import json, sys
atelier = [json.loads(line) for line in sys.argv[1].splitlines()]
pytorch = {(row["method"], row["size"]): row for row in map(json.loads, sys.argv[2:])}
print(f"{'method':>8} {'size':>5} {'image':>10} | {'PyTorch ms':>10} {'MiB':>6} | {'Atelier':>7} {'ms':>8} {'speed x':>8} {'MiB':>6} {'memory x':>8}")
for row in (r for r in atelier if "ms_per_image" in r):
    ref = pytorch[(row["method"], row["size"])]
    print(f"{row['method']:>8} {row['size']:>5} {row['width']}x{row['height']:<5} | {ref['ms_per_image']:>10.1f} {ref['peak_rss_mib']:>6.0f} |"
          f" {row['precision']:>7} {row['ms_per_image']:>8.1f} {ref['ms_per_image'] / row['ms_per_image']:>8.2f}"
          f" {row['peak_rss_mib']:>6.0f} {ref['peak_rss_mib'] / row['peak_rss_mib']:>8.2f}")
for row in (r for r in atelier if "psnr_bf16_db" in r):
    print(f"{row['method']} bf16 output vs fp32 at {row['size']}: PSNR {row['psnr_bf16_db']:.1f} dB")
PY
