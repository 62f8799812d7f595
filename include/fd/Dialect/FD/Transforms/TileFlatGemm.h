//===- TileFlatGemm.h - contract of fd-tile-flat-gemm's output --*- C++ -*-===//
//
// fd-tile-flat-gemm emits gpu.launch regions that convert-flat-gemm-to-gpu
// outlines; these attribute names are the contract between the two passes.
//
//===----------------------------------------------------------------------===//
#ifndef FD_DIALECT_FD_TRANSFORMS_TILEFLATGEMM_H
#define FD_DIALECT_FD_TRANSFORMS_TILEFLATGEMM_H

namespace mlir::fd::flat_gemm_attr {
/// Variant name: "gemv" or "mma_m<P>" (StringAttr).
inline constexpr const char *kVariant = "fd.flat_gemm.variant";
/// Rows of M one CTA covers along grid.z (IntegerAttr).
inline constexpr const char *kMTile = "fd.flat_gemm.m_tile";
/// Grid extents for the manifest: integers as strings or "M" / "MT"
/// (ceil(M / m_tile)) (ArrayAttr of StringAttr).
inline constexpr const char *kGrid = "fd.flat_gemm.grid";
/// Binding of each kernel argument: "x", "w", "bias", "y" (ArrayAttr). The
/// launch body starts with one memref.assume_alignment per binding, in this
/// order, on the value that binds.
inline constexpr const char *kArgs = "fd.flat_gemm.args";
} // namespace mlir::fd::flat_gemm_attr

#endif // FD_DIALECT_FD_TRANSFORMS_TILEFLATGEMM_H
