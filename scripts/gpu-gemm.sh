#!/usr/bin/env bash
# On the GPU host (no LLVM): builds the runtime side, checks every flat GEMM
# variant of a bundle compiled on the build machine against the fp64
# reference, benchmarks it, tunes the dispatch table and runs the cuBLAS peer.
#   scripts/gpu-gemm.sh BUNDLE OUTDIR [ALT_BUNDLE ...]
set -u
bundle=$1
out=$2
mkdir -p "$out"
(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv
 git log -1 --format=%H 2>/dev/null) > "$out/device.txt" 2>&1
timeout 150 bash -c 'cmake -G Ninja -S . -B build-dev -DCMAKE_BUILD_TYPE=Release \
  -DFD_ENABLE_COMPILER=OFF > /dev/null && ninja -C build-dev fd-tune fd-runtime-unittest' \
  > "$out/build.log" 2>&1 || { echo "BUILD FAILED"; tail -30 "$out/build.log"; exit 1; }
timeout 20 build-dev/bin/fd-runtime-unittest | tail -1
timeout 90 build-dev/bin/fd-tune "$bundle" --check 2>&1 | tee "$out/check.log" | grep -v "^check" | tail -20
grep "^check" "$out/check.log" | awk '{print $2, $3, $6, $NF}' | sort -k4 -g | tail -3
timeout 100 build-dev/bin/fd-tune "$bundle" --bench --json "$out/bench.json" > "$out/bench.log" 2>&1
echo "bench rc=$?"
timeout 60 python3 scripts/gemm_cublas_bench.py --json "$out/cublas.json" > "$out/cublas.log" 2>&1
echo "cublas rc=$?"
# A/B of tiling options: bundles compiled with other --options.
for alt in "${@:3}"; do
  timeout 25 build-dev/bin/fd-tune "$alt" --bench --m 1,2,4,8,16,32 --reps 20 2>&1 | sed "s|^|$(basename $alt) |"
done > "$out/ab.log" 2>&1
echo "ab rc=$?"
timeout 60 build-dev/bin/fd-tune "$bundle" -o "$out/dispatch.txt" --max-m 128 --reps 5 --entry o_f16 > "$out/tune.log" 2>&1
echo "tune rc=$?"
cat "$out/dispatch.txt" 2>/dev/null
