#!/usr/bin/env bash
# Build-machine half of the GPU work (the GPU host has no LLVM): compiles the
# bundles that scripts/gpu-check.sh runs into build-gpu/ (ignored by git):
#   suite.fdb    the GPU suite's entries: (Hq,Hkv) x D x dtype, online softmax
#   suite-umax.fdb  the same entries with unified max (phi 0, threshold 60)
#   suite-paged.fdb the paged matrix (pages of 1, 16, 64, 128, 256; strided
#                q/out; lse), suite-paged-umax.fdb its D = 128 entries at
#                pages 1 and 16 with unified max
#   paged-bench.fdb fd-bench --cases paged's entries (32/32 and 32/8, D 128,
#                pages of 16 and 1, contiguous q/out, no lse)
#   llama.fdb    the README example (fd-bench's entries), default options
#   llama-umax.fdb  the example with unified max (two_kernel, single_launch)
#   llama-cc.fdb the example with GQA on CUDA cores (mma-min-group=0), for
#                fd-bench to compare with the tensor-core kernels
#   spec/        speculative-first-tile=1 (off by default until a GPU has run
#                it): the suite, its unified-max D = 128 entries and the
#                example (llama-spec.fdb), for gpu-check.sh's spec step
#   bench-gqa.fdb, bench-gqa-cc.fdb  fd-bench --cases gqa's entries (groups
#                2, 4-8 over 8 KV heads, D 128 and 256), tensor / CUDA cores
#   variants/    the example compiled with other block sizes / unrolls / CTAs
#                per SM, for fd-bench to compare side by side
#   gemm.fdb     LLaMA-2-7B's four flat GEMMs (scripts/gpu-gemm.sh, fd-tune)
#   merge-states.fdb  fd-merge-states-gputest's merge_states entries
#   sharded.fdb  fd-sharded-gputest's and fd-bench --sharded's entries
#                (context-parallel decode, test/Runtime/Inputs/sharded_decode.mlir)
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
python3 test/GPU/gen-suite-mlir.py --unified-max=0,60 > "$out/suite-umax.mlir"
compile "$out/suite-umax.mlir" -o "$out/suite-umax.fdb"
python3 test/GPU/gen-suite-mlir.py --paged=1,16,64,128,256 > "$out/suite-paged.mlir"
compile "$out/suite-paged.mlir" -o "$out/suite-paged.fdb"
python3 test/GPU/gen-suite-mlir.py --paged=1,16 --unified-max=0,60 _d128_ \
  > "$out/suite-paged-umax.mlir"
compile "$out/suite-paged-umax.mlir" -o "$out/suite-paged-umax.fdb"
python3 test/GPU/gen-suite-mlir.py --paged=16,1 --bench-form \
  --heads=32:32,32:8 --dims=128 > "$out/paged-bench.mlir"
compile "$out/paged-bench.mlir" -o "$out/paged-bench.fdb"
compile examples/llama_decode.mlir -o "$out/llama.fdb"
compile test/Runtime/Inputs/unified_max.mlir -o "$out/unified-max-test.fdb"
compile test/Runtime/Inputs/merge_states.mlir -o "$out/merge-states.fdb"
compile test/Runtime/Inputs/sharded_decode.mlir -o "$out/sharded.fdb"
compile examples/llama2_7b_gemm.mlir -o "$out/gemm.fdb"
compile examples/llama_decode.mlir -o "$out/llama-umax.fdb" \
  --options="unified-max-phi=0 unified-max-threshold=60"
compile examples/llama_decode.mlir -o "$out/llama-cc.fdb" \
  --options="mma-min-group=0"
mkdir -p "$out/spec"
spec="speculative-first-tile=1"
compile "$out/suite.mlir" -o "$out/spec/suite.fdb" --options="$spec"
python3 test/GPU/gen-suite-mlir.py --unified-max=0,60 _d128_ \
  > "$out/spec/suite-umax.mlir"
compile "$out/spec/suite-umax.mlir" -o "$out/spec/suite-umax.fdb" \
  --options="$spec unified-max-phi=0 unified-max-threshold=60"
compile examples/llama_decode.mlir -o "$out/spec/llama-spec.fdb" \
  --options="$spec"
python3 test/GPU/gen-suite-mlir.py --heads=16:8,32:8,40:8,48:8,56:8,64:8 \
  --dims=128,256 \
  > "$out/bench-gqa.mlir"
compile "$out/bench-gqa.mlir" -o "$out/bench-gqa.fdb"
compile "$out/bench-gqa.mlir" -o "$out/bench-gqa-cc.fdb" \
  --options="mma-min-group=0"
if [ "${1:-}" != "--no-variants" ]; then
  rm -f "$out"/variants/*.fdb
  for v in "128 2 2" "128 4 2" "128 8 2" "256 4 2"; do
    set -- $v
    compile examples/llama_decode.mlir -o "$out/variants/b$1-u$2-c$3.fdb" \
      --options="block-size=$1 unroll=$2 ctas-per-sm=$3"
  done
  for s in 2 3 4 6; do
    compile examples/llama_decode.mlir -o "$out/variants/mma-s$s.fdb" \
      --options="mma-stages=$s"
  done
  for s in 4 6; do # D = 256 fits 3 stages at most
    compile "$out/bench-gqa.mlir" -o "$out/variants/bench-gqa-s$s.fdb" \
      --options="mma-stages=$s"
  done
fi
{ git rev-parse --short HEAD; git diff --quiet HEAD || echo "+uncommitted"; } |
  paste -sd' ' > "$out/commit.txt"
echo "gpu-bundles: wrote $out (commit $(cat "$out/commit.txt"))"
