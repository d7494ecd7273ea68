#!/usr/bin/env bash
# The studio in headless Chromium: starts `atelier serve` and runs
# studio.test.mjs (playwright-core) against it. Real styles and VGG weights
# from ../shared when present, else tiny random ones. Screenshots go to
# docs/screenshots/ (or $ATELIER_SCREENSHOTS).
#   run_browser_test.sh ATELIER MAKE_STUDIO_FIXTURES
set -euo pipefail
atelier=$1 fixtures=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${ATELIER_SHARED_DIR:-$repo/../shared}
chromium=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$chromium" ] || { echo "SKIPPED: Debian's chromium is not installed (scripts/setup.sh installs it)"; exit 77; }
command -v node > /dev/null || { echo "SKIPPED: node is not installed"; exit 77; }
[ -d "$here/node_modules/playwright-core" ] ||
  { echo "SKIPPED: playwright-core is missing: run (cd tests/browser && npm ci)"; exit 77; }

# The server sees only the models given here (scripts/test.sh points ATELIER_MODELS at ../shared).
unset ATELIER_MODELS
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill -9 "$server_pid" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$fixtures" "$work"
models=$work/models photo=$work/photo.png painting=$work/painting.png
if [ -d "$shared/models/fast-style/pytorch-examples" ] && [ -f "$shared/models/vgg19-caffe-partial.safetensors" ] &&
   [ -f "$shared/images/content/tubingen.jpg" ] && [ -f "$shared/images/style/starry_night.jpg" ]; then
  echo "using the real styles, VGG19 and pictures in $shared"
  models=$work/shared-models
  mkdir -p "$models"
  for style in candy mosaic udnie rain_princess; do
    [ -f "$shared/models/fast-style/pytorch-examples/$style.safetensors" ] &&
      ln -s "$shared/models/fast-style/pytorch-examples/$style.safetensors" "$models/"
  done
  ln -s "$shared/models/vgg19-caffe-partial.safetensors" "$models/vgg19.safetensors"
  photo=$shared/images/content/tubingen.jpg painting=$shared/images/style/starry_night.jpg
else
  echo "NOTE: ../shared is absent: tiny random models (the screenshots will show noise, the test is the same)"
fi
precision=fp32
grep -q -E 'amx_bf16|avx512_bf16' /proc/cpuinfo && precision=bf16

"$atelier" serve --port 0 --data-dir "$work/data" --models-dir "$models" --precision $precision \
  > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/server.out" && break; sleep 0.1; done
url=$(sed -n 's|.*listening on \(http://[^ ]*\) .*|\1|p' "$work/server.out")
[ -n "$url" ] || { echo "not ok - the server did not start"; cat "$work/server.err"; exit 1; }

screenshots=${ATELIER_SCREENSHOTS:-$repo/docs/screenshots}
status=0
CHROMIUM=$chromium node "$here/studio.test.mjs" --url "$url" --photo "$photo" --painting "$painting" \
  --screenshots "$screenshots" || status=$?
[ $status = 0 ] || { echo "--- server log"; cat "$work/server.err"; }
exit $status
