#!/usr/bin/env bash
# The test command: set up, build, and run the whole lit suite (dialect,
# passes, conversions, pipelines, CPU-executed numerics, runtime, kernels-ref
# self-test). Ends with lit's summary; non-zero exit if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${FD_BUILD_DIR:-build}
ninja -C "$build" check-fd
