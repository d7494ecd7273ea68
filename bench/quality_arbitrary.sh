#!/usr/bin/env bash
# Issue 14's quality check of arbitrary styles, measured independently of
# the networks: every shared photo (11) painted like every shared painting
# (8) at 512 px by Magenta (and by a trained AdaIN decoder when ADAIN_DECODER
# names one), then bench/style_quality.py compares VGG Gram matrices
# (relu1_1, relu2_1, relu3_1: the output's must be closer to the painting's
# than the photo's are) and the relu3_2 content correlation (>= 0.3).
# With SHEET=1 it also paints a few pairs by Gatys and writes the contact
# sheet docs/images/arbitrary-contact-sheet.jpg (Gatys at GATYS_ITERATIONS, default 200,
# L-BFGS iterations: minutes each).
#
#   bench/quality_arbitrary.sh [build-dir] [work-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=${2:-$(mktemp -d)}
shared=../shared
python=/usr/bin/python3
atelier="$build/atelier"
for needed in "$shared/images/content" "$shared/images/style" "$shared/models/magenta-arbitrary" \
              "$shared/models/vgg19-caffe-partial.safetensors"; do
  [ -e "$needed" ] || { echo "SKIPPED: $needed absent (this check needs the real data in ../shared)"; exit 0; }
done
export ATELIER_MODELS="$shared/models${ATELIER_MODELS:+:$ATELIER_MODELS}"
mkdir -p "$work/photos" "$work/paintings" "$work/magenta" "$work/adain" "$work/gatys"

# Photos and paintings at 512 px (longest side), so that the outputs, the
# photos and the paintings are measured at the size they were painted at.
"$python" - "$shared/images" "$work" <<'PY'
import sys
from pathlib import Path
from PIL import Image
images, work = Path(sys.argv[1]), Path(sys.argv[2])
for folder, target in (("content", "photos"), ("style", "paintings")):
    for path in sorted((images / folder).iterdir()):
        image = Image.open(path).convert("RGB")
        scale = 512 / max(image.size)
        image.resize((round(image.width * scale), round(image.height * scale)), Image.BOX).save(
            work / target / (path.stem + ".png"))
PY

started=$(date +%s)
for painting in "$work"/paintings/*.png; do
  name=$(basename "$painting" .png)
  "$atelier" stylize --method magenta -s "$painting" --out-dir "$work/magenta" --name "{name}__$name.png" \
    --quiet "$work"/photos/*.png
  if [ -n "${ADAIN_DECODER:-}" ]; then
    "$atelier" stylize --method adain -s "$painting" --adain-encoder vgg19 --adain-decoder "$ADAIN_DECODER" --out-dir "$work/adain" \
      --name "{name}__$name.png" --quiet "$work"/photos/*.png
  fi
done
echo "painted $(ls "$work/magenta" | wc -l) pairs by Magenta in $(( $(date +%s) - started )) s" >&2

"$python" - "$work" > "$work/pairs.json" <<'PY'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
pairs = []
for method in ("magenta", "adain"):
    for output in sorted((work / method).glob("*.png")):
        photo, painting = output.stem.split("__")
        pairs.append({"method": method, "photo": str(work / "photos" / (photo + ".png")),
                      "painting": str(work / "paintings" / (painting + ".png")), "output": str(output)})
print(json.dumps(pairs))
PY
"$python" bench/style_quality.py --manifest "$work/pairs.json" > "$work/metrics.json"
"$python" - "$work/metrics.json" <<'PY'
import json, sys
metrics = json.load(open(sys.argv[1]))
for method, total in metrics["total"].items():
    rows = [r for r in metrics["rows"] if r["method"] == method]
    worst = min(r["content_correlation"] for r in rows)
    ratios = [r[f"{layer}_output"] / r[f"{layer}_photo"] for r in rows for layer in ("relu1_1", "relu2_1", "relu3_1")]
    print(f"{method}: {metrics['passed'][method]}/{total} pairs pass; Gram distance output/photo: "
          f"median {sorted(ratios)[len(ratios) // 2]:.3f}, worst {max(ratios):.3f}; "
          f"relu3_2 correlation: lowest {worst:.3f}")
    for r in rows:
        if not r["passes"]:
            print("  FAILS:", r["photo"].rsplit("/", 1)[-1], "x", r["painting"].rsplit("/", 1)[-1],
                  "style closer" if r["style_closer"] else "style NOT closer", f"corr {r['content_correlation']:.3f}")
PY
echo "metrics: $work/metrics.json" >&2

# The contact sheet: a few pairs by every method at hand (Gatys takes minutes each).
if [ "${SHEET:-0}" = 1 ]; then
  rows=()
  for pair in "tubingen starry_night" "chicago hokusai_great_wave" "golden_gate klimt_the_kiss" "stata the_scream"; do
    set -- $pair
    gatys="$work/gatys/$1__$2.png"
    [ -f "$gatys" ] || "$atelier" stylize --method gatys -c "$work/photos/$1.png" -s "$work/paintings/$2.png" \
      -o "$gatys" --size 512 -n "${GATYS_ITERATIONS:-200}" --quiet
    rows+=(--row "$work/photos/$1.png,$work/paintings/$2.png,$work/magenta/$1__$2.png,$work/adain/$1__$2.png,$gatys")
  done
  mkdir -p docs/images
  "$python" bench/contact_sheet.py -o docs/images/arbitrary-contact-sheet.jpg --height 180 \
    --columns "photo,painting,Magenta (one pass),AdaIN trained here (one pass),Gatys (optimisation)" "${rows[@]}"
  echo "wrote docs/images/arbitrary-contact-sheet.jpg" >&2
fi
