#!/usr/bin/env bash
# Feed-forward stylisation: Atelier (fp32/bf16, contiguous/channels-last)
# beside the same network in PyTorch eager (fp32, no_grad, as pytorch/examples
# runs it), same image sizes and threads; ratios are PyTorch / Atelier.
#
#   bench/run_fast_style.sh [build-dir]        (THREADS=n, RUNS=n, TILED_SIZE=n to change;
#                                               TILED_SIZE=0 skips the large whole-vs-tiles run)
# Needs the benchmark built (cmake --build build --target bench_fast_style)
# and Debian's python3-torch for the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-5}
bench="$build/bench/bench_fast_style"
python=/usr/bin/python3  # Debian's python3-torch; the default python3 may lack torch
[ -x "$bench" ] || { echo "error: $bench is not built (cmake --build $build --target bench_fast_style)" >&2; exit 1; }
"$python" -c 'import torch, PIL' 2>/dev/null || { echo "error: the reference needs python3-torch and python3-pil for $python" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
atelier=$("$bench" --sizes 512,1080 --runs "$runs" --threads "$threads" --tiled-size "${TILED_SIZE:-4000}" --json)
if [[ $atelier == SKIPPED* ]]; then echo "$atelier"; exit 0; fi
pytorch=()
for size in 512 1080; do
  pytorch+=("$("$python" bench/fast_style_reference.py --size "$size" --runs "$runs" --threads "$threads")")
done

echo "Feed-forward stylisation, pytorch/examples udnie on amber.jpg; median of $runs runs after a warm-up;"
echo "peak RSS of a fresh process per configuration. Ratios: PyTorch eager fp32 / Atelier."
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $threads threads used"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC');  load before: $load_before"
"$python" - "$atelier" "${pytorch[@]}" <<'PY'
import json, sys
atelier = [json.loads(line) for line in sys.argv[1].splitlines()]
pytorch = {row["size"]: row for row in map(json.loads, sys.argv[2:])}
psnr = {row["size"]: row["psnr_bf16_db"] for row in atelier if "psnr_bf16_db" in row}
print(f"{'size':>5} {'image':>10} | {'PyTorch ms':>10} {'MiB':>7} | {'Atelier':>13} {'ms':>8} {'speed x':>8} {'MiB':>7} {'memory x':>8}")
for row in (r for r in atelier if "ms_per_image" in r and not r.get("tiled_comparison")):
    ref = pytorch[row["size"]]
    config = row["precision"] + (" + CL" if row["channels_last"] else "")
    print(f"{row['size']:>5} {row['width']}x{row['height']:<5} | {ref['ms_per_image']:>10.1f} {ref['peak_rss_mib']:>7.0f} |"
          f" {config:>13} {row['ms_per_image']:>8.1f} {ref['ms_per_image'] / row['ms_per_image']:>8.2f}"
          f" {row['peak_rss_mib']:>7.0f} {ref['peak_rss_mib'] / row['peak_rss_mib']:>8.2f}")
for size, value in psnr.items():
    print(f"bf16 output vs fp32 at {size}: PSNR {value:.1f} dB")
for row in (r for r in atelier if r.get("tiled_comparison")):
    how = f"in {row['tile']} px tiles" if row["tile"] else "whole"
    print(f"{row['width']}x{row['height']} bf16 {how}: {row['ms_per_image']:.0f} ms, peak {row['peak_rss_mib']:.0f} MiB")
PY
