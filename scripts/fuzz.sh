#!/usr/bin/env bash
# fd's fuzz targets (issue 16): configures build-fuzz with clang-22,
# AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer's coverage and
# assertions on in fd's own code, builds the targets
#   fd-fuzz-mlir       the MLIR parser, fd's verifiers and pass pipelines
#   fd-fuzz-compile    fd-compile's bundle writer -> the runtime's reader
#   fd-fuzz-bundle     the bundle reader and the planner
#   fd-fuzz-calibrate  fd-calibrate's sample reader and phi choice
# and runs each for SECONDS on a corpus seeded from test/, examples/ and
# fuzz/corpus/. A crash, sanitizer report, assertion, abort or 25-second
# input stops the target: the reproducer is left in build-fuzz/crashes/<target>/
# and the script exits 1 (a reproducer becomes a regression test).
# Usage: scripts/fuzz.sh [SECONDS (default 60)] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FD_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${1:-60}
case "$seconds" in ''|*[!0-9]*) echo "fuzz: SECONDS must be a number, got '$seconds'"; exit 2 ;; esac
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fd-fuzz-mlir fd-fuzz-compile fd-fuzz-bundle fd-fuzz-calibrate)

for p in clang-22 libclang-rt-22-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang-22 libclang-rt-22-dev >/dev/null
    break
  fi
done

flags="-O1 -g0 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DFD_ENABLE_FUZZERS=ON -DFD_ENABLE_CUDA=OFF -DFD_ENABLE_ASSERTIONS=ON \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
# MLIR's and LLVM's registries live until exit by design: no leak reports.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ninja -C "$build" "${targets[@]}" >/dev/null

# Seeds: every MLIR input of the tests and examples for the MLIR target,
# the test bundles for the bundle reader, sample files for fd-calibrate.
seed() { # target, then files
  local dir=$build/corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(echo "$f" | tr / _)"; done
}
# fuzz/corpus/mlir: inputs that once failed (regression seeds).
seed fd-fuzz-mlir $(find test examples fuzz/corpus/mlir -name '*.mlir')
seed fd-fuzz-compile $(find test/Tools examples test/Runtime/Inputs test/GPU -name '*.mlir')
# Files of several cases (-split-input-file) parse only piece by piece.
python3 - "$build/corpus/fd-fuzz-mlir" <<'PY'
import pathlib, sys
d = pathlib.Path(sys.argv[1])
for f in list(d.iterdir()):
    parts = f.read_text(errors="replace").split("\n// -----\n")
    for i, part in enumerate(parts if len(parts) > 1 else []):
        (d / f"{f.name}.{i}").write_text(part)
PY
seed fd-fuzz-bundle $(find test -name '*.fdb')
seed fd-fuzz-calibrate $(find test -path '*calibrate*' -name '*.txt') fuzz/corpus/*.txt

status=0
for t in "${targets[@]}"; do
  crashes=$build/crashes/$t
  mkdir -p "$crashes" "$build/corpus/$t.work"
  echo "fuzz: $t for ${seconds}s"
  if ! "$build/bin/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
      "$build/corpus/$t.work" "$build/corpus/$t" > "$build/$t.log" 2>&1; then
    echo "fuzz: $t FAILED (reproducer in $crashes/, log $build/$t.log)"
    tail -n 30 "$build/$t.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
