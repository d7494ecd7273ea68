#!/usr/bin/env bash
# Behaviour fingerprint of the atelier CLI, for refactors that must not change behaviour.
#
#   scripts/check_same_behaviour.sh ATELIER_BINARY OUT_DIR
#
# Runs a fixed set of CLI commands (Gatys once per option family, fast styles whole / tiled / batch,
# a video, style training and resume, GAN train / sample / walk / eval, data prepare / stats, models
# list / import, --help of every command, a few expected errors) on the real weights and pictures of
# ../shared, small and with --threads 1 everywhere it is accepted, so that two runs are bit-identical.
# Then writes
#   OUT_DIR/log.txt        every command, its exit code, its stdout and stderr (timing fields removed)
#   OUT_DIR/checksums.txt  "sha256  relative/path" of every file under OUT_DIR (log.txt included), sorted
# Run it with the binary from before a change and after it, into two folders, and diff the two
# checksums.txt (and log.txt, to see where they differ):
#   scripts/check_same_behaviour.sh /path/to/before/atelier /tmp/behaviour/before
#   scripts/check_same_behaviour.sh build/atelier /tmp/behaviour/after
#   diff /tmp/behaviour/before/checksums.txt /tmp/behaviour/after/checksums.txt
#
# Exit codes: 0 done; 1 a command failed unexpectedly (or gave another exit code than expected, or a
# check failed): the message says which; 2 usage of this script; 77 skipped because ../shared (weights, pictures)
# or Debian's opencv-doc / dataset-fashion-mnist data are absent. About 3 minutes on 2 cores.
#
# Determinism, checked by running it twice with the same binary into two folders and diffing:
#  - Every command runs with OUT_DIR as its working directory and relative output paths, so no file
#    or message embeds OUT_DIR; the binary is called as `atelier` through a symlink in a temporary
#    folder outside OUT_DIR, so usage lines do not name its path (which differs before/after).
#  - JSON progress lines lose their timing fields (see TIMING_KEYS below: rate, eta_s, ...), and
#    text progress bars (stderr of commands without --json) lose their rate and ETA.
#  - Three kinds of file name OUT_DIR's absolute path (the tool makes the data folder absolute):
#    data prepare's manifest.json and train-style's weights and checkpoints. Their checksum is of the
#    content with that path replaced by "$OUT_DIR", and for safetensors without the header's length
#    and padding, which follow the path's length (see the end of this script; log.txt lists them).
#  - data prepare's manifest records each source's size and modification time: the photos are copied
#    with cp -p, so the times are those of ../shared.
#  - Nothing is excluded: every other file written (PNG/JPEG/WebP/TIFF/BMP, safetensors weights and
#    checkpoints, CSV logs, loss plots, previews, MPEG-4 and MJPEG videos) is identical from run to run
#    with --threads 1.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 ATELIER_BINARY OUT_DIR" >&2
  exit 2
fi
BINARY=$(realpath "$1")
[[ -x "$BINARY" ]] || { echo "$0: $1 is not an executable" >&2; exit 2; }
OUT_ARG=$2

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(realpath -m "$REPO/../shared")
if [[ ! -d "$SHARED/models" || ! -d "$SHARED/images/content" || ! -d "$SHARED/images/style" ]]; then
  echo "SKIP: $SHARED (models and images) is absent: nothing checked" >&2
  exit 77
fi
VTEST=/usr/share/doc/opencv-doc/examples/data/vtest.avi                  # Debian opencv-doc
FASHION=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz      # Debian dataset-fashion-mnist
for needed in "$VTEST" "$FASHION"; do
  if [[ ! -f "$needed" ]]; then
    echo "SKIP: $needed is absent (Debian opencv-doc, dataset-fashion-mnist): nothing checked" >&2
    exit 77
  fi
done
command -v python3 >/dev/null || { echo "$0: python3 is needed" >&2; exit 1; }

# OUT_DIR: new, empty, or a previous run of this script (then emptied).
mkdir -p "$OUT_ARG"
OUT=$(realpath "$OUT_ARG")
if [[ -n "$(ls -A "$OUT")" ]]; then
  if [[ -f "$OUT/log.txt" ]]; then
    find "$OUT" -mindepth 1 -delete
  else
    echo "$0: $OUT is not empty and holds no earlier log.txt: refusing to delete it" >&2
    exit 2
  fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/bin"
ln -s "$BINARY" "$TMP/bin/atelier"
export PATH="$TMP/bin:$PATH"

export ATELIER_MODELS="$SHARED/models"
export XDG_DATA_HOME=/nonexistent/atelier-behaviour-check   # the user's models stay out of the search path
export LC_ALL=C TZ=UTC OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
unset WORLD_SIZE RANK MASTER_ADDR MASTER_PORT ATELIER_STUDIO_TOKEN || true

PHOTOS="$SHARED/images/content"
PAINTINGS="$SHARED/images/style"
PHOTO="$PHOTOS/tubingen.jpg"
PAINTING="$PAINTINGS/starry_night.jpg"
SMALL_PHOTO="$PHOTOS/chicago_640x480.jpg"   # 640x480: whole, and in tiles with --max-memory

cd "$OUT"
LOG="$OUT/log.txt"
: >"$LOG"
STARTED=$SECONDS

# Drops timing from JSON lines and progress bars; everything else is kept as printed.
cat >"$TMP/normalize.py" <<'EOF'
import json, re, sys
TIMING_KEYS = {"rate", "eta_s", "elapsed", "elapsed_s", "seconds", "time_s", "steps_per_s", "ms"}
BAR = re.compile(r"  [-0-9.naif]+ [^ ]+/s  ETA [-:0-9]+")
for line in sys.stdin:
    line = line.rstrip("\n")
    try:
        value = json.loads(line)
    except ValueError:
        value = None
    if isinstance(value, dict):
        for key in [k for k in value if k in TIMING_KEYS]:
            del value[key]
        line = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    else:
        line = BAR.sub("  <rate>  ETA <eta>", line)
    print(line)
EOF

fail() {
  echo "check_same_behaviour: FAILED: $*" >&2
  exit 1
}

# run EXPECTED_EXIT_CODE NAME atelier-arguments...: runs `atelier ARGS` and logs it.
run() {
  local expected=$1 name=$2
  shift 2
  local code=0
  local t0=$SECONDS
  atelier "$@" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null || code=$?
  {
    echo "=== $name"
    echo "\$ atelier $*"
    echo "exit $code"
    echo "--- stdout"
    python3 "$TMP/normalize.py" <"$TMP/stdout"
    echo "--- stderr"
    python3 "$TMP/normalize.py" <"$TMP/stderr"
  } >>"$LOG"
  echo "$name: exit $code ($((SECONDS - t0)) s)" >&2
  if [[ "$code" != "$expected" ]]; then
    echo "--- stderr of $name:" >&2
    cat "$TMP/stderr" >&2
    fail "$name: atelier $*: exit $code, expected $expected"
  fi
}

# expect_file PATH...: each must exist and be non-empty.
expect_file() {
  local path
  for path in "$@"; do [[ -s "$path" ]] || fail "$path was not written"; done
}

# expect_in_log NAME TEXT: the last logged command's output says TEXT.
expect_in_log() {
  grep -qF -- "$2" "$TMP/stdout" "$TMP/stderr" || fail "$1: its output does not say \"$2\""
}

# ---------------------------------------------------------------------------------------------------------
# Inputs made here (deterministic, independent of the binary)
mkdir -p inputs

# An RGBA PNG: a colour gradient with a soft round alpha (pure Python: zlib + struct).
python3 - inputs/alpha.png <<'EOF'
import math, struct, sys, zlib
w, h = 112, 84
rows = bytearray()
for y in range(h):
    rows.append(0)
    for x in range(w):
        d = math.hypot(x - w / 2, y - h / 2) / (h / 2)
        a = max(0, min(255, int(255 * (1.3 - d))))
        rows += bytes(((x * 255) // w, (y * 255) // h, (x * y) % 256, a))
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
EOF

# The first frames of vtest.avi (768x576 DivX 3, 10 fps), cut by rewriting the AVI: the header's frame
# counts, the movi list and the idx1 index (offsets kept: nothing before movi changes size).
cat >"$TMP/cut_avi.py" <<'EOF'
import struct, sys
src, dst, keep = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, "rb").read()
assert data[:4] == b"RIFF" and data[8:12] == b"AVI ", "not an AVI file"
out = bytearray(data[:12])
pos, movi_start, cutoff = 12, None, None
while pos + 8 <= len(data):
    cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
    end = pos + 8 + size + (size & 1)
    chunk = bytearray(data[pos:end])
    if cid == b"LIST" and chunk[8:12] == b"movi":
        movi_start = len(out) + 8                      # where the 'movi' fourcc is in the new file
        sub, frames, body = 12, 0, bytearray()
        while sub + 8 <= len(chunk) and frames < keep:
            sid, ssize = chunk[sub:sub + 4], struct.unpack("<I", chunk[sub + 4:sub + 8])[0]
            send = sub + 8 + ssize + (ssize & 1)
            body += chunk[sub:send]
            frames += sid[2:4] in (b"dc", b"db")
            sub = send
        assert frames == keep, "fewer frames than asked for"
        cutoff = sub                                   # offsets below this (from the LIST start) are kept
        chunk = bytearray(b"LIST" + struct.pack("<I", 4 + len(body)) + b"movi" + body)
    elif cid == b"idx1":
        entries = [bytes(chunk[8 + i:8 + i + 16]) for i in range(0, size, 16)]
        first = struct.unpack("<I", entries[0][8:12])[0]
        base = 4 if first < movi_start else movi_start + 4  # offsets from 'movi', or from the file start
        kept = [e for e in entries if struct.unpack("<I", e[8:12])[0] - base + 12 < cutoff]
        assert struct.unpack("<I", kept[0][4:8])[0] & 0x10, "the first frame is not a key frame"
        chunk = bytearray(b"idx1" + struct.pack("<I", 16 * len(kept)) + b"".join(kept))
    elif cid == b"LIST" and chunk[8:12] == b"hdrl":
        i = chunk.find(b"avih"); chunk[i + 24:i + 28] = struct.pack("<I", keep)   # dwTotalFrames
        i = chunk.find(b"strh"); chunk[i + 40:i + 44] = struct.pack("<I", keep)   # dwLength
        i = chunk.find(b"dmlh")
        if i >= 0: chunk[i + 8:i + 12] = struct.pack("<I", keep)
    out += chunk
    pos = end
out[4:8] = struct.pack("<I", len(out) - 8)
open(dst, "wb").write(out)
EOF
python3 "$TMP/cut_avi.py" "$VTEST" inputs/vtest4.avi 4
python3 "$TMP/cut_avi.py" "$VTEST" inputs/vtest2.avi 2

# Five photos for style training (prepared by data prepare, and as they are for the ResNet-50 run).
mkdir -p inputs/train_photos
# cp -p: data prepare's manifest records each source's size and modification time.
for name in amber golden_gate rocket chicago_640x480 stata; do cp -p "$PHOTOS/$name.jpg" inputs/train_photos/; done

# ---------------------------------------------------------------------------------------------------------
# Help texts
run 0 help-main --help
for command in stylize stylize-video train-style data "data prepare" "data stats" gan "gan train" "gan sample" \
    "gan walk" "gan eval" models "models list" "models fetch" "models import" serve; do
  # shellcheck disable=SC2086
  run 0 "help-${command// /-}" $command --help
done
run 0 version --version

# ---------------------------------------------------------------------------------------------------------
# Gatys: once per option family, 3..5 iterations at <= 128 px
mkdir -p gatys
G=(stylize -c "$PHOTO" -s "$PAINTING" --threads 1 --json)
run 0 gatys-defaults "${G[@]}" -n 5 --size 128 -o gatys/defaults.png
run 0 gatys-original-colors "${G[@]}" -n 4 --size 128 --original-colors -o gatys/original_colors.png
run 0 gatys-post "${G[@]}" -n 4 --size 128 --post hist:content --post unsharp:0.6 --post guided:4:0.01 \
  --post denoise:0.5 --post lab:style -o gatys/post.jpg --quality 90
run 0 gatys-style-blend stylize -c "$PHOTO" -s "$PAINTING" -s "$PAINTINGS/hokusai_great_wave.jpg" --threads 1 --json \
  -n 4 --size 128 --style-blend 0.7,0.3 -o gatys/blend.png
run 0 gatys-scales "${G[@]}" -n 3 --scales 64,128 -o gatys/scales.png
run 0 gatys-init-noise "${G[@]}" -n 4 --size 96 --init noise --seed 7 -o gatys/noise.png
run 0 gatys-init-file "${G[@]}" -n 3 --size 128 --init gatys/blend.png -o gatys/init_file.png
run 0 gatys-adam "${G[@]}" -n 5 --size 128 --optimizer adam --lr 0.03 -o gatys/adam.png
run 0 gatys-bf16 "${G[@]}" -n 4 --size 128 --precision bf16 -o gatys/bf16.png
run 0 gatys-pooling-avg "${G[@]}" -n 4 --size 128 --pooling avg -o gatys/avg.png
run 0 gatys-layers "${G[@]}" -n 4 --size 128 --content-layers relu2_2 --style-layers relu1_1,relu2_1,relu3_4 \
  -o gatys/layers.png
run 0 gatys-weights "${G[@]}" -n 4 --size 128 --tv-weight 0 --style-weight 5000 --content-weight 2 \
  --style-scale 0.5 -o gatys/weights.png
run 0 gatys-preprocess "${G[@]}" -n 3 --size 96 --preprocess torchvision -o gatys/torchvision.png
run 0 gatys-save-every "${G[@]}" -n 4 --size 96 --save-every 2 --checkpoint-every 2 -o gatys/snapshots.png
expect_file gatys/snapshots.png gatys/snapshots.iter0002.png gatys/snapshots.iter0004.png
[[ ! -e gatys/snapshots.png.checkpoint.safetensors ]] || fail "the Gatys checkpoint was left after a finished run"
run 0 gatys-alpha stylize -c inputs/alpha.png -s "$PAINTING" --threads 1 --json -n 4 --size 96 -o gatys/alpha.png
run 0 gatys-16bit-tiff "${G[@]}" -n 3 --size 96 --bit-depth 16 -o gatys/deep.tif
run 0 gatys-16bit-png "${G[@]}" -n 3 --size 96 --bit-depth 16 -o gatys/deep.png
run 0 gatys-webp "${G[@]}" -n 3 --size 96 --quality 80 -o gatys/out.webp
run 0 gatys-bmp-quiet "${G[@]}" -n 3 --size 64 -q -o gatys/out.bmp
run 0 gatys-text-progress stylize -c "$PHOTO" -s "$PAINTING" --threads 1 -n 3 --size 64 -o gatys/text.png
run 1 gatys-missing-layer "${G[@]}" -n 3 --size 64 --content-layers relu4_2 -o gatys/missing_layer.png
run 1 gatys-bad-post "${G[@]}" -n 3 --size 64 --post sharpen -o gatys/bad_post.png
run 1 gatys-no-content stylize -c inputs/nosuch.jpg -s "$PAINTING" --threads 1 -n 3 -o gatys/none.png
run 1 gatys-resume-nothing "${G[@]}" -n 3 --size 64 --resume -o gatys/resume.png
run 1 gatys-blend-count "${G[@]}" -n 3 --size 64 --style-blend 0.5,0.5 -o gatys/blend_count.png
run 1 gatys-max-pixels "${G[@]}" -n 3 --size 64 --max-pixels 1000 -o gatys/max_pixels.png
run 1 gatys-bad-extension "${G[@]}" -n 3 --size 64 -o gatys/out.gif
run 105 gatys-bad-option "${G[@]}" --optimizer sgd -o gatys/sgd.png

# ---------------------------------------------------------------------------------------------------------
# Fast styles
mkdir -p fast/batch fast/batch_bad
F=(--threads 1 --json)
run 0 fast-whole stylize --model candy "$SMALL_PHOTO" -o fast/candy.png "${F[@]}"
run 0 fast-strength stylize --model mosaic "$SMALL_PHOTO" -o fast/mosaic_0.6.png --strength 0.6 "${F[@]}"
run 0 fast-colors-post stylize --model engstrom/udnie "$SMALL_PHOTO" -o fast/udnie_colors.jpg --original-colors \
  --post hist:content --post unsharp --quality 90 "${F[@]}"
run 0 fast-tiled stylize --model candy "$SMALL_PHOTO" -o fast/candy_tiled.png --max-memory 500M "${F[@]}"
expect_in_log fast-tiled "px tiles"
run 0 fast-size-bf16 stylize --model engstrom/wave "$PHOTO" -o fast/wave_bf16.png --size 200 --precision bf16 "${F[@]}"
run 0 fast-pth stylize --model "$SHARED/models/fast-style/pytorch-examples/udnie.pth" "$SMALL_PHOTO" --size 160 \
  -o fast/udnie_pth.png "${F[@]}"
run 0 fast-alpha stylize --model pointilism inputs/alpha.png -o fast/alpha.png "${F[@]}"
run 0 fast-batch stylize --model engstrom/scream --out-dir fast/batch --size 160 "$PHOTOS/amber.jpg" \
  "$PHOTOS/golden_gate.jpg" "$PHOTOS/rocket.jpg" "${F[@]}"
expect_file fast/batch/amber.scream.png fast/batch/golden_gate.scream.png fast/batch/rocket.scream.png
run 0 fast-batch-again stylize --model engstrom/scream --out-dir fast/batch --size 160 "$PHOTOS/amber.jpg" \
  "$PHOTOS/golden_gate.jpg" "$PHOTOS/rocket.jpg" "${F[@]}"
expect_in_log fast-batch-again "3 skipped"
run 0 fast-batch-name stylize --model la_muse --out-dir fast/batch --size 128 --name '{name}-{model}.jpg' \
  --quality 90 --overwrite "$PHOTOS/amber.jpg" "$PHOTOS/rocket.jpg" "${F[@]}"
run 1 fast-batch-one-bad stylize --model la_muse --out-dir fast/batch_bad --size 64 "$PHOTOS/amber.jpg" \
  inputs/nosuch.jpg "${F[@]}"
run 1 fast-ambiguous stylize --model rain_princess "$SMALL_PHOTO" -o fast/ambiguous.png "${F[@]}"
run 1 fast-tiles-too-small stylize --model candy "$SMALL_PHOTO" -o fast/too_small.png --max-memory 150M "${F[@]}"

# ---------------------------------------------------------------------------------------------------------
# Models
mkdir -p models
run 0 models-list-json models --models-dir "$SHARED/models" list --json
run 0 models-list-text models list
run 0 models-import models import "$SHARED/models/fast-style/pytorch-examples/udnie.pth" -o models/udnie_half.safetensors --half
run 0 models-import-full models import "$SHARED/models/fast-style/pytorch-examples/udnie.pth" -o models/udnie.safetensors
run 0 fast-imported stylize --model models/udnie_half.safetensors "$SMALL_PHOTO" --size 128 -o fast/imported.png "${F[@]}"
run 1 models-import-bad models import "$PHOTO" -o models/bad.safetensors

# ---------------------------------------------------------------------------------------------------------
# Video: the first frames of vtest.avi (768x576)
mkdir -p video
run 0 video-mp4 stylize-video inputs/vtest4.avi -o video/candy.mp4 --model candy "${F[@]}"
run 0 video-avi-strength stylize-video inputs/vtest2.avi -o video/mosaic.avi --model mosaic --strength 0.5 "${F[@]}"
[[ ! -e video/candy.mp4.frames ]] || fail "the video work folder was left"
run 1 video-bad-container stylize-video inputs/vtest2.avi -o video/x.gif --model candy "${F[@]}"

# ---------------------------------------------------------------------------------------------------------
# Data, style training (VGG, resume, ResNet-50)
mkdir -p data train
run 0 data-prepare data prepare inputs/train_photos -o data/photos64 --size 64 --val 0.4 --json
run 0 data-prepare-again data prepare inputs/train_photos -o data/photos64 --size 64 --val 0.4 --json
run 0 data-stats data stats data/photos64 --json
run 0 data-stats-raw data stats inputs/train_photos --json
T=(train-style --style "$PAINTING" --data data/photos64 --batch-size 1 --image-size 64 --threads 1 --workers 1
  --preview-every 2 --checkpoint-every 2 --seed 3 --json)
run 0 train-vgg "${T[@]}" -o train/starry.safetensors --steps 3
expect_file train/starry.safetensors train/starry.safetensors.checkpoint.safetensors train/starry.safetensors.losses.csv \
  train/starry.safetensors.losses.png train/starry.safetensors.validation.csv train/starry.safetensors.validation.png \
  train/starry.safetensors.previews/step_000002.png
run 0 train-vgg-resume "${T[@]}" -o train/starry.safetensors --steps 4 --resume
run 1 train-vgg-resume-other "${T[@]}" -o train/starry.safetensors --steps 5 --resume --style-weight 5
run 0 train-vgg-bf16 "${T[@]}" -o train/starry_bf16.safetensors --steps 2 --precision bf16 --lr 0.005 --flip \
  --color-jitter 0.2 --crop random --tv-weight 1
run 0 train-resnet train-style --style "$PAINTINGS/the_scream.jpg" --data inputs/train_photos -o train/resnet.safetensors \
  --weights resnet50-caffe --image-size 32 --batch-size 2 --steps 1 --threads 1 --workers 1 --json
run 0 train-stylize stylize --model train/starry.safetensors "$SMALL_PHOTO" --size 128 -o train/painted.png "${F[@]}"

# ---------------------------------------------------------------------------------------------------------
# GAN: Fashion-MNIST (IDX) and a folder of paintings
mkdir -p gan
N=(--size 32 --batch-size 8 --latent 16 --g-width 8 --d-width 8 --threads 1 --checkpoint-every 1 --sample-every 1 --json)
run 0 gan-train-idx gan train --data "$FASHION" -o gan/fashion.safetensors --steps 2 --r1 0.1 "${N[@]}"
expect_file gan/fashion.safetensors gan/fashion.safetensors.checkpoint.safetensors gan/fashion.safetensors.losses.csv \
  gan/fashion.safetensors.losses.png gan/fashion.safetensors.samples/step_000002.png
run 0 gan-train-resume gan train --data "$FASHION" -o gan/fashion.safetensors --steps 3 --r1 0.1 --resume "${N[@]}"
run 0 gan-train-folder gan train --data "$PAINTINGS" -o gan/paintings.safetensors --steps 2 --flip --crop-area 0.2 \
  --loss nonsaturating --augment color,translation --precision bf16 "${N[@]}"
run 0 gan-sample-grid gan sample --model gan/fashion.safetensors -n 6 --seed 3 --columns 3 --grid gan/grid.png --threads 1 --json
run 0 gan-sample-dir gan sample --model gan/paintings.safetensors -n 3 --seed 5 --truncation 0.8 --out-dir gan/samples \
  --threads 1 --json
run 0 gan-walk-dir gan walk --model gan/fashion.safetensors --seeds 1,2,3 --frames 5 --out-dir gan/walk --threads 1 --json
run 0 gan-walk-video gan walk --model gan/paintings.safetensors --seeds 4,5 --frames 4 -o gan/walk.mp4 --video-size 64 \
  --fps 8 --threads 1 --json
run 0 gan-eval gan eval --model gan/fashion.safetensors --data "$FASHION" -n 16 --input-size 32 --blocks 2 --seed 1 \
  --threads 1 --json
run 1 gan-sample-nosuch gan sample --model gan/nosuch.safetensors -n 2 --grid gan/nosuch.png --threads 1

echo "commands done in $((SECONDS - STARTED)) s" >&2

# ---------------------------------------------------------------------------------------------------------
# Checksums of every file under OUT_DIR but this list itself (log.txt included), sorted by path.
# A few files name OUT_DIR's absolute path, which differs from run to run: data prepare's manifest.json
# ("source": the folder prepared) and train-style's weights and checkpoints (safetensors metadata
# "training" / "job": "data", the photo folder, which the tool makes absolute). Their sha256 is taken
# of the file with every occurrence of OUT_DIR's path replaced by the text "$OUT_DIR" (the same for
# any OUT_DIR); for safetensors, of the header's JSON without its length prefix and trailing padding
# (both follow the path's length), a newline, then the tensor bytes. The end of log.txt lists them;
# any other file that names OUT_DIR stops the script (it would need a look).
cat >"$TMP/checksums.py" <<'EOF'
import hashlib, os, sys
root = sys.argv[1]
out_dir = root.encode()
paths = []
for folder, _, files in os.walk(root):
    for name in files:
        path = os.path.relpath(os.path.join(folder, name), root)
        if path != "checksums.txt":
            paths.append(path)
paths.sort(key=os.fsencode)
def content(path):
    with open(os.path.join(root, path), "rb") as f:
        return f.read()
def normalized_content(path):
    data = content(path)
    if path.endswith(".safetensors") and len(data) >= 8:
        # The header's length (8 bytes) and its padding to 8 bytes follow the path's length: hash the
        # header's JSON without them, then the tensors.
        size = int.from_bytes(data[:8], "little")
        return data[8:8 + size].rstrip(b" ").replace(out_dir, b"$OUT_DIR") + b"\n" + data[8 + size:]
    return data.replace(out_dir, b"$OUT_DIR")
normalized = [path for path in paths if path != "log.txt" and out_dir in content(path)]
for path in normalized:  # this normalisation is only for files that name OUT_DIR
    assert path == "data/photos64/manifest.json" or path.endswith(".safetensors"), path + " names OUT_DIR"
with open(os.path.join(root, "log.txt"), "a") as log:
    log.write("=== files naming OUT_DIR, checksummed with it replaced by $OUT_DIR\n")
    log.writelines(path + "\n" for path in normalized)
with open(os.path.join(root, "checksums.txt.tmp"), "w") as out:
    for path in paths:
        data = normalized_content(path) if path in normalized else content(path)
        out.write(hashlib.sha256(data).hexdigest() + "  " + path + "\n")
os.replace(os.path.join(root, "checksums.txt.tmp"), os.path.join(root, "checksums.txt"))
EOF
python3 "$TMP/checksums.py" "$OUT"
echo "wrote $OUT/checksums.txt ($(wc -l <checksums.txt) files) and $LOG in $((SECONDS - STARTED)) s" >&2
