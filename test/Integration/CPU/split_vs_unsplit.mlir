// Numerical check of the split-KV rewrite on the CPU, without a GPU: the same
// decode attention is lowered unsplit, and split in several ways (a fixed
// split count that does not divide the lengths, one chunk, one token per
// chunk, auto), and each result is compared with an f64 two-pass softmax
// reference written below in plain loops. Inputs: GQA (4 query heads over
// 2 KV heads), D = 64, lengths {0, 1, 37, 64, 100} with capacity 100, K/V in a
// token-major cache [B, L, Hkv, D] viewed as [B, Hkv, L, D].
//
// RUN: fd-opt %s --convert-fd-to-scf | fd-opt --pass-pipeline="builtin.module(fd-lower-to-cpu)" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{num-splits=7})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{chunk-size=100})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{chunk-size=1})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{sm-count=3 ctas-per-sm=2 min-chunk=8 chunk-align=4})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// Every run must agree with the reference to f16 output precision, give an
// exactly zero row for the empty sequence, and produce non-trivial outputs.
// CHECK: max_abs_err_ok
// CHECK-NEXT: 1
// CHECK: empty_row_zero
// CHECK-NEXT: 1
// CHECK: output_nontrivial
// CHECK-NEXT: 1

#kv = strided<[?, ?, ?, 1], offset: ?>

func.func @attention(%q: memref<5x4x64xf16>, %k: memref<5x2x100x64xf16, #kv>,
    %v: memref<5x2x100x64xf16, #kv>, %lens: memref<5xi32>,
    %out: memref<5x4x64xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<5x4x64xf16>,
      memref<5x2x100x64xf16, #kv>, memref<5x2x100x64xf16, #kv>, memref<5xi32>)
      outs(%out : memref<5x4x64xf16>)
      {scale = 0.5 : f32, softmax = #fd.online_softmax}
  return
}

// f64 two-pass softmax: max, then exp-sum, then the weighted sum of V.
func.func @reference(%q: memref<5x4x64xf16>, %k: memref<5x2x100x64xf16, #kv>,
    %v: memref<5x2x100x64xf16, #kv>, %lens: memref<5xi32>,
    %out: memref<5x4x64xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f64
  %lowest = arith.constant -1.0e300 : f64
  %scale = arith.constant 0.5 : f64
  %scores = memref.alloc() : memref<100xf64>
  scf.for %b = %c0 to %c5 step %c1 {
    %li = memref.load %lens[%b] : memref<5xi32>
    %len = arith.index_cast %li : i32 to index
    scf.for %h = %c0 to %c4 step %c1 {
      %g = arith.divui %h, %c2 : index
      %m = scf.for %t = %c0 to %len step %c1 iter_args(%mx = %lowest) -> f64 {
        %dot = scf.for %d = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> f64 {
          %qh = memref.load %q[%b, %h, %d] : memref<5x4x64xf16>
          %kh = memref.load %k[%b, %g, %t, %d] : memref<5x2x100x64xf16, #kv>
          %qd = arith.extf %qh : f16 to f64
          %kd = arith.extf %kh : f16 to f64
          %p = arith.mulf %qd, %kd : f64
          %a = arith.addf %acc, %p : f64
          scf.yield %a : f64
        }
        %s = arith.mulf %dot, %scale : f64
        memref.store %s, %scores[%t] : memref<100xf64>
        %nm = arith.maximumf %mx, %s : f64
        scf.yield %nm : f64
      }
      %den = scf.for %t = %c0 to %len step %c1 iter_args(%acc = %zero) -> f64 {
        %s = memref.load %scores[%t] : memref<100xf64>
        %x = arith.subf %s, %m : f64
        %e = math.exp %x : f64
        %a = arith.addf %acc, %e : f64
        scf.yield %a : f64
      }
      scf.for %d = %c0 to %c64 step %c1 {
        %num = scf.for %t = %c0 to %len step %c1 iter_args(%acc = %zero) -> f64 {
          %s = memref.load %scores[%t] : memref<100xf64>
          %x = arith.subf %s, %m : f64
          %e = math.exp %x : f64
          %vh = memref.load %v[%b, %g, %t, %d] : memref<5x2x100x64xf16, #kv>
          %vd = arith.extf %vh : f16 to f64
          %p = arith.mulf %e, %vd : f64
          %a = arith.addf %acc, %p : f64
          scf.yield %a : f64
        }
        %empty = arith.cmpi eq, %len, %c0 : index
        %r = scf.if %empty -> f64 {
          scf.yield %zero : f64
        } else {
          %o = arith.divf %num, %den : f64
          scf.yield %o : f64
        }
        memref.store %r, %out[%b, %h, %d] : memref<5x4x64xf64>
      }
    }
  }
  memref.dealloc %scores : memref<100xf64>
  return
}

// buf[i] = sin(0.7311 * i + seed) over a flat buffer.
func.func @fill(%buf: memref<?xf16>, %seed: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %buf, %c0 : memref<?xf16>
  %f = arith.constant 0.7311 : f32
  scf.for %i = %c0 to %n step %c1 {
    %ii = arith.index_cast %i : index to i64
    %x = arith.sitofp %ii : i64 to f32
    %y = arith.mulf %x, %f : f32
    %z = arith.addf %y, %seed : f32
    %s = math.sin %z : f32
    %h = arith.truncf %s : f32 to f16
    memref.store %h, %buf[%i] : memref<?xf16>
  }
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c64 = arith.constant 64 : index
  // Token-major caches [B, L, Hkv, D], flat for filling.
  %qflat = memref.alloc() : memref<1280xf16>
  %kflat = memref.alloc() : memref<64000xf16>
  %vflat = memref.alloc() : memref<64000xf16>
  %qd = memref.cast %qflat : memref<1280xf16> to memref<?xf16>
  %kd = memref.cast %kflat : memref<64000xf16> to memref<?xf16>
  %vd = memref.cast %vflat : memref<64000xf16> to memref<?xf16>
  %s1 = arith.constant 0.1 : f32
  %s2 = arith.constant 1.3 : f32
  %s3 = arith.constant 2.9 : f32
  call @fill(%qd, %s1) : (memref<?xf16>, f32) -> ()
  call @fill(%kd, %s2) : (memref<?xf16>, f32) -> ()
  call @fill(%vd, %s3) : (memref<?xf16>, f32) -> ()
  %q = memref.expand_shape %qflat [[0, 1, 2]] output_shape [5, 4, 64]
      : memref<1280xf16> into memref<5x4x64xf16>
  %kt = memref.expand_shape %kflat [[0, 1, 2, 3]] output_shape [5, 100, 2, 64]
      : memref<64000xf16> into memref<5x100x2x64xf16>
  %vt = memref.expand_shape %vflat [[0, 1, 2, 3]] output_shape [5, 100, 2, 64]
      : memref<64000xf16> into memref<5x100x2x64xf16>
  %kv = memref.transpose %kt (b, l, h, d) -> (b, h, l, d)
      : memref<5x100x2x64xf16> to memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>>
  %vv = memref.transpose %vt (b, l, h, d) -> (b, h, l, d)
      : memref<5x100x2x64xf16> to memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>>
  %k = memref.cast %kv : memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>>
      to memref<5x2x100x64xf16, #kv>
  %v = memref.cast %vv : memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>>
      to memref<5x2x100x64xf16, #kv>

  %lens = memref.alloc() : memref<5xi32>
  %l0 = arith.constant 0 : i32
  %l1 = arith.constant 1 : i32
  %l2 = arith.constant 37 : i32
  %l3 = arith.constant 64 : i32
  %l4 = arith.constant 100 : i32
  %i2 = arith.constant 2 : index
  %i3 = arith.constant 3 : index
  memref.store %l0, %lens[%c0] : memref<5xi32>
  memref.store %l1, %lens[%c1] : memref<5xi32>
  memref.store %l2, %lens[%i2] : memref<5xi32>
  memref.store %l3, %lens[%i3] : memref<5xi32>
  memref.store %l4, %lens[%c4] : memref<5xi32>

  // Poison the output so an unwritten element cannot pass.
  %outflat = memref.alloc() : memref<1280xf16>
  %nan = arith.constant 0x7E00 : f16
  %c1280 = arith.constant 1280 : index
  scf.for %i = %c0 to %c1280 step %c1 {
    memref.store %nan, %outflat[%i] : memref<1280xf16>
  }
  %out = memref.expand_shape %outflat [[0, 1, 2]] output_shape [5, 4, 64]
      : memref<1280xf16> into memref<5x4x64xf16>
  %ref = memref.alloc() : memref<5x4x64xf64>
  call @attention(%q, %k, %v, %lens, %out) : (memref<5x4x64xf16>,
      memref<5x2x100x64xf16, #kv>, memref<5x2x100x64xf16, #kv>, memref<5xi32>,
      memref<5x4x64xf16>) -> ()
  call @reference(%q, %k, %v, %lens, %ref) : (memref<5x4x64xf16>,
      memref<5x2x100x64xf16, #kv>, memref<5x2x100x64xf16, #kv>, memref<5xi32>,
      memref<5x4x64xf64>) -> ()

  // max |out - ref| (NaN-propagating), max |out| over the empty row, and
  // max |ref| so that an all-zero answer cannot pass.
  %zero = arith.constant 0.0 : f64
  %err, %emptyMax, %refMax = scf.for %b = %c0 to %c5 step %c1
      iter_args(%e0 = %zero, %z0 = %zero, %r0 = %zero) -> (f64, f64, f64) {
    %e2, %z2, %r2 = scf.for %h = %c0 to %c4 step %c1
        iter_args(%e1 = %e0, %z1 = %z0, %r1 = %r0) -> (f64, f64, f64) {
      %e3, %z3, %r3 = scf.for %d = %c0 to %c64 step %c1
          iter_args(%ea = %e1, %za = %z1, %ra = %r1) -> (f64, f64, f64) {
        %o = memref.load %out[%b, %h, %d] : memref<5x4x64xf16>
        %of = arith.extf %o : f16 to f64
        %r = memref.load %ref[%b, %h, %d] : memref<5x4x64xf64>
        %diff = arith.subf %of, %r : f64
        %ad = math.absf %diff : f64
        %ne = arith.maximumf %ea, %ad : f64
        %isEmpty = arith.cmpi eq, %b, %c0 : index
        %ao = math.absf %of : f64
        %zc = arith.maximumf %za, %ao : f64
        %nz = arith.select %isEmpty, %zc, %za : f64
        %ar = math.absf %r : f64
        %nr = arith.maximumf %ra, %ar : f64
        scf.yield %ne, %nz, %nr : f64, f64, f64
      }
      scf.yield %e3, %z3, %r3 : f64, f64, f64
    }
    scf.yield %e2, %z2, %r2 : f64, f64, f64
  }
  %tol = arith.constant 2.0e-3 : f64
  %ok = arith.cmpf olt, %err, %tol : f64
  %emptyOk = arith.cmpf oeq, %emptyMax, %zero : f64
  %big = arith.constant 0.05 : f64
  %nontrivial = arith.cmpf ogt, %refMax, %big : f64
  vector.print str "max_abs_err "
  vector.print %err : f64
  vector.print str "max_abs_err_ok\n"
  vector.print %ok : i1
  vector.print str "empty_row_zero\n"
  vector.print %emptyOk : i1
  vector.print str "output_nontrivial\n"
  vector.print %nontrivial : i1
  return
}
