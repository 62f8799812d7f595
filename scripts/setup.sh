#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine needs to build and test fd, then
# configures the build in ./build (or $FD_BUILD_DIR). Idempotent: packages
# already present are not reinstalled and an existing build is reconfigured.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools ninja-build cmake
      g++ python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Without their recommends (scipy, sympy, boost, a C toolchain for pip:
# nothing used here): scripts/perf-report.py's plots (python3-matplotlib)
# and scripts/build-wheel.sh (pip, setuptools, wheel), whose lit tests run
# them.
lean=(python3-matplotlib python3-pip python3-setuptools python3-wheel)
missing=()
for p in "${lean[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${FD_BUILD_DIR:-build}
# Assertions stay on in fd's own code (FD_ENABLE_ASSERTIONS), so that the
# lit suite, which runs this build, fires them (issue 16).
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DFD_ENABLE_ASSERTIONS=ON \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
echo "setup: configured $build"
