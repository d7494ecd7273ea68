#!/usr/bin/env bash
# The layers stay apart (docs/ARCHITECTURE.md):
#  - a program that paints with the library (examples/paint.cpp) needs no
#    HTTP, TLS or SQLite library;
#  - no file of the command-line layer (or of src/video, src/export, the Python module) includes a torch header (the CLI's
#    compile lines carry no torch include directory, so this is a check of
#    the sources themselves).
# Usage: check_layers.sh PAINT_EXAMPLE REPO_ROOT
set -euo pipefail
example=$1 root=$2
needed=$(readelf -d "$example" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "paint_example needs: $(echo $needed)"
if echo "$needed" | grep -E -i 'httplib|libssl|libcrypto|sqlite'; then
  echo "FAIL: the example links HTTP, TLS or SQLite" >&2
  exit 1
fi
if grep -E -l '#include *[<"](torch|ATen|c10)/' "$root"/cli/*.cpp "$root"/cli/*.hpp "$root"/src/studio/*.cpp "$root"/src/video/*.cpp "$root"/src/export/*.[ch]pp "$root"/python/*.[ch]pp "$root"/examples/*.cpp; then
  echo "FAIL: these front-end files include torch" >&2
  exit 1
fi
echo "layers: ok"
