#!/usr/bin/env bash
# Build the FlashInfer paged-decode peer benchmark.
#   bash bench/peers/build-flashinfer-peer.sh <flashinfer-include-dir> <out-binary>
# <flashinfer-include-dir> is the directory that contains flashinfer/ (e.g.
# build-peers/flashinfer/include). Header-only: no cutlass, no torch needed.
# FlashInfer (since its CCCL-vendoring change) needs libcudacxx from CCCL >= 3.3
# (cuda::fast_mod_div); CUDA 13.0 bundles CCCL 3.0. The vendored copy is taken
# from $CCCL_INCLUDE, default <flashinfer-include-dir>/../cccl/include, and is
# put on -I ahead of the toolkit's bundled CCCL, as FlashInfer's JIT does.
# Env: NVCC (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc),
#      FI_ARCH (default: sm_90a), NVCC_EXTRA (extra flags), NVCC_THREADS,
#      CCCL_INCLUDE.
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 <flashinfer-include-dir> <out-binary>" >&2
  exit 2
fi
INC=$1
OUT=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC="$HERE/flashinfer_decode.cu"
if [[ ! -f "$INC/flashinfer/attention/decode.cuh" ]]; then
  echo "error: $INC/flashinfer/attention/decode.cuh not found" >&2
  exit 1
fi
CCCL_INC=${CCCL_INCLUDE:-$INC/../cccl/include}
if [[ ! -f "$CCCL_INC/cuda/cmath" ]]; then
  echo "error: vendored CCCL libcudacxx not found at $CCCL_INC (set CCCL_INCLUDE)" >&2
  exit 1
fi
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
ARCH=${FI_ARCH:-sm_90a}
CC=${ARCH#sm_}
mkdir -p "$(dirname "$OUT")"
set -x
"$NVCC" -O3 -std=c++17 \
  -gencode "arch=compute_${CC},code=${ARCH}" \
  --expt-relaxed-constexpr --expt-extended-lambda \
  -DNDEBUG -DFLASHINFER_ENABLE_F16 \
  -Xcompiler -fno-strict-aliasing \
  -diag-suppress 20012,177,550,186 \
  --threads "${NVCC_THREADS:-0}" \
  -I"$CCCL_INC" -I"$INC" \
  ${NVCC_EXTRA:-} \
  "$SRC" -o "$OUT"
