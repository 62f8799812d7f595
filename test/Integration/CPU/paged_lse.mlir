// Paged KV cache and the log-sum-exp output on the CPU, without a GPU. The
// K/V of split_vs_unsplit.mlir (GQA 4/2, D = 64, lengths {0, 1, 37, 64,
// 100}) are copied into page pools in a shuffled order -- token-major (NHD)
// pages of 16 tokens viewed as [num_pages, Hkv, 16, D], and pages of one
// token -- whose rows past each length hold NaN, so reading one would show.
// Each form, unsplit and split several ways, with online softmax and with
// unified max (a centred phi, and a phi so far off that every row takes the
// exact fallback), must match the f64 reference in `out` and in `lse`.
// The same pages are also addressed in FlashInfer's CSR form (page_indptr +
// a flat list of the pages each sequence reaches; i32 and i64 offsets).
//
// RUN: fd-opt %s --convert-fd-to-scf | fd-opt --pass-pipeline="builtin.module(fd-lower-to-cpu)" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{num-splits=7})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{chunk-size=1})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{sm-count=3 ctas-per-sm=2 min-chunk=8 chunk-align=4})" \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// CHECK: contiguous_online
// CHECK-NEXT: 1
// CHECK: paged16_online
// CHECK-NEXT: 1
// CHECK: paged1_online
// CHECK-NEXT: 1
// CHECK: paged16_unified
// CHECK-NEXT: 1
// CHECK: paged1_unified_fallback
// CHECK-NEXT: 1
// CHECK: csr16_online
// CHECK-NEXT: 1
// CHECK: csr1_online
// CHECK-NEXT: 1
// CHECK: csr16_unified
// CHECK-NEXT: 1

#kv = strided<[?, ?, ?, 1], offset: ?>
!q = memref<5x4x64xf16>
!c = memref<5x2x100x64xf16, #kv>
!p16 = memref<36x2x16x64xf16, #kv>
!p1 = memref<503x2x1x64xf16, #kv>
!lens = memref<5xi32>
!lse = memref<5x4xf32>

func.func @contiguous(%q: !q, %k: !c, %v: !c, %lens: !lens, %out: !q,
                      %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !c, !c, !lens)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32, softmax = #fd.online_softmax}
  return
}

func.func @paged16(%q: !q, %k: !p16, %v: !p16, %lens: !lens,
                   %table: memref<5x7xi32>, %out: !q, %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !p16, !p16, !lens)
      block_table(%table : memref<5x7xi32>)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32, softmax = #fd.online_softmax}
  return
}

func.func @paged1(%q: !q, %k: !p1, %v: !p1, %lens: !lens,
                  %table: memref<5x100xi32>, %out: !q, %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !p1, !p1, !lens)
      block_table(%table : memref<5x100xi32>)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32, softmax = #fd.online_softmax}
  return
}

func.func @paged16_unified(%q: !q, %k: !p16, %v: !p16, %lens: !lens,
                           %table: memref<5x7xi32>, %out: !q, %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !p16, !p16, !lens)
      block_table(%table : memref<5x7xi32>)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32,
       softmax = #fd.unified_max<phi = 4.0, threshold = 40.0>}
  return
}

// phi 100 with threshold 1: every non-empty row is outside the band.
func.func @paged1_unified(%q: !q, %k: !p1, %v: !p1, %lens: !lens,
                          %table: memref<5x100xi32>, %out: !q, %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !p1, !p1, !lens)
      block_table(%table : memref<5x100xi32>)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32,
       softmax = #fd.unified_max<phi = 100.0, threshold = 1.0>}
  return
}

func.func @csr16(%q: !q, %k: !p16, %v: !p16, %lens: !lens,
                 %indices: memref<?xi32>, %indptr: memref<6xi32>, %out: !q,
                 %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !p16, !p16, !lens)
      block_table(%indices : memref<?xi32>)
      page_indptr(%indptr : memref<6xi32>)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32, softmax = #fd.online_softmax}
  return
}

func.func @csr1(%q: !q, %k: !p1, %v: !p1, %lens: !lens,
                %indices: memref<?xi32>, %indptr: memref<6xi64>, %out: !q,
                %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !p1, !p1, !lens)
      block_table(%indices : memref<?xi32>)
      page_indptr(%indptr : memref<6xi64>)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32, softmax = #fd.online_softmax}
  return
}

func.func @csr16_unified(%q: !q, %k: !p16, %v: !p16, %lens: !lens,
                         %indices: memref<?xi32>, %indptr: memref<6xi32>,
                         %out: !q, %lse: !lse) {
  fd.decode_attention ins(%q, %k, %v, %lens : !q, !p16, !p16, !lens)
      block_table(%indices : memref<?xi32>)
      page_indptr(%indptr : memref<6xi32>)
      outs(%out : !q) lse(%lse : !lse)
      {scale = 0.5 : f32,
       softmax = #fd.unified_max<phi = 4.0, threshold = 40.0>}
  return
}

// The CSR form of a block table: sequence b's first ceil(lens[b] / ps)
// pages, one sequence after the other, from index 3 on (indices 0-2 hold
// page -1, which a kernel reading outside its sequence's list would trip
// over); indptr[b] (an index) where they start.
func.func @csr(%table: memref<5x?xi32>, %lens: !lens, %ps: index,
               %indices: memref<?xi32>, %indptr: memref<6xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %bad = arith.constant -1 : i32
  scf.for %i = %c0 to %c3 step %c1 {
    memref.store %bad, %indices[%i] : memref<?xi32>
  }
  %end = scf.for %b = %c0 to %c5 step %c1 iter_args(%at = %c3) -> index {
    memref.store %at, %indptr[%b] : memref<6xindex>
    %li = memref.load %lens[%b] : !lens
    %len = arith.index_cast %li : i32 to index
    %n = arith.ceildivui %len, %ps : index
    scf.for %j = %c0 to %n step %c1 {
      %pg = memref.load %table[%b, %j] : memref<5x?xi32>
      %slot = arith.addi %at, %j : index
      memref.store %pg, %indices[%slot] : memref<?xi32>
    }
    %next = arith.addi %at, %n : index
    scf.yield %next : index
  }
  memref.store %end, %indptr[%c5] : memref<6xindex>
  return
}

// f64 two-pass softmax over the contiguous cache; lse = m + ln(sum).
func.func @reference(%q: !q, %k: !c, %v: !c, %lens: !lens,
                     %out: memref<5x4x64xf64>, %lse: memref<5x4xf64>) {
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
    %li = memref.load %lens[%b] : !lens
    %len = arith.index_cast %li : i32 to index
    scf.for %h = %c0 to %c4 step %c1 {
      %g = arith.divui %h, %c2 : index
      %m = scf.for %t = %c0 to %len step %c1 iter_args(%mx = %lowest) -> f64 {
        %dot = scf.for %d = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> f64 {
          %qh = memref.load %q[%b, %h, %d] : !q
          %kh = memref.load %k[%b, %g, %t, %d] : !c
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
      %lg = math.log %den : f64
      %l = arith.addf %m, %lg : f64
      memref.store %l, %lse[%b, %h] : memref<5x4xf64>
      scf.for %d = %c0 to %c64 step %c1 {
        %num = scf.for %t = %c0 to %len step %c1 iter_args(%acc = %zero) -> f64 {
          %s = memref.load %scores[%t] : memref<100xf64>
          %x = arith.subf %s, %m : f64
          %e = math.exp %x : f64
          %vh = memref.load %v[%b, %g, %t, %d] : !c
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

// Every element of a flat buffer set to NaN.
func.func @poison(%buf: memref<?xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %buf, %c0 : memref<?xf16>
  %nan = arith.constant 0x7E00 : f16
  scf.for %i = %c0 to %n step %c1 {
    memref.store %nan, %buf[%i] : memref<?xf16>
  }
  return
}

// table[b, j] = ((b * maxPages + j) * mult) mod numPages (a permutation:
// mult is coprime to numPages), and the pool's page table[b, j] gets tokens
// [j * ps, (j + 1) * ps) of sequence b below its length, from the
// token-major contiguous caches ck, cv [B, L, Hkv, D]; pools token-major too.
func.func @paginate(%ck: memref<5x100x2x64xf16>, %cv: memref<5x100x2x64xf16>,
                    %lens: !lens, %table: memref<5x?xi32>,
                    %pk: memref<?x?x2x64xf16>, %pv: memref<?x?x2x64xf16>,
                    %mult: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %c64 = arith.constant 64 : index
  %maxPages = memref.dim %table, %c1 : memref<5x?xi32>
  %numPages = memref.dim %pk, %c0 : memref<?x?x2x64xf16>
  %ps = memref.dim %pk, %c1 : memref<?x?x2x64xf16>
  scf.for %b = %c0 to %c5 step %c1 {
    scf.for %j = %c0 to %maxPages step %c1 {
      %i0 = arith.muli %b, %maxPages : index
      %i1 = arith.addi %i0, %j : index
      %i2 = arith.muli %i1, %mult : index
      %page = arith.remui %i2, %numPages : index
      %pi = arith.index_cast %page : index to i32
      memref.store %pi, %table[%b, %j] : memref<5x?xi32>
    }
    %li = memref.load %lens[%b] : !lens
    %len = arith.index_cast %li : i32 to index
    scf.for %t = %c0 to %len step %c1 {
      %j = arith.divui %t, %ps : index
      %r = arith.remui %t, %ps : index
      %pg = memref.load %table[%b, %j] : memref<5x?xi32>
      %page = arith.index_cast %pg : i32 to index
      scf.for %h = %c0 to %c2 step %c1 {
        scf.for %d = %c0 to %c64 step %c1 {
          %kx = memref.load %ck[%b, %t, %h, %d] : memref<5x100x2x64xf16>
          memref.store %kx, %pk[%page, %r, %h, %d] : memref<?x?x2x64xf16>
          %vx = memref.load %cv[%b, %t, %h, %d] : memref<5x100x2x64xf16>
          memref.store %vx, %pv[%page, %r, %h, %d] : memref<?x?x2x64xf16>
        }
      }
    }
  }
  return
}

// 1 when max |out - ref| < 2e-3, row 0 (empty) is exactly zero, every lse
// of a non-empty row is within 1e-4 of the reference and row 0's is -inf.
func.func @check(%out: !q, %lse: !lse, %ref: memref<5x4x64xf64>,
                 %lref: memref<5x4xf64>) -> i1 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f64
  %true = arith.constant true
  %ninf = arith.constant 0xFF800000 : f32
  %ok = scf.for %b = %c0 to %c5 step %c1 iter_args(%ok0 = %true) -> i1 {
    %ok1 = scf.for %h = %c0 to %c4 step %c1 iter_args(%oa = %ok0) -> i1 {
      %err = scf.for %d = %c0 to %c64 step %c1 iter_args(%ea = %zero) -> f64 {
        %o = memref.load %out[%b, %h, %d] : !q
        %of = arith.extf %o : f16 to f64
        %r = memref.load %ref[%b, %h, %d] : memref<5x4x64xf64>
        %diff = arith.subf %of, %r : f64
        %ad = math.absf %diff : f64
        %ne = arith.maximumf %ea, %ad : f64
        scf.yield %ne : f64
      }
      %tol = arith.constant 2.0e-3 : f64
      %outOk = arith.cmpf olt, %err, %tol : f64
      %l = memref.load %lse[%b, %h] : !lse
      %isEmpty = arith.cmpi eq, %b, %c0 : index
      %lseOk = scf.if %isEmpty -> i1 {
        %e = arith.cmpf oeq, %l, %ninf : f32
        scf.yield %e : i1
      } else {
        %lf = arith.extf %l : f32 to f64
        %lr = memref.load %lref[%b, %h] : memref<5x4xf64>
        %ld = arith.subf %lf, %lr : f64
        %lad = math.absf %ld : f64
        %ltol = arith.constant 1.0e-4 : f64
        %e = arith.cmpf olt, %lad, %ltol : f64
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
  %c4 = arith.constant 4 : index
  %i2 = arith.constant 2 : index
  %i3 = arith.constant 3 : index
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
      : memref<1280xf16> into !q
  %kt = memref.expand_shape %kflat [[0, 1, 2, 3]] output_shape [5, 100, 2, 64]
      : memref<64000xf16> into memref<5x100x2x64xf16>
  %vt = memref.expand_shape %vflat [[0, 1, 2, 3]] output_shape [5, 100, 2, 64]
      : memref<64000xf16> into memref<5x100x2x64xf16>
  %kv = memref.transpose %kt (b, l, h, d) -> (b, h, l, d)
      : memref<5x100x2x64xf16> to memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>>
  %vv = memref.transpose %vt (b, l, h, d) -> (b, h, l, d)
      : memref<5x100x2x64xf16> to memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>>
  %k = memref.cast %kv : memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>> to !c
  %v = memref.cast %vv : memref<5x2x100x64xf16, strided<[12800, 64, 128, 1]>> to !c

  %lens = memref.alloc() : !lens
  %l0 = arith.constant 0 : i32
  %l1 = arith.constant 1 : i32
  %l2 = arith.constant 37 : i32
  %l3 = arith.constant 64 : i32
  %l4 = arith.constant 100 : i32
  memref.store %l0, %lens[%c0] : !lens
  memref.store %l1, %lens[%c1] : !lens
  memref.store %l2, %lens[%i2] : !lens
  memref.store %l3, %lens[%i3] : !lens
  memref.store %l4, %lens[%c4] : !lens

  // Pools of 16-token pages (36 = 35 used + 1) and of 1-token pages (503).
  %p16k = memref.alloc() : memref<73728xf16>
  %p16v = memref.alloc() : memref<73728xf16>
  %p1k = memref.alloc() : memref<64384xf16>
  %p1v = memref.alloc() : memref<64384xf16>
  %pools = arith.constant 0 : index
  %p16kd = memref.cast %p16k : memref<73728xf16> to memref<?xf16>
  %p16vd = memref.cast %p16v : memref<73728xf16> to memref<?xf16>
  %p1kd = memref.cast %p1k : memref<64384xf16> to memref<?xf16>
  %p1vd = memref.cast %p1v : memref<64384xf16> to memref<?xf16>
  call @poison(%p16kd) : (memref<?xf16>) -> ()
  call @poison(%p16vd) : (memref<?xf16>) -> ()
  call @poison(%p1kd) : (memref<?xf16>) -> ()
  call @poison(%p1vd) : (memref<?xf16>) -> ()
  %k16t = memref.expand_shape %p16k [[0, 1, 2, 3]] output_shape [36, 16, 2, 64]
      : memref<73728xf16> into memref<36x16x2x64xf16>
  %v16t = memref.expand_shape %p16v [[0, 1, 2, 3]] output_shape [36, 16, 2, 64]
      : memref<73728xf16> into memref<36x16x2x64xf16>
  %k1t = memref.expand_shape %p1k [[0, 1, 2, 3]] output_shape [503, 1, 2, 64]
      : memref<64384xf16> into memref<503x1x2x64xf16>
  %v1t = memref.expand_shape %p1v [[0, 1, 2, 3]] output_shape [503, 1, 2, 64]
      : memref<64384xf16> into memref<503x1x2x64xf16>
  %t16 = memref.alloc() : memref<5x7xi32>
  %t1 = memref.alloc() : memref<5x100xi32>
  %t16d = memref.cast %t16 : memref<5x7xi32> to memref<5x?xi32>
  %t1d = memref.cast %t1 : memref<5x100xi32> to memref<5x?xi32>
  %k16d = memref.cast %k16t : memref<36x16x2x64xf16> to memref<?x?x2x64xf16>
  %v16d = memref.cast %v16t : memref<36x16x2x64xf16> to memref<?x?x2x64xf16>
  %k1d = memref.cast %k1t : memref<503x1x2x64xf16> to memref<?x?x2x64xf16>
  %v1d = memref.cast %v1t : memref<503x1x2x64xf16> to memref<?x?x2x64xf16>
  %m11 = arith.constant 11 : index
  %m7 = arith.constant 7 : index
  call @paginate(%kt, %vt, %lens, %t16d, %k16d, %v16d, %m11)
      : (memref<5x100x2x64xf16>, memref<5x100x2x64xf16>, !lens,
         memref<5x?xi32>, memref<?x?x2x64xf16>, memref<?x?x2x64xf16>, index) -> ()
  call @paginate(%kt, %vt, %lens, %t1d, %k1d, %v1d, %m7)
      : (memref<5x100x2x64xf16>, memref<5x100x2x64xf16>, !lens,
         memref<5x?xi32>, memref<?x?x2x64xf16>, memref<?x?x2x64xf16>, index) -> ()
  // NHD pages viewed as [num_pages, Hkv, page_size, D].
  %k16s = memref.transpose %k16t (p, r, h, d) -> (p, h, r, d)
      : memref<36x16x2x64xf16> to memref<36x2x16x64xf16, strided<[2048, 64, 128, 1]>>
  %v16s = memref.transpose %v16t (p, r, h, d) -> (p, h, r, d)
      : memref<36x16x2x64xf16> to memref<36x2x16x64xf16, strided<[2048, 64, 128, 1]>>
  %k16 = memref.cast %k16s : memref<36x2x16x64xf16, strided<[2048, 64, 128, 1]>> to !p16
  %v16 = memref.cast %v16s : memref<36x2x16x64xf16, strided<[2048, 64, 128, 1]>> to !p16
  %k1s = memref.transpose %k1t (p, r, h, d) -> (p, h, r, d)
      : memref<503x1x2x64xf16> to memref<503x2x1x64xf16, strided<[128, 64, 128, 1]>>
  %v1s = memref.transpose %v1t (p, r, h, d) -> (p, h, r, d)
      : memref<503x1x2x64xf16> to memref<503x2x1x64xf16, strided<[128, 64, 128, 1]>>
  %k1 = memref.cast %k1s : memref<503x2x1x64xf16, strided<[128, 64, 128, 1]>> to !p1
  %v1 = memref.cast %v1s : memref<503x2x1x64xf16, strided<[128, 64, 128, 1]>> to !p1

  %ref = memref.alloc() : memref<5x4x64xf64>
  %lref = memref.alloc() : memref<5x4xf64>
  call @reference(%q, %k, %v, %lens, %ref, %lref)
      : (!q, !c, !c, !lens, memref<5x4x64xf64>, memref<5x4xf64>) -> ()
  %out = memref.alloc() : !q
  %lse = memref.alloc() : !lse

  call @contiguous(%q, %k, %v, %lens, %out, %lse)
      : (!q, !c, !c, !lens, !q, !lse) -> ()
  %ok0 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "contiguous_online\n"
  vector.print %ok0 : i1

  call @paged16(%q, %k16, %v16, %lens, %t16, %out, %lse)
      : (!q, !p16, !p16, !lens, memref<5x7xi32>, !q, !lse) -> ()
  %ok1 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "paged16_online\n"
  vector.print %ok1 : i1

  call @paged1(%q, %k1, %v1, %lens, %t1, %out, %lse)
      : (!q, !p1, !p1, !lens, memref<5x100xi32>, !q, !lse) -> ()
  %ok2 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "paged1_online\n"
  vector.print %ok2 : i1

  call @paged16_unified(%q, %k16, %v16, %lens, %t16, %out, %lse)
      : (!q, !p16, !p16, !lens, memref<5x7xi32>, !q, !lse) -> ()
  %ok3 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "paged16_unified\n"
  vector.print %ok3 : i1

  call @paged1_unified(%q, %k1, %v1, %lens, %t1, %out, %lse)
      : (!q, !p1, !p1, !lens, memref<5x100xi32>, !q, !lse) -> ()
  %ok4 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "paged1_unified_fallback\n"
  vector.print %ok4 : i1
  // CSR: 15 pages of 16 tokens (+3 poison slots), 202 of 1 token.
  %c6 = arith.constant 6 : index
  %c16 = arith.constant 16 : index
  %ip = memref.alloc() : memref<6xindex>
  %x16 = memref.alloc() : memref<18xi32>
  %x16d = memref.cast %x16 : memref<18xi32> to memref<?xi32>
  call @csr(%t16d, %lens, %c16, %x16d, %ip)
      : (memref<5x?xi32>, !lens, index, memref<?xi32>, memref<6xindex>) -> ()
  %ip32 = memref.alloc() : memref<6xi32>
  scf.for %i = %c0 to %c6 step %c1 {
    %x = memref.load %ip[%i] : memref<6xindex>
    %y = arith.index_cast %x : index to i32
    memref.store %y, %ip32[%i] : memref<6xi32>
  }
  call @csr16(%q, %k16, %v16, %lens, %x16d, %ip32, %out, %lse)
      : (!q, !p16, !p16, !lens, memref<?xi32>, memref<6xi32>, !q, !lse) -> ()
  %ok5 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "csr16_online\n"
  vector.print %ok5 : i1

  %x1 = memref.alloc() : memref<205xi32>
  %x1d = memref.cast %x1 : memref<205xi32> to memref<?xi32>
  call @csr(%t1d, %lens, %c1, %x1d, %ip)
      : (memref<5x?xi32>, !lens, index, memref<?xi32>, memref<6xindex>) -> ()
  %ip64 = memref.alloc() : memref<6xi64>
  scf.for %i = %c0 to %c6 step %c1 {
    %x = memref.load %ip[%i] : memref<6xindex>
    %y = arith.index_cast %x : index to i64
    memref.store %y, %ip64[%i] : memref<6xi64>
  }
  call @csr1(%q, %k1, %v1, %lens, %x1d, %ip64, %out, %lse)
      : (!q, !p1, !p1, !lens, memref<?xi32>, memref<6xi64>, !q, !lse) -> ()
  %ok6 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "csr1_online\n"
  vector.print %ok6 : i1

  call @csr16_unified(%q, %k16, %v16, %lens, %x16d, %ip32, %out, %lse)
      : (!q, !p16, !p16, !lens, memref<?xi32>, memref<6xi32>, !q, !lse) -> ()
  %ok7 = call @check(%out, %lse, %ref, %lref)
      : (!q, !lse, memref<5x4x64xf64>, memref<5x4xf64>) -> i1
  vector.print str "csr16_unified\n"
  vector.print %ok7 : i1
  return
}
