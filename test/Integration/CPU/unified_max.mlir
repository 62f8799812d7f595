// FlashDecoding++ unified max on the CPU: partials computed with one fixed
// phi (no rescaling), a plain-sum merge, and the exact fallback of
// fd.overflow_fallback. Checked against an f64 two-pass softmax reference
// and against online softmax, on ordinary rows and on adversarial ones:
//   b = 0  ordinary scores (|s - phi| of a few units)        -> no fallback
//   b = 1  every score about 200 above phi (exp overflows)    -> fallback
//   b = 2  every score about 200 below phi (the sum is 0)     -> fallback
//   b = 3  heads 0 and 2 shifted +200, heads 1 and 3 not      -> only 0 and 2
//   b = 4  length 0                                           -> zero row
//   b = 5  scores about 10 above phi, inside the threshold    -> no fallback
// The shift is a constant added to every score of a row (q[., ., 0] = shift /
// scale against k[., ., ., 0] = 1), so softmax is unchanged and the
// reference stays an ordinary one.
// GQA: 4 query heads over 2 KV heads, D = 64, capacity 64, 3 splits of 22.
//
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{num-splits=3 unified-max-phi=0 unified-max-threshold=20})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
//
// With threshold 250 the band check never fires: the +200 rows are caught
// because their sum overflows to inf and the -200 rows because it underflows
// to 0 (the second half of the check), with the same flags.
// RUN: sed -e 's/threshold = 20.0/threshold = 250.0/' %s \
// RUN:   | fd-opt --pass-pipeline="builtin.module(fd-lower-to-cpu{num-splits=3 unified-max-phi=0 unified-max-threshold=250})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// CHECK: flags
// CHECK: data =
// CHECK-NEXT: {{\[}}[0,   0,   0,   0],
// CHECK-NEXT:  [1,   1,   1,   1],
// CHECK-NEXT:  [1,   1,   1,   1],
// CHECK-NEXT:  [1,   0,   1,   0],
// CHECK-NEXT:  [0,   0,   0,   0],
// CHECK-NEXT:  [0,   0,   0,   0]]
// CHECK: fallback_rows
// CHECK-NEXT: 10
// CHECK: merge_alone_wrong_on_flagged_rows
// CHECK-NEXT: 1
// CHECK: unified_vs_ref_ok
// CHECK-NEXT: 1
// CHECK: online_vs_ref_ok
// CHECK-NEXT: 1
// CHECK: pipeline_vs_ref_ok
// CHECK-NEXT: 1
// CHECK: unified_vs_online_ordinary_ok
// CHECK-NEXT: 1
// CHECK: empty_row_zero
// CHECK-NEXT: 1

#um = #fd.unified_max<phi = 0.0, threshold = 20.0>

// The split form written out, so that the flags are visible.
func.func @unified(%q: memref<6x4x64xf16>, %k: memref<6x2x64x64xf16>,
    %v: memref<6x2x64x64xf16>, %lens: memref<6xi32>,
    %out: memref<6x4x64xf16>, %flags: memref<6x4xi32>,
    %merged: memref<6x4x64xf16>) {
  %chunk = arith.constant 22 : index
  %acc = memref.alloc() : memref<6x4x3x64xf32>
  %max = memref.alloc() : memref<6x4x3xf32>
  %sum = memref.alloc() : memref<6x4x3xf32>
  fd.partial_attention ins(%q, %k, %v, %lens : memref<6x4x64xf16>,
      memref<6x2x64x64xf16>, memref<6x2x64x64xf16>, memref<6xi32>)
      outs(%acc, %max, %sum : memref<6x4x3x64xf32>, memref<6x4x3xf32>,
           memref<6x4x3xf32>)
      chunk_size(%chunk) {scale = 0.125 : f32, softmax = #um}
  fd.merge_partials ins(%acc, %max, %sum : memref<6x4x3x64xf32>,
      memref<6x4x3xf32>, memref<6x4x3xf32>) outs(%out : memref<6x4x64xf16>)
      {softmax = #um}
  // Keep the merge's own result: it must be wrong on the flagged rows, or
  // the adversarial inputs would not exercise the fallback.
  memref.copy %out, %merged : memref<6x4x64xf16> to memref<6x4x64xf16>
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<6x4x64xf16>,
      memref<6x2x64x64xf16>, memref<6x2x64x64xf16>, memref<6xi32>,
      memref<6x4x3xf32>, memref<6x4x3xf32>)
      outs(%out, %flags : memref<6x4x64xf16>, memref<6x4xi32>)
      {scale = 0.125 : f32, softmax = #um}
  memref.dealloc %acc : memref<6x4x3x64xf32>
  memref.dealloc %max : memref<6x4x3xf32>
  memref.dealloc %sum : memref<6x4x3xf32>
  return
}

// Online softmax, split the same way (fd-split-kv, num-splits=3).
func.func @online(%q: memref<6x4x64xf16>, %k: memref<6x2x64x64xf16>,
    %v: memref<6x2x64x64xf16>, %lens: memref<6xi32>,
    %out: memref<6x4x64xf16>) {
  %chunk = arith.constant 22 : index
  %acc = memref.alloc() : memref<6x4x3x64xf32>
  %max = memref.alloc() : memref<6x4x3xf32>
  %sum = memref.alloc() : memref<6x4x3xf32>
  fd.partial_attention ins(%q, %k, %v, %lens : memref<6x4x64xf16>,
      memref<6x2x64x64xf16>, memref<6x2x64x64xf16>, memref<6xi32>)
      outs(%acc, %max, %sum : memref<6x4x3x64xf32>, memref<6x4x3xf32>,
           memref<6x4x3xf32>)
      chunk_size(%chunk) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  fd.merge_partials ins(%acc, %max, %sum : memref<6x4x3x64xf32>,
      memref<6x4x3xf32>, memref<6x4x3xf32>) outs(%out : memref<6x4x64xf16>)
      {softmax = #fd.online_softmax}
  memref.dealloc %acc : memref<6x4x3x64xf32>
  memref.dealloc %max : memref<6x4x3xf32>
  memref.dealloc %sum : memref<6x4x3xf32>
  return
}

// What users write: the pipeline's fd-unified-max switches it to the
// unified max and fd-split-kv adds the fallback.
func.func @pipeline(%q: memref<6x4x64xf16>, %k: memref<6x2x64x64xf16>,
    %v: memref<6x2x64x64xf16>, %lens: memref<6xi32>,
    %out: memref<6x4x64xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<6x4x64xf16>,
      memref<6x2x64x64xf16>, memref<6x2x64x64xf16>, memref<6xi32>)
      outs(%out : memref<6x4x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// f64 two-pass softmax: max, then exp-sum, then the weighted sum of V.
func.func @reference(%q: memref<6x4x64xf16>, %k: memref<6x2x64x64xf16>,
    %v: memref<6x2x64x64xf16>, %lens: memref<6xi32>,
    %out: memref<6x4x64xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f64
  %lowest = arith.constant -1.0e300 : f64
  %scale = arith.constant 0.125 : f64
  %scores = memref.alloc() : memref<64xf64>
  scf.for %b = %c0 to %c6 step %c1 {
    %li = memref.load %lens[%b] : memref<6xi32>
    %len = arith.index_cast %li : i32 to index
    scf.for %h = %c0 to %c4 step %c1 {
      %g = arith.divui %h, %c2 : index
      %m = scf.for %t = %c0 to %len step %c1 iter_args(%mx = %lowest) -> f64 {
        %dot = scf.for %d = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> f64 {
          %qh = memref.load %q[%b, %h, %d] : memref<6x4x64xf16>
          %kh = memref.load %k[%b, %g, %t, %d] : memref<6x2x64x64xf16>
          %qd = arith.extf %qh : f16 to f64
          %kd = arith.extf %kh : f16 to f64
          %p = arith.mulf %qd, %kd : f64
          %a = arith.addf %acc, %p : f64
          scf.yield %a : f64
        }
        %s = arith.mulf %dot, %scale : f64
        memref.store %s, %scores[%t] : memref<64xf64>
        %nm = arith.maximumf %mx, %s : f64
        scf.yield %nm : f64
      }
      %den = scf.for %t = %c0 to %len step %c1 iter_args(%acc = %zero) -> f64 {
        %s = memref.load %scores[%t] : memref<64xf64>
        %x = arith.subf %s, %m : f64
        %e = math.exp %x : f64
        %a = arith.addf %acc, %e : f64
        scf.yield %a : f64
      }
      scf.for %d = %c0 to %c64 step %c1 {
        %num = scf.for %t = %c0 to %len step %c1 iter_args(%acc = %zero) -> f64 {
          %s = memref.load %scores[%t] : memref<64xf64>
          %x = arith.subf %s, %m : f64
          %e = math.exp %x : f64
          %vh = memref.load %v[%b, %g, %t, %d] : memref<6x2x64x64xf16>
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
        memref.store %r, %out[%b, %h, %d] : memref<6x4x64xf64>
      }
    }
  }
  memref.dealloc %scores : memref<64xf64>
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

func.func @poison(%out: memref<6x4x64xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c64 = arith.constant 64 : index
  %nan = arith.constant 0x7E00 : f16
  scf.for %b = %c0 to %c6 step %c1 {
    scf.for %h = %c0 to %c4 step %c1 {
      scf.for %d = %c0 to %c64 step %c1 {
        memref.store %nan, %out[%b, %h, %d] : memref<6x4x64xf16>
      }
    }
  }
  return
}

// max over rows b (all heads, all d) of |x - y|, NaN-propagating; `ordinary`
// restricts to the rows whose flag is 0.
func.func @maxdiff(%x: memref<6x4x64xf16>, %y: memref<6x4x64xf64>,
    %flags: memref<6x4xi32>, %ordinary: i1) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f64
  %i0 = arith.constant 0 : i32
  %r = scf.for %b = %c0 to %c6 step %c1 iter_args(%e0 = %zero) -> f64 {
    %r1 = scf.for %h = %c0 to %c4 step %c1 iter_args(%e1 = %e0) -> f64 {
      %f = memref.load %flags[%b, %h] : memref<6x4xi32>
      %flagged = arith.cmpi ne, %f, %i0 : i32
      %skip = arith.andi %ordinary, %flagged : i1
      %r2 = scf.for %d = %c0 to %c64 step %c1 iter_args(%e2 = %e1) -> f64 {
        %o = memref.load %x[%b, %h, %d] : memref<6x4x64xf16>
        %of = arith.extf %o : f16 to f64
        %rv = memref.load %y[%b, %h, %d] : memref<6x4x64xf64>
        %diff = arith.subf %of, %rv : f64
        %ad = math.absf %diff : f64
        %ne = arith.maximumf %e2, %ad : f64
        %keep = arith.select %skip, %e2, %ne : f64
        scf.yield %keep : f64
      }
      scf.yield %r2 : f64
    }
    scf.yield %r1 : f64
  }
  return %r : f64
}

func.func private @printMemrefI32(memref<*xi32>)

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %c64 = arith.constant 64 : index
  %qflat = memref.alloc() : memref<1536xf16>
  %kflat = memref.alloc() : memref<49152xf16>
  %vflat = memref.alloc() : memref<49152xf16>
  %qd = memref.cast %qflat : memref<1536xf16> to memref<?xf16>
  %kd = memref.cast %kflat : memref<49152xf16> to memref<?xf16>
  %vd = memref.cast %vflat : memref<49152xf16> to memref<?xf16>
  %s1 = arith.constant 0.1 : f32
  %s2 = arith.constant 1.3 : f32
  %s3 = arith.constant 2.9 : f32
  call @fill(%qd, %s1) : (memref<?xf16>, f32) -> ()
  call @fill(%kd, %s2) : (memref<?xf16>, f32) -> ()
  call @fill(%vd, %s3) : (memref<?xf16>, f32) -> ()
  %q = memref.expand_shape %qflat [[0, 1, 2]] output_shape [6, 4, 64]
      : memref<1536xf16> into memref<6x4x64xf16>
  %k = memref.expand_shape %kflat [[0, 1, 2, 3]] output_shape [6, 2, 64, 64]
      : memref<49152xf16> into memref<6x2x64x64xf16>
  %v = memref.expand_shape %vflat [[0, 1, 2, 3]] output_shape [6, 2, 64, 64]
      : memref<49152xf16> into memref<6x2x64x64xf16>

  // k[., ., ., 0] = 1 and q[b, h, 0] = shift(b, h) / scale: every score of
  // row (b, h) moves by shift(b, h).
  %one = arith.constant 1.0 : f16
  scf.for %b = %c0 to %c6 step %c1 {
    scf.for %g = %c0 to %c2 step %c1 {
      scf.for %t = %c0 to %c64 step %c1 {
        memref.store %one, %k[%b, %g, %t, %c0] : memref<6x2x64x64xf16>
      }
    }
  }
  %up = arith.constant 1600.0 : f16
  %down = arith.constant -1600.0 : f16
  %mild = arith.constant 80.0 : f16
  %zeroh = arith.constant 0.0 : f16
  scf.for %h = %c0 to %c4 step %c1 {
    memref.store %zeroh, %q[%c0, %h, %c0] : memref<6x4x64xf16>
    memref.store %up, %q[%c1, %h, %c0] : memref<6x4x64xf16>
    memref.store %down, %q[%c2, %h, %c0] : memref<6x4x64xf16>
    memref.store %zeroh, %q[%c4, %h, %c0] : memref<6x4x64xf16>
    memref.store %mild, %q[%c5, %h, %c0] : memref<6x4x64xf16>
    %h2 = arith.remui %h, %c2 : index
    %even = arith.cmpi eq, %h2, %c0 : index
    %s = arith.select %even, %up, %zeroh : f16
    memref.store %s, %q[%c3, %h, %c0] : memref<6x4x64xf16>
  }

  %lens = memref.alloc() : memref<6xi32>
  %l64 = arith.constant 64 : i32
  %l50 = arith.constant 50 : i32
  %l33 = arith.constant 33 : i32
  %l0 = arith.constant 0 : i32
  %l41 = arith.constant 41 : i32
  memref.store %l64, %lens[%c0] : memref<6xi32>
  memref.store %l50, %lens[%c1] : memref<6xi32>
  memref.store %l64, %lens[%c2] : memref<6xi32>
  memref.store %l33, %lens[%c3] : memref<6xi32>
  memref.store %l0, %lens[%c4] : memref<6xi32>
  memref.store %l41, %lens[%c5] : memref<6xi32>

  %out = memref.alloc() : memref<6x4x64xf16>
  %outOnline = memref.alloc() : memref<6x4x64xf16>
  %outPipe = memref.alloc() : memref<6x4x64xf16>
  %flags = memref.alloc() : memref<6x4xi32>
  %ref = memref.alloc() : memref<6x4x64xf64>
  call @poison(%out) : (memref<6x4x64xf16>) -> ()
  call @poison(%outOnline) : (memref<6x4x64xf16>) -> ()
  call @poison(%outPipe) : (memref<6x4x64xf16>) -> ()
  %merged = memref.alloc() : memref<6x4x64xf16>
  call @unified(%q, %k, %v, %lens, %out, %flags, %merged)
      : (memref<6x4x64xf16>, memref<6x2x64x64xf16>, memref<6x2x64x64xf16>,
         memref<6xi32>, memref<6x4x64xf16>, memref<6x4xi32>,
         memref<6x4x64xf16>) -> ()
  call @online(%q, %k, %v, %lens, %outOnline) : (memref<6x4x64xf16>,
      memref<6x2x64x64xf16>, memref<6x2x64x64xf16>, memref<6xi32>,
      memref<6x4x64xf16>) -> ()
  call @pipeline(%q, %k, %v, %lens, %outPipe) : (memref<6x4x64xf16>,
      memref<6x2x64x64xf16>, memref<6x2x64x64xf16>, memref<6xi32>,
      memref<6x4x64xf16>) -> ()
  call @reference(%q, %k, %v, %lens, %ref) : (memref<6x4x64xf16>,
      memref<6x2x64x64xf16>, memref<6x2x64x64xf16>, memref<6xi32>,
      memref<6x4x64xf64>) -> ()

  vector.print str "flags\n"
  %fu = memref.cast %flags : memref<6x4xi32> to memref<*xi32>
  call @printMemrefI32(%fu) : (memref<*xi32>) -> ()
  %i0 = arith.constant 0 : i32
  %count = scf.for %b = %c0 to %c6 step %c1 iter_args(%n0 = %i0) -> i32 {
    %n2 = scf.for %h = %c0 to %c4 step %c1 iter_args(%n1 = %n0) -> i32 {
      %f = memref.load %flags[%b, %h] : memref<6x4xi32>
      %n = arith.addi %n1, %f : i32
      scf.yield %n : i32
    }
    scf.yield %n2 : i32
  }
  vector.print str "fallback_rows\n"
  vector.print %count : i32

  %false = arith.constant false
  %true = arith.constant true
  %tol = arith.constant 2.0e-3 : f64
  %eu = call @maxdiff(%out, %ref, %flags, %false)
      : (memref<6x4x64xf16>, memref<6x4x64xf64>, memref<6x4xi32>, i1) -> f64
  %eo = call @maxdiff(%outOnline, %ref, %flags, %false)
      : (memref<6x4x64xf16>, memref<6x4x64xf64>, memref<6x4xi32>, i1) -> f64
  %ep = call @maxdiff(%outPipe, %ref, %flags, %false)
      : (memref<6x4x64xf16>, memref<6x4x64xf64>, memref<6x4xi32>, i1) -> f64
  // unified vs online on the rows that did not fall back: the fixed-phi
  // arithmetic itself, not the fallback, must match (f16 rounding apart).
  %onlineRef = memref.alloc() : memref<6x4x64xf64>
  scf.for %b = %c0 to %c6 step %c1 {
    scf.for %h = %c0 to %c4 step %c1 {
      scf.for %d = %c0 to %c64 step %c1 {
        %o = memref.load %outOnline[%b, %h, %d] : memref<6x4x64xf16>
        %of = arith.extf %o : f16 to f64
        memref.store %of, %onlineRef[%b, %h, %d] : memref<6x4x64xf64>
      }
    }
  }
  %euo = call @maxdiff(%out, %onlineRef, %flags, %true)
      : (memref<6x4x64xf16>, memref<6x4x64xf64>, memref<6x4xi32>, i1) -> f64
  // The merge alone on the flagged rows only (1 - flags selects them).
  %inv = memref.alloc() : memref<6x4xi32>
  %i1c = arith.constant 1 : i32
  scf.for %b = %c0 to %c6 step %c1 {
    scf.for %h = %c0 to %c4 step %c1 {
      %f = memref.load %flags[%b, %h] : memref<6x4xi32>
      %nf = arith.subi %i1c, %f : i32
      memref.store %nf, %inv[%b, %h] : memref<6x4xi32>
    }
  }
  %em = call @maxdiff(%merged, %ref, %inv, %true)
      : (memref<6x4x64xf16>, memref<6x4x64xf64>, memref<6x4xi32>, i1) -> f64
  %mergeWrong = arith.cmpf uge, %em, %tol : f64
  vector.print str "merge_alone_wrong_on_flagged_rows\n"
  vector.print %mergeWrong : i1
  %ok1 = arith.cmpf olt, %eu, %tol : f64
  %ok2 = arith.cmpf olt, %eo, %tol : f64
  %ok3 = arith.cmpf olt, %ep, %tol : f64
  %ok4 = arith.cmpf olt, %euo, %tol : f64
  vector.print str "unified_err "
  vector.print %eu : f64
  vector.print str "unified_vs_ref_ok\n"
  vector.print %ok1 : i1
  vector.print str "online_vs_ref_ok\n"
  vector.print %ok2 : i1
  vector.print str "pipeline_vs_ref_ok\n"
  vector.print %ok3 : i1
  vector.print str "unified_vs_online_ordinary_ok\n"
  vector.print %ok4 : i1
  // The empty sequence (b = 4) must be an exact zero row.
  %zero = arith.constant 0.0 : f64
  %zmax = scf.for %h = %c0 to %c4 step %c1 iter_args(%z0 = %zero) -> f64 {
    %z2 = scf.for %d = %c0 to %c64 step %c1 iter_args(%z1 = %z0) -> f64 {
      %o = memref.load %out[%c4, %h, %d] : memref<6x4x64xf16>
      %of = arith.extf %o : f16 to f64
      %a = math.absf %of : f64
      %m = arith.maximumf %z1, %a : f64
      scf.yield %m : f64
    }
    scf.yield %z2 : f64
  }
  %zok = arith.cmpf oeq, %zmax, %zero : f64
  vector.print str "empty_row_zero\n"
  vector.print %zok : i1
  return
}
