#!/usr/bin/env bash
# The .deb works from a scratch root, as issue 17 asks: cpack makes it from
# the built tree (nothing rebuilt), `dpkg -x` unpacks it (no real install),
# then from there: `atelier --version` says the project's version, the man
# pages and completion follow the flags (check_cli_docs.sh), and examples/
# configured against the unpacked package with find_package(Atelier) builds
# with no torch header or library on its command lines and paints: ../shared's
# candy and VGG19 on a small photo, or random networks
# (make_studio_fixtures) when ../shared is absent.
# Usage: package_install_test.sh BUILD_DIR SOURCE_DIR VERSION SHARED_DIR MAKE_STUDIO_FIXTURES
set -euo pipefail
build=$1 source=$2 version=$3 shared=$4 fixtures_tool=$5
# scripts/setup.sh installs these; without one the test cannot run (77: skipped).
for tool in cpack dpkg-deb dpkg-shlibdeps man ninja readelf python3; do
  command -v "$tool" > /dev/null || { echo "SKIPPED: $tool is not installed (scripts/setup.sh installs it)"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
started=$SECONDS
step() { echo "[$((SECONDS - started)) s] $*"; }

step "cpack -G DEB"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" > "$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/pkg/atelier_*.deb)
step "$(basename "$deb"): $(du -h "$deb" | cut -f1)"
dpkg-deb --field "$deb" Package Version Depends | sed 's/^/  /'
[ "$(dpkg-deb --field "$deb" Version)" = "$version" ] || fail "the package's version is not $version"
dpkg-deb --field "$deb" Depends | grep -q 'libtorch' || fail "Depends lacks libtorch (dpkg-shlibdeps)"
dpkg -x "$deb" "$work/root"
usr=$work/root/usr

step "contents"
for file in bin/atelier include/atelier/atelier.hpp include/atelier/version.hpp lib/cmake/Atelier/AtelierConfig.cmake \
  share/man/man1/atelier.1.gz share/man/man1/atelier-stylize.1.gz share/bash-completion/completions/atelier; do
  [ -e "$usr/$file" ] || fail "the package has no /usr/$file"
done
ls "$usr"/lib/libatelier.so* > /dev/null || fail "the package has no libatelier.so"
if grep -rlE '#include *[<"](torch|ATen|c10)/' "$usr/include"; then fail "installed headers include torch"; fi
for header in studio.hpp studio_server.hpp fetch.hpp; do
  [ ! -e "$usr/include/atelier/$header" ] || fail "$header is installed, but its code is not in libatelier"
done
# The library exports the painting API and needs no HTTP, TLS or SQLite.
needed=$(readelf -d "$usr"/lib/libatelier.so | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "  libatelier.so needs: $needed"
if grep -qiE 'httplib|libssl|libcrypto|sqlite' <<< "$needed"; then fail "libatelier.so links HTTP, TLS or SQLite"; fi

step "atelier --version"
[ "$("$usr/bin/atelier" --version)" = "atelier $version" ] || fail "--version: $("$usr/bin/atelier" --version)"

step "man atelier-stylize"
MAN_DISABLE_SECCOMP=1 MANPAGER=cat MANPATH="$usr/share/man" man atelier-stylize 2> /dev/null |
  grep -q -- '--style' || fail "man atelier-stylize does not render from MANPATH"
bash "$(dirname "$0")/check_cli_docs.sh" "$usr/bin/atelier" "$usr/share/man/man1" \
  "$usr/share/bash-completion/completions/atelier"

step "examples/ against the package"
cmake -S "$source/examples" -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$usr" \
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "examples/ does not configure against the package"; }
grep -q "^Atelier_DIR:PATH=$usr/lib/cmake/Atelier$" "$work/example/CMakeCache.txt" ||
  fail "find_package(Atelier) did not find the unpacked package: $(grep ^Atelier_DIR "$work/example/CMakeCache.txt")"
cmake --build "$work/example" > "$work/build.log" 2>&1 || { cat "$work/build.log"; fail "examples/ does not build"; }
# Torch is private to libatelier: neither its headers nor its libraries are
# on the example's compile and link lines.
if ninja -C "$work/example" -t commands paint_example | grep -iE 'torch|libc10'; then
  fail "the example's command lines name torch"
fi

step "paint_example"
example=$work/example/paint_example
"$example" > "$work/usage.txt" 2>&1 && fail "paint_example without arguments succeeded"
grep -q "libatelier $version" "$work/usage.txt" || fail "usage does not name libatelier $version: $(cat "$work/usage.txt")"
if [ -f "$shared/models/fast-style/pytorch-examples/candy.safetensors" ]; then
  echo "  with ../shared: candy and the VGG19 on tubingen.jpg"
  photo=$shared/images/content/tubingen.jpg style=$shared/images/style/starry_night.jpg
  fast=$shared/models/fast-style/pytorch-examples/candy.safetensors vgg=$shared/models/vgg19-caffe-partial.safetensors
else
  echo "  ../shared is absent: random networks from make_studio_fixtures"
  "$fixtures_tool" "$work/fixtures"
  photo=$work/fixtures/photo.png style=$work/fixtures/painting.png
  fast=$work/fixtures/models/candy.safetensors vgg=$work/fixtures/models/vgg19.safetensors
fi
mkdir "$work/out"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$example" "$photo" "$style" "$fast" "$vgg" "$work/out" 128 > "$work/paint.log" 2>&1 ||
  { cat "$work/paint.log"; fail "paint_example failed"; }
# Both pictures at the asked size (a PNG's IHDR), different, and the loss fell.
python3 - "$work/out" "$work/paint.log" << 'EOF' || fail "paint_example's pictures or losses are wrong"
import struct, sys
out, log = sys.argv[1], sys.argv[2]
pictures = {}
for name in ("fast.png", "gatys.png"):
    data = open(f"{out}/{name}", "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", name
    width, height = struct.unpack(">II", data[16:24])
    assert max(width, height) == 128, (name, width, height)
    pictures[name] = data
assert pictures["fast.png"] != pictures["gatys.png"]
losses = [float(line.split()[3]) for line in open(log) if line.startswith("iteration ")]
assert len(losses) >= 2 and losses[-1] < 0.9 * losses[0], losses
print(f"  fast.png and gatys.png {width}x{height}; Gatys loss {losses[0]:.4g} -> {losses[-1]:.4g}")
EOF
step "package: ok"
