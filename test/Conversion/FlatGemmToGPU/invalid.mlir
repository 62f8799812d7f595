// RUN: fd-opt %s --split-input-file --convert-flat-gemm-to-gpu -verify-diagnostics

func.func @untiled(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{must be tiled before outlining: run fd-tile-flat-gemm first}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>)
  return
}

// -----

// A launch tagged as a flat GEMM must start with its bindings' anchors.
func.func @no_anchor(%x: memref<?x64xf16>) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{flat GEMM launch must start with one memref.assume_alignment per binding; missing the one for 'x'}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  } {fd.flat_gemm.args = ["x"], fd.flat_gemm.grid = ["1"], fd.flat_gemm.m_tile = 1 : i64, fd.flat_gemm.variant = "gemv"}
  return
}

// -----

// Anything else captured from the host would be lost by the outlining.
func.func @captures(%x: memref<?x64xf16>, %i: index) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{flat GEMM launch uses a value defined outside it that is not one of its bindings}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.assume_alignment %x, 16 : memref<?x64xf16>
    %v = memref.load %a[%i, %i] : memref<?x64xf16>
    gpu.terminator
  } {fd.flat_gemm.args = ["x"], fd.flat_gemm.grid = ["1"], fd.flat_gemm.m_tile = 1 : i64, fd.flat_gemm.variant = "gemv"}
  return
}

// -----

func.func @no_attrs(%x: memref<?x64xf16>) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{lacks the fd.flat_gemm.* attributes of fd-tile-flat-gemm}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  } {fd.flat_gemm.variant = "gemv"}
  return
}

// -----

// The manifest records a fixed block size.
func.func @dynamic_block(%x: memref<?x64xf16>, %n: index) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{flat GEMM block size must be constant}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %n, %sy = %c1, %sz = %c1) {
    %a = memref.assume_alignment %x, 16 : memref<?x64xf16>
    gpu.terminator
  } {fd.flat_gemm.args = ["x"], fd.flat_gemm.grid = ["1"], fd.flat_gemm.m_tile = 1 : i64, fd.flat_gemm.variant = "gemv"}
  return
}

// -----

func.func @two_blocks(%x: memref<?x64xf16>) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{flat GEMM launch body must be one block}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.assume_alignment %x, 16 : memref<?x64xf16>
    cf.br ^bb1
  ^bb1:
    gpu.terminator
  } {fd.flat_gemm.args = ["x"], fd.flat_gemm.grid = ["1"], fd.flat_gemm.m_tile = 1 : i64, fd.flat_gemm.variant = "gemv"}
  return
}
