//===- TensorCore.h - mma.sync fragments and shared memory -----*- C++ -*-===//
//
// Private to lib/Conversion: what every tensor-core kernel (the flat GEMM's
// mma_m / direct_m and the grouped-query attention kernel) builds its
// m16n8k16 MMAs and shared-memory views from, so the bf16 workaround and the
// fragment layouts are written once.
//
// Fragments are nvgpu's: A is vector<4x2xT> (a0a1, a2a3, a4a5, a6a7), B is
// vector<2x2xT>, C/D is vector<2x2xf32> where lane l holds rows l/4 and
// l/4 + 8 (the outer index) and columns 2 (l % 4) + {0, 1} (the inner one).
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_UTILS_TENSORCORE_H
#define FD_LIB_CONVERSION_UTILS_TENSORCORE_H

#include "KernelEmitter.h"

namespace mlir::fd {

/// One m16n8k16 MMA, D = A B + C (f16 or bf16 inputs, f32 accumulators).
Value emitMma(KernelEmitter &e, Value a, Value bFrag, Value c);

/// One m16n8k8 MMA: A is vector<2x2xT> (rows g, g + 8 at k 2 (l % 4)), B is
/// row \p bRow of the vector<4x2xT> ldmatrix.x4 result \p x4.
Value emitMmaK8(KernelEmitter &e, Value a, Value x4, int64_t bRow, Value c);

/// Rows [first, first + 2) of a vector<4x2xT> ldmatrix.x4 result as a
/// vector<2x2xT> B fragment.
Value takeRowPair(KernelEmitter &e, Value x4, int64_t first);

/// The A fragment (vector<4x2xT>) of an m16k16 operand whose two k halves
/// are the f32 C fragments \p lo (columns 0-7) and \p hi (8-15): the C
/// layout of m16n8 is the A layout of m16k16, so P = softmax(S) feeds P V
/// without leaving registers (FlashAttention-2's trick).
Value accumulatorsToA(KernelEmitter &e, Value lo, Value hi, Type elem);

/// The A fragment (vector<2x2xT>) of an m16k8 operand that is the f32 C
/// fragment \p acc of an m16n8 MMA: the same rows and columns per lane.
Value accumulatorToA(KernelEmitter &e, Value acc, Type elem);

/// The launch's dynamic shared memory as bytes (memref<?xi8, workgroup>).
Value dynamicSharedMemory(KernelEmitter &e);

/// A static view of \p dims x \p elem at \p byteOffset into \p smem.
Value sharedView(KernelEmitter &e, Value smem, ArrayRef<int64_t> dims,
                 Type elem, int64_t byteOffset);

/// The column at which element \p col (a multiple of 8 f16/bf16, one
/// 16-byte chunk) of a dense shared-memory row with row % 8 == \p phase is
/// stored: chunk c at c ^ phase. The 8 consecutive rows an ldmatrix phase
/// reads at one logical chunk land in 8 distinct bank groups, and each
/// 128-byte line of a row still holds 8 chunks of that row, so a warp's
/// cp.async fills whole lines. Padding rows by a chunk spreads the rows too,
/// but a cp.async into rows 16 bytes apart modulo 128 fetches 1.5x the
/// sectors from L2 (docs/perf.md, "Session 8"). Rows must hold a multiple of
/// 8 chunks.
Value swizzledColumn(KernelEmitter &e, Value phase, Value col);

/// \p buf (a workgroup memref) as seen from each CTA 0 .. \p ctas - 1 of
/// the cluster: its shared-window address mapped by mapa. No memref form
/// of a peer CTA's shared memory exists, so peers are read through LLVM
/// pointers (loadClusterF32).
SmallVector<Value> mapClusterPeers(KernelEmitter &e, Value buf, int64_t ctas);

/// The f32 at element \p offset (index) of a peer's buffer from
/// mapClusterPeers (ld.shared::cluster).
Value loadClusterF32(KernelEmitter &e, Value peer, Value offset);

} // namespace mlir::fd

#endif // FD_LIB_CONVERSION_UTILS_TENSORCORE_H
