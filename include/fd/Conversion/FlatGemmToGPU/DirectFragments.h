//===- DirectFragments.h - k permutation of the direct_mP GEMM --*- C++ -*-===//
//
// The register-direct flat GEMM (the direct_mP kernels of
// convert-flat-gemm-to-gpu, DirectKernel.cpp) loads mma.sync m16n8k16
// fragments straight from global memory with one 16-byte load per lane and
// row. mma.sync wants lane (g = lane / 4,
// t = lane % 4) to hold logical k = 2t, 2t + 1 and 2t + 8, 2t + 9 of a
// 16-wide k step, four scattered pairs; a 16-byte load gives it 8
// consecutive physical k. A dot product does not care about the order of k,
// so the kernel renames k instead of moving data: per 32 physical k
// ("a step") it issues two MMAs j = 0, 1, and lane t's load of physical k
// 8t .. 8t + 7 supplies
//   logical k 2t + e      of MMA j  <-  physical k 8t + 4j + e      (e = 0, 1)
//   logical k 2t + 8 + e  of MMA j  <-  physical k 8t + 4j + 2 + e
// for both A (W) and B (x), so each product pairs the same physical k. Over
// t = 0..3, j = 0..1, the 4 offsets cover 8t + 0..7: every physical k of the
// step exactly once. Each (2t, 2t + 1) pair is one aligned 32-bit register
// of the loaded vector, so building a fragment moves no data.
//
// The kernel builder makes its fragments from `pieceOffset`, and
// test/Conversion/FlatGemmToGPU/direct-fragments.test emulates the PTX
// fragment layout on the CPU with the same function (no MLIR dependency
// here).
//
//===----------------------------------------------------------------------===//
#ifndef FD_CONVERSION_FLATGEMMTOGPU_DIRECTFRAGMENTS_H
#define FD_CONVERSION_FLATGEMMTOGPU_DIRECTFRAGMENTS_H

#include <cstdint>

namespace mlir::fd::direct_gemm {
/// Physical k per step: two m16n8k16 MMAs.
inline constexpr int64_t kStepK = 32;
/// Elements (f16/bf16) per lane load: 16 bytes.
inline constexpr int64_t kPiece = 8;

/// Index into lane t's 8-element piece (physical k 8t .. 8t + 7 of the
/// step) of the element that MMA `j` uses as logical k 2t + e (`high` =
/// false) or 2t + 8 + e (`high` = true).
constexpr int64_t pieceOffset(int64_t j, bool high, int64_t e) {
  return 4 * j + (high ? 2 : 0) + e;
}

/// Physical k within the step of logical k `logicalK` (0..15) of MMA `j`.
constexpr int64_t physicalK(int64_t j, int64_t logicalK) {
  int64_t t = (logicalK % 8) / 2, e = logicalK % 2;
  return kPiece * t + pieceOffset(j, logicalK >= 8, e);
}
} // namespace mlir::fd::direct_gemm

#endif // FD_CONVERSION_FLATGEMMTOGPU_DIRECTFRAGMENTS_H
