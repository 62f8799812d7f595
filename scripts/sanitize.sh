#!/usr/bin/env bash
# The runtime under AddressSanitizer + UndefinedBehaviorSanitizer (issue 16):
# a runtime-only build in build-asan (no LLVM needed; only the runtime, its
# unit tests and fd-run are built), then the unit tests and fd-run on bad
# input. Any sanitizer report aborts (halt_on_error, -fno-sanitize-recover)
# and fails the script. Run by scripts/test.sh after the lit suite.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FD_ASAN_BUILD_DIR:-build-asan}
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFD_ENABLE_COMPILER=OFF -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
ninja -C "$build" fd-runtime-unittest fd-run >/dev/null
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$build/bin/fd-runtime-unittest" | tail -n 1
# Bad bundles through the tool: each must fail cleanly (exit 1), not crash.
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
printf '{"format": "fd-bundle", "version": 1, "entries": [' > "$bad/truncated.fdb"
printf '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' > "$bad/deep.fdb"
printf '\xff\xfe\x00garbage' > "$bad/binary.fdb"
for f in "$bad"/*.fdb /nonexistent.fdb; do
  set +e
  "$build/bin/fd-run" "$f" --list >/dev/null 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 1 ]; then
    echo "sanitize: fd-run on $(basename "$f") exited $rc (expected 1)"; exit 1
  fi
done
echo "sanitize: runtime unit tests and fd-run on bad bundles clean under ASan+UBSan"
