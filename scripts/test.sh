#!/usr/bin/env bash
# The test command: set up, build (assertions on in fd's code), and run the
# whole lit suite (dialect, passes, conversions, pipelines, CPU-executed
# numerics, runtime, kernels-ref self-test), then the runtime's unit tests
# under ASan+UBSan (scripts/sanitize.sh), then each fuzz target for
# FD_FUZZ_SECONDS (default 30) under ASan+UBSan (scripts/fuzz.sh). Non-zero
# exit if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${FD_BUILD_DIR:-build}
ninja -C "$build" check-fd
bash scripts/sanitize.sh
bash scripts/fuzz.sh "${FD_FUZZ_SECONDS:-30}"
