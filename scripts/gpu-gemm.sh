#!/usr/bin/env bash
# On the GPU host (no LLVM): builds the runtime side, checks the flat GEMM
# variants of bundles compiled on the build machine against the fp64
# reference, benchmarks them (L2 emptied by reading, and by a memset for
# comparison), runs the cuBLAS peer and tunes a dispatch table.
#   scripts/gpu-gemm.sh OUTDIR MAIN_BUNDLE [ALT_BUNDLE ...]
set -u
out=$1
bundle=$2
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv > "$out/device.txt" 2>&1
timeout 120 bash -c 'cmake -G Ninja -S . -B build-dev -DCMAKE_BUILD_TYPE=Release \
  -DFD_ENABLE_COMPILER=OFF > /dev/null && ninja -C build-dev fd-tune fd-runtime-unittest' \
  > "$out/build.log" 2>&1 || { echo "BUILD FAILED"; tail -30 "$out/build.log"; exit 1; }
timeout 20 build-dev/bin/fd-runtime-unittest | tail -1
t0=$SECONDS
timeout 40 build-dev/bin/fd-tune "$bundle" --check > "$out/check.log" 2>&1; echo "check main rc=$? $((SECONDS-t0))s"; tail -1 "$out/check.log"
for alt in "${@:3}"; do
  timeout 15 build-dev/bin/fd-tune "$alt" --check --entry o_f16 2>&1 | sed "s|^|$(basename $alt) |"
  timeout 15 build-dev/bin/fd-tune "$alt" --check --entry down_bf16 2>&1 | sed "s|^|$(basename $alt) |"
done > "$out/check-alt.log" 2>&1
grep -c PASSED "$out/check-alt.log"; grep -E "FAIL|rror" "$out/check-alt.log" | head -5
t0=$SECONDS
timeout 40 build-dev/bin/fd-tune "$bundle" --bench --json "$out/bench.json" > "$out/bench.log" 2>&1; echo "bench rc=$? $((SECONDS-t0))s"
timeout 25 build-dev/bin/fd-tune "$bundle" --bench --flush write --m 1,8,16 --reps 20 > "$out/bench-memset.log" 2>&1; echo "bench memset rc=$?"
for alt in "${@:3}"; do
  timeout 20 build-dev/bin/fd-tune "$alt" --bench --m 1,2,4,8,16,32,64 --reps 15 2>&1 | sed "s|^|$(basename $alt) |"
done > "$out/ab.log" 2>&1
echo "ab rc=$?"
timeout 35 python3 scripts/gemm_cublas_bench.py --json "$out/cublas.json" > "$out/cublas.log" 2>&1; echo "cublas rc=$?"
timeout 20 python3 scripts/gemm_cublas_bench.py --flush write --m 1,8,16 --reps 20 > "$out/cublas-memset.log" 2>&1; echo "cublas memset rc=$?"
timeout 20 build-dev/bin/fd-tune "$bundle" -o "$out/dispatch.txt" --max-m 128 --reps 5 --entry o_f16 > "$out/tune.log" 2>&1; echo "tune rc=$?"
cat "$out/dispatch.txt" 2>/dev/null
grep -E "^ +(1|8|16) " "$out/bench.log" | head -30
