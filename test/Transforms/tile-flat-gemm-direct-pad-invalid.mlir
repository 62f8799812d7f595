// RUN: fd-opt %s --fd-tile-flat-gemm="direct-pad-m=16,48" -verify-diagnostics

// The direct tiles hold 8, 16, 32 or 64 batch rows (1, 2, 4 or 8 n-tiles of
// the m16n8k16 MMA); any other value is a diagnostic naming it, on the
// function, before any op is tiled.
// expected-error @+1 {{fd-tile-flat-gemm: direct-pad-m value 48 must be 8, 16, 32 or 64}}
func.func @bad_direct_tile(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
