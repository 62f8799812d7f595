// RUN: fd-opt %s -split-input-file -verify-diagnostics
//
// Issue 16, item 7: every number an fd op carries has the range the kernels
// and the runtime accept, so fd-compile never writes a bundle the runtime
// then rejects (split fields and flat GEMM sizes are i32 in the manifest,
// fdb::kMaxCount; phi and threshold are f32 in the kernels).

// expected-error @+2 {{'num_splits' must be in [1, 2147483647], got 2147483648}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, num_splits = 2147483648 : i64, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'num_splits' must be in [1, 2147483647], got -1}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, num_splits = -1 : i64, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'chunk_size' must be in [1, 2147483647], got 9223372036854775807}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, chunk_size = 9223372036854775807 : i64, softmax = #fd.online_softmax}
  return
}

// -----

// The largest value the manifest holds is accepted.
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, chunk_size = 2147483647 : i64, softmax = #fd.online_softmax}
  return
}

// -----

// phi beyond f32 would be infinite in the kernels.
// expected-error @+2 {{unified_max: 'phi' must be in [-3.40282347e+38, 3.40282347e+38] (finite, an f32), got 1e+39}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, softmax = #fd.unified_max<phi = 1.0e39, threshold = 40.0>}
  return
}

// -----

// expected-error @+2 {{unified_max: 'phi' must be in [-3.40282347e+38, 3.40282347e+38] (finite, an f32), got nan}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, softmax = #fd.unified_max<phi = 0x7FF8000000000000, threshold = 40.0>}
  return
}

// -----

// expected-error @+2 {{unified_max: 'threshold' must be in (0, 3.40282347e+38] (finite, an f32), got 1e+39}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, softmax = #fd.unified_max<phi = 6.0, threshold = 1.0e39>}
  return
}

// -----

// expected-error @+2 {{unified_max: 'threshold' must be in (0, 3.40282347e+38] (finite, an f32), got -1}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, softmax = #fd.unified_max<phi = 6.0, threshold = -1.0>}
  return
}

// -----

// expected-error @+2 {{'scale' must be positive and finite, got 0}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.0 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'scale' must be positive and finite, got nan}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0x7FC00000 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// Hq = 0 (the runtime reads num_q_heads in [1, 65535]; fd's kernels unroll
// the group, so the verifier's bound is 1024).
// expected-error @+2 {{numbers of query heads (0) and KV heads (8) must be in [1, 1024]}}
func.func @f(%q: memref<?x0x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x0x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x0x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x0x128xf16>) {scale = 1.0 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{numbers of query heads (2048) and KV heads (8) must be in [1, 1024]}}
func.func @f(%q: memref<?x2048x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x2048x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x2048x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x2048x128xf16>) {scale = 1.0 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// A split plan's constants: positive (ODS), and i32 for the runtime.
// expected-error @+2 {{'sm_count' must be in [1, 2147483647], got 4294967296}}
func.func @f(%lens: memref<?xi32>) {
  %s, %c = fd.split_plan %lens : memref<?xi32> {num_kv_heads = 8, sm_count = 4294967296, ctas_per_sm = 2, min_chunk = 256, chunk_align = 64, max_splits = 256}
  return
}

// -----

// expected-error @+2 {{'max_splits' must be in [1, 2147483647], got 9223372036854775807}}
func.func @f(%lens: memref<?xi32>) {
  %s, %c = fd.split_plan %lens : memref<?xi32> {num_kv_heads = 8, sm_count = 132, ctas_per_sm = 2, min_chunk = 256, chunk_align = 64, max_splits = 9223372036854775807}
  return
}

// -----

// expected-error @+2 {{'num_kv_heads' must be in [1, 1024], got 100000}}
func.func @f(%lens: memref<?xi32>) {
  %s, %c = fd.split_plan %lens : memref<?xi32> {num_kv_heads = 100000, sm_count = 132, ctas_per_sm = 2, min_chunk = 256, chunk_align = 64, max_splits = 256}
  return
}

// -----

// Flat GEMM N and K: at least 1 (the tiling divides by them) and i32.
// expected-error @+2 {{N (0) and K (4096) must be in [1, 2147483647]}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<0x4096xf16>, %y: memref<?x0xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<0x4096xf16>) outs(%y : memref<?x0xf16>)
  return
}

// -----

// expected-error @+2 {{N (4096) and K (0) must be in [1, 2147483647]}}
func.func @f(%x: memref<?x0xf16>, %w: memref<4096x0xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x0xf16>, memref<4096x0xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{N (2147483648) and K (4096) must be in [1, 2147483647]}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<2147483648x4096xf16>, %y: memref<?x2147483648xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<2147483648x4096xf16>) outs(%y : memref<?x2147483648xf16>)
  return
}
