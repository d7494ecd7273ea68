#!/usr/bin/env bash
# Arbitrary style transfer (Magenta and AdaIN): Atelier fp32 and bf16 beside
# the same computation in PyTorch eager (fp32, no_grad), same pictures, sizes
# and threads; the style is computed once, outside the timing, on both
# sides. AdaIN runs naoto0804's layout with random weights (written by
# tests/reference/adain_checkpoints.py, imported by `atelier models import`):
# the real ones are not in ../shared, and the time does not depend on them.
# Ratios are PyTorch / Atelier.
#
# A shared 2-core machine drifts by 15% or more from one minute to the next,
# so the whole comparison runs ROUNDS times, the two sides one after the
# other in each round; each ratio is taken within a round, and the median
# round is shown with the range.
#
#   bench/run_arbitrary.sh [build-dir]        (THREADS=n, RUNS=n, ROUNDS=n to change)
# Needs the benchmark built (cmake --build build --target bench_arbitrary)
# and Debian's python3-torch and python3-pil for the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-5}
rounds=${ROUNDS:-3}
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
rows=()  # one JSON object per line, each tagged with its round
for round in $(seq "$rounds"); do
  atelier=$("$bench" --sizes 512,1080 --runs "$runs" --threads "$threads" --adain "$adain" --json)
  if [[ $atelier == SKIPPED* ]]; then echo "$atelier"; exit 0; fi
  while IFS= read -r line; do rows+=("{\"round\": $round, \"side\": \"atelier\", \"row\": $line}"); done <<<"$atelier"
  for size in 512 1080; do
    for extra in "" "--adain $adain"; do
      # shellcheck disable=SC2086  # $extra is two words or none
      line=$("$python" bench/arbitrary_reference.py --size "$size" --runs "$runs" --threads "$threads" $extra)
      rows+=("{\"round\": $round, \"side\": \"pytorch\", \"row\": $line}")
    done
  done
done

echo "Arbitrary style transfer, Magenta (TFLite release) and AdaIN (relu4_1) painting amber.jpg like starry_night.jpg; median of $runs"
echo "runs after a warm-up, $rounds rounds; peak RSS of a fresh process per configuration. Ratios: PyTorch eager fp32 / Atelier,"
echo "within each round; the median round's, with the range over rounds."
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $threads threads used," \
     "bf16 units: $(grep -o -E 'amx_bf16|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC');  load before: $load_before"
printf '%s\n' "${rows[@]}" >"$adain/rows.jsonl"
"$python" - "$adain/rows.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
pytorch = {(r["round"], r["row"]["method"], r["row"]["size"]): r["row"] for r in rows if r["side"] == "pytorch"}
timed = [(r["round"], r["row"]) for r in rows if r["side"] == "atelier" and "ms_per_image" in r["row"]]
print(f"{'method':>8} {'size':>5} {'image':>10} | {'PyTorch ms':>10} {'MiB':>6} | {'Atelier':>7} {'ms':>8} {'speed x':>8}"
      f" {'range':>11} {'MiB':>6} {'memory x':>8}")
configurations = sorted({(row["method"], row["size"], row["precision"]) for _, row in timed},
                        key=lambda c: (c[0] != "magenta", c[1], c[2] != "fp32"))
for method, size, precision in configurations:
    # (ratio, reference, Atelier) of each round, the median round shown.
    rounds = sorted(((pytorch[(number, method, size)]["ms_per_image"] / row["ms_per_image"], pytorch[(number, method, size)], row)
                     for number, row in timed if (row["method"], row["size"], row["precision"]) == (method, size, precision)),
                    key=lambda r: r[0])
    ratio, ref, row = rounds[len(rounds) // 2]
    print(f"{method:>8} {size:>5} {row['width']}x{row['height']:<5} | {ref['ms_per_image']:>10.1f} {ref['peak_rss_mib']:>6.0f} |"
          f" {precision:>7} {row['ms_per_image']:>8.1f} {ratio:>8.2f} {rounds[0][0]:>5.2f}-{rounds[-1][0]:<5.2f}"
          f" {row['peak_rss_mib']:>6.0f} {ref['peak_rss_mib'] / row['peak_rss_mib']:>8.2f}")
for r in rows:
    if r["side"] == "atelier" and r["round"] == 1 and "psnr_bf16_db" in r["row"]:
        print(f"{r['row']['method']} bf16 output vs fp32 at {r['row']['size']}: PSNR {r['row']['psnr_bf16_db']:.1f} dB")
PY
