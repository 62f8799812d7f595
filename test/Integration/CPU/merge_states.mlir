// fd.merge_states on the CPU, without a GPU. Attention over a 100-token
// cache (GQA 4/2, D = 64, lengths {100, 0, 37}) is computed whole and in
// parts over disjoint token ranges -- [0, 60) and [60, 100), and [0, 30),
// [30, 60), [60, 100) -- each part with its own lse. Merging the parts'
// (out, lse) must give the whole's out and lse: the empty sequence a zero
// row and -inf, a sequence whose later parts are empty (lse -inf) its first
// part's result. One lse is passed as vLLM keeps them, [Hq, B] seen
// transposed.
//
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu)" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// CHECK: merge2
// CHECK-NEXT: 1
// CHECK: merge3
// CHECK-NEXT: 1

#kv = strided<[?, ?, ?, 1], offset: ?>
!q = memref<3x4x64xf16>
!c = memref<3x2x?x64xf16, #kv>
!lens = memref<3xi32>
!lse = memref<3x4xf32>
!lset = memref<3x4xf32, strided<[1, 3]>>

func.func @attend(%q: !q, %k: !c, %v: !c, %lens: !lens, %out: !q,
                  %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !c, !c, !lens)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32, softmax = #fd.online_softmax}
  return
}

func.func @merge2(%a: !q, %b: !q, %la: !lse, %lb: !lset, %out: !q,
                  %lse: !lse) {
  fd.merge_states ins(%a, %b : !q, !q) lses(%la, %lb : !lse, !lset)
      outs(%out : !q) lse(%lse : !lse)
  return
}

func.func @merge3(%a: !q, %b: !q, %c: !q, %la: !lse, %lb: !lse, %lc: !lse,
                  %out: !q, %lse: !lse) {
  fd.merge_states ins(%a, %b, %c : !q, !q, !q) lses(%la, %lb, %lc : !lse, !lse, !lse)
      outs(%out : !q) lse(%lse : !lse)
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

// lens of the part [lo, hi) of each full length: clamp(len - lo, 0, hi - lo).
func.func @part(%full: !lens, %lo: i32, %hi: i32, %out: !lens) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %z = arith.constant 0 : i32
  %w = arith.subi %hi, %lo : i32
  scf.for %b = %c0 to %c3 step %c1 {
    %l = memref.load %full[%b] : !lens
    %r = arith.subi %l, %lo : i32
    %p = arith.maxsi %r, %z : i32
    %m = arith.minsi %p, %w : i32
    memref.store %m, %out[%b] : !lens
  }
  return
}

// 1 when max |out - ref| < 3e-3, every lse within 1e-5 of the reference
// (relative above 1), and sequence 1 (empty) exactly 0 with lse -inf.
func.func @same(%out: !q, %lse: !lse, %ref: !q, %lref: !lse) -> i1 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %true = arith.constant true
  %ninf = arith.constant 0xFF800000 : f32
  %ok = scf.for %b = %c0 to %c3 step %c1 iter_args(%ok0 = %true) -> i1 {
    %ok1 = scf.for %h = %c0 to %c4 step %c1 iter_args(%oa = %ok0) -> i1 {
      %err = scf.for %d = %c0 to %c64 step %c1 iter_args(%ea = %zero) -> f32 {
        %o = memref.load %out[%b, %h, %d] : !q
        %r = memref.load %ref[%b, %h, %d] : !q
        %of = arith.extf %o : f16 to f32
        %rf = arith.extf %r : f16 to f32
        %diff = arith.subf %of, %rf : f32
        %ad = math.absf %diff : f32
        %ne = arith.maximumf %ea, %ad : f32
        scf.yield %ne : f32
      }
      %tol = arith.constant 3.0e-3 : f32
      %outOk = arith.cmpf olt, %err, %tol : f32
      %l = memref.load %lse[%b, %h] : !lse
      %lr = memref.load %lref[%b, %h] : !lse
      %isEmpty = arith.cmpi eq, %b, %c1 : index
      %lseOk = scf.if %isEmpty -> i1 {
        %e = arith.cmpf oeq, %l, %ninf : f32
        %o0 = memref.load %out[%b, %h, %c0] : !q
        %o0f = arith.extf %o0 : f16 to f32
        %z = arith.cmpf oeq, %o0f, %zero : f32
        %both = arith.andi %e, %z : i1
        scf.yield %both : i1
      } else {
        %ld = arith.subf %l, %lr : f32
        %lad = math.absf %ld : f32
        %mag = math.absf %lr : f32
        %den = arith.maximumf %mag, %one : f32
        %rel = arith.divf %lad, %den : f32
        %ltol = arith.constant 1.0e-5 : f32
        %e = arith.cmpf olt, %rel, %ltol : f32
        scf.yield %e : i1
      }
      %both = arith.andi %outOk, %lseOk : i1
      %next = arith.andi %oa, %both : i1
      scf.yield %next : i1
    }
    scf.yield %ok1 : i1
  }
  return %ok : i1
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %qflat = memref.alloc() : memref<768xf16>
  %kflat = memref.alloc() : memref<38400xf16>
  %vflat = memref.alloc() : memref<38400xf16>
  %qd = memref.cast %qflat : memref<768xf16> to memref<?xf16>
  %kd = memref.cast %kflat : memref<38400xf16> to memref<?xf16>
  %vd = memref.cast %vflat : memref<38400xf16> to memref<?xf16>
  %s1 = arith.constant 0.1 : f32
  %s2 = arith.constant 1.3 : f32
  %s3 = arith.constant 2.9 : f32
  call @fill(%qd, %s1) : (memref<?xf16>, f32) -> ()
  call @fill(%kd, %s2) : (memref<?xf16>, f32) -> ()
  call @fill(%vd, %s3) : (memref<?xf16>, f32) -> ()
  %q = memref.expand_shape %qflat [[0, 1, 2]] output_shape [3, 4, 64]
      : memref<768xf16> into !q
  %k4 = memref.expand_shape %kflat [[0, 1, 2, 3]] output_shape [3, 2, 100, 64]
      : memref<38400xf16> into memref<3x2x100x64xf16>
  %v4 = memref.expand_shape %vflat [[0, 1, 2, 3]] output_shape [3, 2, 100, 64]
      : memref<38400xf16> into memref<3x2x100x64xf16>
  // Token ranges of the cache as views: [0, 100), [0, 30), [30, 60),
  // [0, 60), [60, 100).
  %kall = memref.subview %k4[0, 0, 0, 0] [3, 2, 100, 64] [1, 1, 1, 1]
      : memref<3x2x100x64xf16> to memref<3x2x100x64xf16, strided<[12800, 6400, 64, 1]>>
  %vall = memref.subview %v4[0, 0, 0, 0] [3, 2, 100, 64] [1, 1, 1, 1]
      : memref<3x2x100x64xf16> to memref<3x2x100x64xf16, strided<[12800, 6400, 64, 1]>>
  %k = memref.cast %kall : memref<3x2x100x64xf16, strided<[12800, 6400, 64, 1]>> to !c
  %v = memref.cast %vall : memref<3x2x100x64xf16, strided<[12800, 6400, 64, 1]>> to !c
  %k60 = memref.subview %k4[0, 0, 60, 0] [3, 2, 40, 64] [1, 1, 1, 1]
      : memref<3x2x100x64xf16> to memref<3x2x40x64xf16, strided<[12800, 6400, 64, 1], offset: 3840>>
  %v60 = memref.subview %v4[0, 0, 60, 0] [3, 2, 40, 64] [1, 1, 1, 1]
      : memref<3x2x100x64xf16> to memref<3x2x40x64xf16, strided<[12800, 6400, 64, 1], offset: 3840>>
  %kb = memref.cast %k60 : memref<3x2x40x64xf16, strided<[12800, 6400, 64, 1], offset: 3840>> to !c
  %vb = memref.cast %v60 : memref<3x2x40x64xf16, strided<[12800, 6400, 64, 1], offset: 3840>> to !c
  %k30 = memref.subview %k4[0, 0, 30, 0] [3, 2, 30, 64] [1, 1, 1, 1]
      : memref<3x2x100x64xf16> to memref<3x2x30x64xf16, strided<[12800, 6400, 64, 1], offset: 1920>>
  %v30 = memref.subview %v4[0, 0, 30, 0] [3, 2, 30, 64] [1, 1, 1, 1]
      : memref<3x2x100x64xf16> to memref<3x2x30x64xf16, strided<[12800, 6400, 64, 1], offset: 1920>>
  %km = memref.cast %k30 : memref<3x2x30x64xf16, strided<[12800, 6400, 64, 1], offset: 1920>> to !c
  %vm = memref.cast %v30 : memref<3x2x30x64xf16, strided<[12800, 6400, 64, 1], offset: 1920>> to !c

  %lens = memref.alloc() : !lens
  %l100 = arith.constant 100 : i32
  %l0 = arith.constant 0 : i32
  %l37 = arith.constant 37 : i32
  memref.store %l100, %lens[%c0] : !lens
  memref.store %l0, %lens[%c1] : !lens
  memref.store %l37, %lens[%c2] : !lens
  %i0 = arith.constant 0 : i32
  %i30 = arith.constant 30 : i32
  %i60 = arith.constant 60 : i32
  %la = memref.alloc() : !lens
  %lb = memref.alloc() : !lens
  %lc = memref.alloc() : !lens
  %lab = memref.alloc() : !lens
  call @part(%lens, %i0, %i30, %la) : (!lens, i32, i32, !lens) -> ()
  call @part(%lens, %i30, %i60, %lb) : (!lens, i32, i32, !lens) -> ()
  call @part(%lens, %i60, %l100, %lc) : (!lens, i32, i32, !lens) -> ()
  call @part(%lens, %i0, %i60, %lab) : (!lens, i32, i32, !lens) -> ()

  %ref = memref.alloc() : !q
  %lref = memref.alloc() : !lse
  call @attend(%q, %k, %v, %lens, %ref, %lref) : (!q, !c, !c, !lens, !q, !lse) -> ()
  %oa = memref.alloc() : !q
  %ob = memref.alloc() : !q
  %oc = memref.alloc() : !q
  %sa = memref.alloc() : !lse
  %sb = memref.alloc() : !lse
  %sc = memref.alloc() : !lse
  %out = memref.alloc() : !q
  %lse = memref.alloc() : !lse

  // Two parts: [0, 60) and [60, 100); the second lse in a [Hq, B] buffer.
  call @attend(%q, %k, %v, %lab, %oa, %sa) : (!q, !c, !c, !lens, !q, !lse) -> ()
  call @attend(%q, %kb, %vb, %lc, %ob, %sb) : (!q, !c, !c, !lens, !q, !lse) -> ()
  %hb = memref.alloc() : memref<4x3xf32>
  scf.for %b = %c0 to %c3 step %c1 {
    scf.for %h = %c0 to %c4 step %c1 {
      %x = memref.load %sb[%b, %h] : !lse
      memref.store %x, %hb[%h, %b] : memref<4x3xf32>
    }
  }
  %hbt = memref.transpose %hb (h, b) -> (b, h)
      : memref<4x3xf32> to !lset
  call @merge2(%oa, %ob, %sa, %hbt, %out, %lse)
      : (!q, !q, !lse, !lset, !q, !lse) -> ()
  %ok2 = call @same(%out, %lse, %ref, %lref) : (!q, !lse, !q, !lse) -> i1
  vector.print str "merge2\n"
  vector.print %ok2 : i1

  // Three parts: [0, 30), [30, 60), [60, 100).
  call @attend(%q, %k, %v, %la, %oa, %sa) : (!q, !c, !c, !lens, !q, !lse) -> ()
  call @attend(%q, %km, %vm, %lb, %ob, %sb) : (!q, !c, !c, !lens, !q, !lse) -> ()
  call @attend(%q, %kb, %vb, %lc, %oc, %sc) : (!q, !c, !c, !lens, !q, !lse) -> ()
  call @merge3(%oa, %ob, %oc, %sa, %sb, %sc, %out, %lse)
      : (!q, !q, !q, !lse, !lse, !lse, !q, !lse) -> ()
  %ok3 = call @same(%out, %lse, %ref, %lref) : (!q, !lse, !q, !lse) -> i1
  vector.print str "merge3\n"
  vector.print %ok3 : i1
  return
}
