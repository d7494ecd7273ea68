#!/usr/bin/env bash
# Compares Atelier's Gatys style transfer with the same computation in
# PyTorch eager (bench/gatys_reference.py) at 256 and 512 px: seconds per
# L-BFGS iteration and peak resident memory, each size in its own process,
# same iterations and threads for both. Ratios are PyTorch / Atelier, so
# above 1 means Atelier is faster or smaller. Builds nothing:
#
#   cmake --build build --target bench_gatys
#   bench/run_gatys.sh [build-dir]        # default build-dir: build
#
# Environment: ATELIER_OPENBLAS_CORETYPE (the OpenBLAS kernels for Atelier's
# side, e.g. SkylakeX: what the CLI restarts with where OpenBLAS fell back to
# SSE3; PyTorch's side keeps OpenBLAS's own choice), THREADS (default: all cores), ITERATIONS_256 (default 20),
# ITERATIONS_512 (default 10). A full run takes a few minutes. Prints
# "SKIPPED: ..." and exits 0 when the real data in ../shared is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
threads=${THREADS:-$(nproc)}
bench="$build/bench/bench_gatys"
python=/usr/bin/python3  # Debian's python3-torch; the default python3 may lack torch
if [ ! -x "$bench" ]; then
  echo "error: $bench is not built (cmake --build $build --target bench_gatys)" >&2
  exit 1
fi
if ! "$python" -c 'import torch, PIL' 2> /dev/null; then
  echo "error: the PyTorch reference needs Debian's python3-torch and python3-pil for $python" >&2
  exit 1
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Pairs of JSON lines (atelier, pytorch) per size and precision.
results=()
for size_iterations in "256 ${ITERATIONS_256:-20}" "512 ${ITERATIONS_512:-10}"; do
  read -r size iterations <<< "$size_iterations"
  for precision in fp32 bf16; do
    # The CLI restarts itself on the CPU's own OpenBLAS kernels where OpenBLAS
    # fell back to SSE3 (atelier::better_blas_core); this benchmark binary does
    # not, so ATELIER_OPENBLAS_CORETYPE gives its side what the CLI would choose.
    blas=()
    [ -z "${ATELIER_OPENBLAS_CORETYPE:-}" ] || blas=(env "OPENBLAS_CORETYPE=$ATELIER_OPENBLAS_CORETYPE")
    atelier=$("${blas[@]}" "$bench" --sizes "$size" --iterations "$iterations" --threads "$threads" \
      --precision "$precision" --json)
    if [[ $atelier == SKIPPED* ]]; then
      echo "$atelier"
      exit 0
    fi
    pytorch=$("$python" bench/gatys_reference.py --size "$size" --iterations "$iterations" --threads "$threads" \
      --precision "$precision" --json)
    results+=("$atelier" "$pytorch")
  done
done

echo "Gatys style transfer, L-BFGS, tubingen.jpg in the style of starry_night.jpg, Caffe VGG19"
echo "(content relu3_2; style relu1_1,relu2_1,relu3_1); s/iter timed from the 3rd iteration;"
echo "peak RSS of a fresh process per size and implementation. Ratios: PyTorch / Atelier."
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $threads threads used"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load:    $load_before before the run (1/5/15-min load average; high means other processes shared the CPU)"
"$python" - "$threads" "${results[@]}" <<'EOF'
import json, sys, time
import torch

threads, rows = int(sys.argv[1]), [json.loads(line) for line in sys.argv[2:]]
torch.set_num_threads(threads)

# Useful work of one L-BFGS iteration: the VGG19 convolutions up to relu3_2
# forward and their input gradients backward (no weight gradients), and each
# style layer's Gram matrix forward and backward.
CONVS = [(3, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 2), (128, 256, 4), (256, 256, 4)]  # in, out, stride
STYLE = [(64, 1), (128, 2), (256, 4)]  # relu1_1, relu2_1, relu3_1
def useful_flop(width, height):
    def pixels(stride): return (height // stride) * (width // stride)
    convs = sum(2 * 9 * c_in * c_out * pixels(s) for c_in, c_out, s in CONVS)
    grams = sum(2 * c * c * pixels(s) for c, s in STYLE)
    return 2 * convs + 3 * grams

def best_seconds(run, repeats=5):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); run(); times.append(time.perf_counter() - start)
    return min(times)

# What this CPU computes when nothing else limits it (fp32, the threads above).
a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
matmul = 2 * 2048 ** 3 / best_seconds(lambda: a @ b)
x, w = torch.randn(1, 128, 192, 256), torch.randn(128, 128, 3, 3)
conv = 2 * 9 * 128 * 128 * 192 * 256 / best_seconds(lambda: torch.conv2d(x, w, padding=1))
print(f"this CPU, fp32: matrix product 2048^3 {matmul / 1e9:.0f} GFLOP/s; 3x3 convolution 128->128 at 256x192 "
      f"{conv / 1e9:.0f} GFLOP/s (PyTorch, {threads} threads)")
print(f"{'size':>5} {'prec':>5} {'image':>8} {'iters':>5} | {'s/iter Atelier':>14} {'PyTorch':>8} {'speed x':>8} |"
      f" {'peak MiB Atelier':>16} {'PyTorch':>8} {'memory x':>8} | first loss Atelier / PyTorch")
flops = []
for atelier, pytorch in zip(rows[0::2], rows[1::2]):
    image = f"{atelier['width']}x{atelier['height']}"
    speed = pytorch["seconds_per_iteration"] / atelier["seconds_per_iteration"]
    flop = useful_flop(atelier["width"], atelier["height"])
    flops.append(f"{atelier['size']:>5} {atelier['precision']:>5}: {flop / 1e9:.1f} GFLOP per iteration; Atelier "
                 f"{flop / atelier['seconds_per_iteration'] / 1e9:.0f} GFLOP/s, PyTorch "
                 f"{flop / pytorch['seconds_per_iteration'] / 1e9:.0f} GFLOP/s ({speed:.2f}x)")
    memory = pytorch["peak_rss_mib"] / atelier["peak_rss_mib"]
    print(f"{atelier['size']:>5} {atelier['precision']:>5} {image:>8} {atelier['iterations']:>5} |"
          f" {atelier['seconds_per_iteration']:>14.3f} {pytorch['seconds_per_iteration']:>8.3f} {speed:>8.2f} |"
          f" {atelier['peak_rss_mib']:>16.1f} {pytorch['peak_rss_mib']:>8.1f} {memory:>8.2f} |"
          f" {atelier['first_loss']:.6g} / {pytorch['first_loss']:.6g}")
print("useful FLOP/s (convolutions to relu3_2 and their input gradients, the Gram matrices; per iteration):")
print("\n".join(flops))
EOF
