#!/usr/bin/env bash
# The studio in headless Chromium: starts `atelier serve` and runs
# studio.test.mjs (playwright-core) against it. Real styles and VGG weights
# (and Magenta's networks) from ../shared when present, else tiny random ones. Screenshots go to
# the scratch folder, so a test run leaves the tree clean; refresh the docs'
# with ATELIER_SCREENSHOTS=docs/screenshots.
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

source "$here/../studio_server.sh"
studio_scratch
"$fixtures" "$work"
models=$work/models photo=$work/photo.png painting=$work/painting.png
if [ -d "$shared/models/fast-style/pytorch-examples" ] && [ -f "$shared/models/vgg19-caffe-partial.safetensors" ] &&
   [ -f "$shared/images/content/tubingen.jpg" ] && [ -f "$shared/images/style/starry_night.jpg" ]; then
  echo "using the real styles, VGG19 and pictures in $shared"
  models=$work/shared-models
  mkdir -p "$models"
  # All 14 shared styles, by family (file links: the model store does not follow linked folders).
  for family in "$shared"/models/fast-style/*/; do
    mkdir -p "$models/fast-style/$(basename "$family")"
    ln -s "$family"*.safetensors "$models/fast-style/$(basename "$family")/"
  done
  ln -s "$shared/models/vgg19-caffe-partial.safetensors" "$models/vgg19.safetensors"
  if [ -f "$shared/models/magenta-arbitrary/style_predict.safetensors" ]; then
    ln -s "$shared/models/magenta-arbitrary" "$models/magenta-arbitrary"
  else
    echo "NOTE: no Magenta weights in $shared: the random ones stand in"
    ln -s "$work/models/magenta-arbitrary" "$models/magenta-arbitrary"
  fi
  photo=$shared/images/content/tubingen.jpg painting=$shared/images/style/starry_night.jpg
else
  echo "NOTE: ../shared is absent: tiny random models (the screenshots will show noise, the test is the same)"
fi
precision=fp32
grep -q -E 'amx_bf16|avx512_bf16' /proc/cpuinfo && precision=bf16

start_studio "$atelier" --models-dir "$models" --precision $precision

screenshots=${ATELIER_SCREENSHOTS:-$work/screenshots}
status=0
CHROMIUM=$chromium node "$here/studio.test.mjs" --url "$url" --photo "$photo" --painting "$painting" \
  --screenshots "$screenshots" || status=$?
[ $status = 0 ] || { echo "--- server log"; cat "$work/server.err"; }
exit $status
