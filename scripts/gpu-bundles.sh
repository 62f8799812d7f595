#!/usr/bin/env bash
# Build-machine half of the GPU work (the GPU host has no LLVM): compiles the
# bundles that scripts/gpu-check.sh runs into build-gpu/ (ignored by git):
#   suite.fdb    the GPU suite's entries: (Hq,Hkv) x D x dtype, online softmax
#   llama.fdb    the README example (fd-bench's entries), default options
#   variants/    the example compiled with other block sizes / unrolls / CTAs
#                per SM, for fd-bench to compare side by side
#   commit.txt   the commit the bundles were compiled from
# Usage: scripts/gpu-bundles.sh [--no-variants]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FD_BUILD_DIR:-build}
out=build-gpu
ninja -C "$build" fd-compile >/dev/null
mkdir -p "$out/variants"
compile() { "$build/bin/fd-compile" "$@"; }
python3 test/GPU/gen-suite-mlir.py > "$out/suite.mlir"
compile "$out/suite.mlir" -o "$out/suite.fdb"
compile examples/llama_decode.mlir -o "$out/llama.fdb"
if [ "${1:-}" != "--no-variants" ]; then
  rm -f "$out"/variants/*.fdb
  for v in "128 2 2" "128 4 2" "128 8 2" "256 4 2"; do
    set -- $v
    compile examples/llama_decode.mlir -o "$out/variants/b$1-u$2-c$3.fdb" \
      --options="block-size=$1 unroll=$2 ctas-per-sm=$3"
  done
fi
{ git rev-parse --short HEAD; git diff --quiet HEAD || echo "+uncommitted"; } |
  paste -sd' ' > "$out/commit.txt"
echo "gpu-bundles: wrote $out (commit $(cat "$out/commit.txt"))"
