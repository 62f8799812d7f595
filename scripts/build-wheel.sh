#!/usr/bin/env bash
# Builds a wheel of the Python package (python/) that ships the runtime
# library inside it (fd/_lib/libfd_runtime.so.1, found before the system's:
# docs/runtime.md, "The shared library and Python"), offline, with Debian's
# pip, setuptools and wheel (no package index: --no-build-isolation).
# The package is staged in a temporary directory, so the source tree gets no
# build/ or egg-info.
# Usage: scripts/build-wheel.sh [BUILD_DIR (default build)] [OUT_DIR (default dist)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-dist}
lib=$build/lib/libfd_runtime.so.1
if [ ! -e "$lib" ]; then
  echo "build-wheel: $lib not found (build the fd_runtime_shared target first)" >&2
  exit 1
fi
python=${FD_PYTHON:-/usr/bin/python3}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp python/pyproject.toml "$stage/"
cp -r python/fd "$stage/fd"
find "$stage/fd" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$stage/fd/_lib"
cp -L "$lib" "$stage/fd/_lib/libfd_runtime.so.1"
"$python" -m pip wheel --no-build-isolation --no-deps --no-index -q \
  "$stage" -w "$stage/wheel"
# setuptools tags a package without extension modules py3-none-any; this one
# holds a native library, so it is retagged for this platform (and not pure).
platform=$("$python" -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))')
"$python" -m wheel unpack -d "$stage/unpacked" "$stage"/wheel/fd-*.whl >/dev/null
info=$(echo "$stage"/unpacked/fd-*/fd-*.dist-info)
sed -i -e "s/^Root-Is-Purelib: true/Root-Is-Purelib: false/" \
  -e "s/^Tag: py3-none-any/Tag: py3-none-$platform/" "$info/WHEEL"
mkdir -p "$out"
"$python" -m wheel pack -d "$out" "$stage"/unpacked/fd-* >/dev/null
ls "$out"/fd-*-py3-none-"$platform".whl
