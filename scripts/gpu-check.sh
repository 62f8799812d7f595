#!/usr/bin/env bash
# GPU-host half (CUDA, no LLVM): builds the runtime side of fd, then runs the
# runtime's GPU test, the GPU suite on build-gpu/suite.fdb, compute-sanitizer
# memcheck and racecheck on a subset, and fd-bench. Logs and JSON go to
# $1 (default build-gpu/results). Bundles come from scripts/gpu-bundles.sh.
# Steps: FD_STEPS="test sharded suite suite-umax suite-paged sanitize spec
# bench bench-umax bench-paged peer-flashinfer gemm pdl tune" (default: all
# but tune). spec checks and times the speculative-first-tile build
# (build-gpu/spec/) against the default one. sharded runs context-parallel decode on one GPU and, where the host
# has 2 or 4 GPUs, one process per GPU (test/Runtime/gpu/run-ranks.sh) and
# fd-bench --sharded.
# peer-flashinfer runs build-peers/flashinfer_decode (bench/peers/README.md)
# on bench-paged's page-16 shapes when that binary is there.
set -uo pipefail
cd "$(dirname "$0")/.."
results=${1:-build-gpu/results}
steps=${FD_STEPS:-test sharded suite suite-umax suite-paged sanitize spec bench bench-umax bench-paged peer-flashinfer gemm pdl}
mkdir -p "$results"
commit=$(cat build-gpu/commit.txt 2>/dev/null || echo unknown)
nvidia-smi --query-gpu=name,driver_version,clocks.max.mem --format=csv,noheader \
  | tee "$results/device.txt"
cmake -G Ninja -S . -B build-dev -DCMAKE_BUILD_TYPE=Release \
  -DFD_ENABLE_COMPILER=OFF >/dev/null && ninja -C build-dev >/dev/null || {
  echo "gpu-check: build failed"; exit 1; }
status=0
step() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }
run() { # name, timeout, command...: streams the step's output as it runs
  local name=$1 limit=$2; shift 2
  echo "== $name: $*"
  timeout "$limit" "$@" 2>&1 | tee "$results/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc"
  [ $rc -eq 0 ] || status=1
}
bin=build-dev/bin
if step test; then
  run runtime-gputest 120 $bin/fd-runtime-gputest
  run runtime-gputest-bundle 120 $bin/fd-runtime-gputest build-gpu/llama.fdb
  run merge-states-gputest 120 $bin/fd-merge-states-gputest \
    build-gpu/merge-states.fdb
  run ref-gpucheck 300 $bin/fd-ref-gpucheck
fi
if step sharded; then
  # PyTorch's NCCL where it is installed, else the system's (Nccl.h).
  nccl=$(python3 -c "import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], 'lib', 'libnccl.so.2'))" 2>/dev/null)
  [ -f "$nccl" ] && export FD_LIBNCCL=$nccl
  export NCCL_NVLS_ENABLE=0
  run sharded-gputest 300 $bin/fd-sharded-gputest build-gpu/sharded.fdb
  gpus=$(nvidia-smi -L | wc -l)
  for w in 2 4; do
    [ "$gpus" -ge $w ] || continue
    for c in merge mismatch world absent; do
      run sharded-ranks$w-$c 150 env PATH="$PWD/$bin:$PATH" \
        test/Runtime/gpu/run-ranks.sh $w $c build-gpu/sharded.fdb
    done
  done
  worlds=1; [ "$gpus" -ge 2 ] && worlds=1,2; [ "$gpus" -ge 4 ] && worlds=1,2,4
  run sharded-bench 600 $bin/fd-bench --bundle build-gpu/sharded.fdb \
    --sharded $worlds --commit "$commit"
fi
step suite && run suite 900 $bin/fd-gpu-suite build-gpu/suite.fdb
if step suite-umax; then
  run unified-max-gputest 300 $bin/fd-unified-max-gputest \
    build-gpu/unified-max-test.fdb
  run suite-umax 900 $bin/fd-gpu-suite build-gpu/suite-umax.fdb \
    --filter "${FD_UMAX_FILTER:-d128}"
fi
if step suite-paged; then
  run suite-paged 900 $bin/fd-gpu-suite build-gpu/suite-paged.fdb
  run suite-paged-umax 600 $bin/fd-gpu-suite build-gpu/suite-paged-umax.fdb
fi
if step sanitize; then
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  run memcheck 600 "$cs" --tool memcheck --error-exitcode 1 \
    $bin/fd-gpu-suite build-gpu/suite.fdb --quick --filter d128
  run racecheck 600 "$cs" --tool racecheck --error-exitcode 1 \
    $bin/fd-gpu-suite build-gpu/suite.fdb --quick --filter h32_8_d128_f16
  run memcheck-paged 600 "$cs" --tool memcheck --error-exitcode 1 \
    $bin/fd-gpu-suite build-gpu/suite-paged.fdb --quick --filter _d128_f16_p
fi
if step spec; then
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  run suite-spec 900 $bin/fd-gpu-suite build-gpu/spec/suite.fdb
  run suite-umax-spec 600 $bin/fd-gpu-suite build-gpu/spec/suite-umax.fdb
  run memcheck-spec 600 "$cs" --tool memcheck --error-exitcode 1 \
    $bin/fd-gpu-suite build-gpu/spec/suite.fdb --quick --filter h32_8_d128
  run racecheck-spec 600 "$cs" --tool racecheck --error-exitcode 1 \
    $bin/fd-gpu-suite build-gpu/spec/suite.fdb --quick --filter h32_8_d128_f16
  cases=""
  for c in 1,32,8,512 1,32,8,1024 1,32,8,4096 1,32,8,32768 8,32,8,4096 \
           32,32,8,4096 16,32,8,32768,128,f16,ragged; do
    cases="$cases --case $c"
  done
  run bench-spec 600 $bin/fd-bench --bundle build-gpu/llama.fdb \
    --bundle build-gpu/spec/llama-spec.fdb --no-ref --no-torch --runs 30 \
    --variant-table none $cases --commit "$commit" \
    --json "$results/bench-spec.json"
fi
step bench && run bench 900 $bin/fd-bench --bundle build-gpu/llama.fdb \
  --cases required --commit "$commit" --json "$results/bench.json"
step bench-umax && run bench-umax 900 $bin/fd-bench \
  --bundle build-gpu/llama.fdb --bundle build-gpu/llama-umax.fdb \
  --cases unified-max --no-torch --commit "$commit" \
  --json "$results/bench-umax.json"
step bench-paged && run bench-paged 900 $bin/fd-bench \
  --bundle build-gpu/llama.fdb --bundle build-gpu/paged-bench.fdb \
  --cases paged --no-ref --commit "$commit" --json "$results/bench-paged.json"
if step peer-flashinfer && [ -x build-peers/flashinfer_decode ]; then
  run peer-flashinfer 300 build-peers/flashinfer_decode --path=both \
    1,32,8,4096,16 1,32,8,32768,16 8,32,8,32768,16 32,32,8,4096,16 \
    64,32,8,2048,16 1,32,32,32768,16 8,32,32,8192,16 64,32,8,8192,16,ragged
fi
if step gemm; then
  run gemm-check 120 $bin/fd-tune build-gpu/gemm.fdb --check
  run gemm-bench 300 $bin/fd-tune build-gpu/gemm.fdb --bench \
    --commit "$commit" --json "$results/gemm-bench.json"
  run gemm-cublas 120 python3 scripts/gemm_cublas_bench.py \
    --commit "$commit" --json "$results/gemm-cublas.json"
  run gemm-layer 200 $bin/fd-tune build-gpu/gemm.fdb --layer --m 1,2,4,8,16 \
    --reps 20
fi
# Programmatic dependent launch off and on, attention back to back (the
# GEMM layer above times both itself).
if step pdl; then
  for p in 0 1; do
    export FD_PDL=$p
    run attn-b2b-pdl$p 300 $bin/fd-bench \
      --bundle build-gpu/llama.fdb --bundle build-gpu/llama-umax.fdb \
      --no-torch --no-ref --runs 30 --back-to-back --case 1,32,32,1024 \
      --case 1,32,32,4096 --case 8,32,8,4096 --case 1,32,8,32768 \
      --case 4,32,32,1024 --commit "$commit" \
      --json "$results/attn-b2b-pdl$p.json"
  done
  unset FD_PDL
fi
if step tune; then
  args=()
  for f in build-gpu/variants/*.fdb; do args+=(--bundle "$f"); done
  run tune 600 $bin/fd-bench "${args[@]}" --cases tune --no-torch --runs 30 \
    --ctas-per-sm ${FD_TUNE_CTAS:-2,4,8,16} \
    --commit "$commit" --json "$results/tune.json"
fi
exit $status
