#!/usr/bin/env bash
# The sheet of masks and regions in docs/images/regions-sheet.jpg (issue 15, item 1): golden_gate
# painted by Gatys (Great Wave left, Scream right, a grey mask), by two trained networks and the photo
# in colour regions, and by Magenta on the sky only (a soft grey mask). Needs ../shared and
# python3-pil; a few minutes on 2 cores (the Gatys run).
#   bench/regions_sheet.sh [build-dir]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
shared=$repo/../shared
[ -d "$shared/images" ] || { echo "SKIPPED: $shared/images is absent (real data needed)"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
/usr/bin/python3 - "$shared/images/content/golden_gate.jpg" <<'PY'
import sys
from PIL import Image, ImageDraw
im = Image.open(sys.argv[1]).convert('RGB'); im.thumbnail((512, 512)); im.save('photo.png')
w, h = im.size
grey = Image.new('RGB', (w, h), 'black'); ImageDraw.Draw(grey).rectangle([0, 0, w // 2, h], fill='white'); grey.save('halves.png')
col = Image.new('RGB', (w, h), (0, 0, 255)); d = ImageDraw.Draw(col)
d.rectangle([0, 0, w // 3, h], fill=(255, 0, 0)); d.rectangle([w // 3, 0, 2 * w // 3, h], fill=(0, 255, 0)); col.save('thirds.png')
sky = Image.new('L', (w, h)); sky.putdata([max(0, min(255, int(255 * (1 - 2.2 * (y / h))))) for y in range(h) for x in range(w)])
sky.convert('RGB').save('sky.png')
PY
atelier() { ATELIER_MODELS="$shared/models" "$build/atelier" "$@"; }
style=$shared/images/style
atelier stylize -c photo.png -s "$style/hokusai_great_wave.jpg" -s "$style/the_scream.jpg" --mask halves.png \
  --method gatys --weights vgg19 --size 256 -n 150 -o gatys.png -q
atelier stylize -c photo.png --mask thirds.png --region '#ff0000=fast-style/pytorch-examples/candy' \
  --region '#00ff00=fast-style/pytorch-examples/udnie' -o fast.png -q
atelier stylize -c photo.png -s "$style/starry_night.jpg" --mask sky.png -o magenta.png -q
/usr/bin/python3 - "$repo/docs/images/regions-sheet.jpg" <<'PY'
import sys
from PIL import Image, ImageDraw
rows = [('halves.png', 'gatys.png', 'Gatys: Great Wave | Scream'), ('thirds.png', 'fast.png', 'candy | udnie | photo'),
        ('sky.png', 'magenta.png', 'Magenta: Starry Night, sky only')]
cell = 256
photo = Image.open('photo.png')
height = cell * photo.height // photo.width
sheet = Image.new('RGB', (3 * cell, len(rows) * (height + 20)), 'white')
for r, (mask, out, label) in enumerate(rows):
    y = r * (height + 20)
    for c, name in enumerate(['photo.png', mask, out]):
        sheet.paste(Image.open(name).convert('RGB').resize((cell, height)), (c * cell, y))
    ImageDraw.Draw(sheet).text((4, y + height + 4), label, fill='black')
sheet.save(sys.argv[1], quality=90)
print('wrote', sys.argv[1])
PY
