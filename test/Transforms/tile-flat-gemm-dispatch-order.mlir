// RUN: fd-opt %s --fd-tile-flat-gemm="dispatch=16:mma_m16,8:mma_m8" -verify-diagnostics
// The dispatch option is checked before any op is tiled; the error is on the
// function (tile-flat-gemm-options.mlir covers the other malformed rules).
// expected-error @below {{fd-tile-flat-gemm: dispatch: '8:mma_m8': bounds must increase (the rule before ends at 16)}}
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>,
                %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}
