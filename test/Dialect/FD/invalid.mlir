// RUN: fd-opt %s -split-input-file -verify-diagnostics

// One case per verifier message of the fd ops (see FDOps.cpp).

// expected-error @+2 {{'query' must be a rank-3 memref [B, Hq, D], got rank 2}}
func.func @f(%q: memref<?x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'key' must be a rank-4 memref [B, Hkv, Lmax, D], got rank 3}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'value' must be a rank-4 memref [B, Hkv, Lmax, D], got rank 3}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'lengths' must be a rank-1 memref of i32 or i64 [B], got 'memref<?xi16>'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi16>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi16>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'lengths' must be a rank-1 memref of i32 or i64 [B], got 'memref<?x2xi32>'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?x2xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?x2xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'out' must be a rank-3 memref [B, Hq, D], got rank 4}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x1x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x1x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'key' must have innermost stride 1 (rows are read with 16-byte loads), got ?}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16, strided<[?, ?, ?, ?]>>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16, strided<[?, ?, ?, ?]>>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'value' must have innermost stride 1 (rows are read with 16-byte loads), got 2}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16, strided<[?, ?, 256, 2]>>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16, strided<[?, ?, 256, 2]>>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'query' must have a strided layout}}
func.func @f(%q: memref<?x32x128xf16, affine_map<(d0, d1, d2) -> (d0 floordiv 2, d1, d2)>>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16, affine_map<(d0, d1, d2) -> (d0 floordiv 2, d1, d2)>>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'query' element type must be f16 or bf16, got 'f32'}}
func.func @f(%q: memref<?x32x128xf32>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf32>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'key' element type 'bf16' does not match 'query' element type 'f16'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xbf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xbf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'value' element type 'f32' does not match 'query' element type 'f16'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf32>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf32>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'out' element type 'bf16' does not match 'query' element type 'f16'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xbf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xbf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{number of query heads Hq (dim 1 of 'query') must be static}}
func.func @f(%q: memref<?x?x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x?x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim D (dim 2 of 'query') must be static}}
func.func @f(%q: memref<?x32x?xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x?xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{number of KV heads Hkv (dim 1 of 'key') must be static}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x?x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x?x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim D must be 64, 128 or 256, got 96}}
func.func @f(%q: memref<?x32x96xf16>, %k: memref<?x8x?x96xf16>, %v: memref<?x8x?x96xf16>, %lens: memref<?xi32>, %out: memref<?x32x96xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x96xf16>, memref<?x8x?x96xf16>, memref<?x8x?x96xf16>, memref<?xi32>) outs(%out : memref<?x32x96xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{number of query heads 30 must be a multiple of the number of KV heads 8}}
func.func @f(%q: memref<?x30x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x30x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x30x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x30x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{batch mismatch: 'query' dim 0 is 2 but 'key' dim 0 is 3}}
func.func @f(%q: memref<2x32x128xf16>, %k: memref<3x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<2x32x128xf16>, memref<3x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{batch mismatch: 'query' dim 0 is 2 but 'lengths' dim 0 is 4}}
func.func @f(%q: memref<2x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<4xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<2x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<4xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{KV head mismatch: 'key' dim 1 is 8 but 'value' dim 1 is 4}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x4x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x4x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{sequence capacity mismatch: 'key' dim 2 is 1024 but 'value' dim 2 is 2048}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x1024x128xf16>, %v: memref<?x8x2048x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x1024x128xf16>, memref<?x8x2048x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim mismatch: 'query' dim 2 is 128 but 'key' dim 3 is 64}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x64xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x64xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{query head mismatch: 'out' dim 1 is 16 but 'query' dim 1 is 32}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x16x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x16x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{batch mismatch: 'out' dim 0 is 5 but 'query' dim 0 is 4}}
func.func @f(%q: memref<4x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<5x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<4x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<5x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim mismatch: 'out' dim 2 is 64 but 'query' dim 2 is 128}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x64xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x64xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'scale' must be positive and finite, got -1}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = -1.0 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'scale' must be positive and finite, got INF}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0x7F800000 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'num_splits' must be in [1, 2147483647], got 0}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, num_splits = 0 : i64, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'chunk_size' must be in [1, 2147483647], got -4}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, chunk_size = -4 : i64, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'num_splits' and 'chunk_size' are mutually exclusive: give at most one}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, num_splits = 2 : i64, chunk_size = 256 : i64, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{attribute 'softmax' failed to satisfy constraint}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, softmax = 1 : i32}
  return
}

// -----

// expected-error @+2 {{unified_max: 'phi' must be in [-3.40282347e+38, 3.40282347e+38] (finite, an f32), got inf}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, softmax = #fd.unified_max<phi = 0x7FF0000000000000, threshold = 40.0>}
  return
}

// -----

// expected-error @+2 {{unified_max: 'threshold' must be in (0, 3.40282347e+38] (finite, an f32), got 0}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 1.0 : f32, softmax = #fd.unified_max<phi = 6.0, threshold = 0.0>}
  return
}

// -----

// expected-error @+2 {{'lengths' must be a rank-1 memref of i32 or i64 [B], got 'memref<?xf32>'}}
func.func @f(%lens: memref<?xf32>) {
  %s, %c = fd.split_plan %lens : memref<?xf32> {num_kv_heads = 8, sm_count = 132, ctas_per_sm = 2, min_chunk = 256, chunk_align = 64, max_splits = 256}
  return
}

// -----

// expected-error @+2 {{attribute 'min_chunk' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
func.func @f(%lens: memref<?xi32>) {
  %s, %c = fd.split_plan %lens : memref<?xi32> {num_kv_heads = 8, sm_count = 132, ctas_per_sm = 2, min_chunk = 0, chunk_align = 64, max_splits = 256}
  return
}

// -----

// expected-error @+2 {{'acc' must be a rank-4 memref [B, Hq, S, D], got rank 3}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x128xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x128xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'max' must be a rank-3 memref [B, Hq, S], got rank 2}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x?x128xf32>, %max: memref<?x32xf32>, %sum: memref<?x32x?xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32xf32>, memref<?x32x?xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'sum' must be a rank-3 memref [B, Hq, S], got rank 4}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x?x128xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?x1xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf32>, memref<?x32x?x1xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'acc' element type 'f16' does not match the partial state type 'f32'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x?x128xf16>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x?x128xf16>, memref<?x32x?xf32>, memref<?x32x?xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'max' element type 'f64' does not match the partial state type 'f32'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x?x128xf32>, %max: memref<?x32x?xf64>, %sum: memref<?x32x?xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf64>, memref<?x32x?xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{split count mismatch: 'acc' dim 2 is 4 but 'sum' dim 2 is 8}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x4x128xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x8xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x4x128xf32>, memref<?x32x?xf32>, memref<?x32x8xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{query head mismatch: 'acc' dim 1 is 32 but 'max' dim 1 is 8}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x?x128xf32>, %max: memref<?x8x?xf32>, %sum: memref<?x32x?xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x8x?xf32>, memref<?x32x?xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim mismatch: 'acc' dim 3 is 64 but 'query' dim 2 is 128}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<?x32x?x64xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<?x32x?x64xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{batch mismatch: 'acc' dim 0 is 3 but 'query' dim 0 is 2}}
func.func @f(%q: memref<2x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %acc: memref<3x32x?x128xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %c: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<2x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%acc, %max, %sum : memref<3x32x?x128xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) chunk_size(%c) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'out' element type must be f16 or bf16, got 'f32'}}
func.func @f(%acc: memref<?x32x?x128xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %out: memref<?x32x128xf32>) {
  fd.merge_partials ins(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) outs(%out : memref<?x32x128xf32>) {softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim mismatch: 'out' dim 2 is 128 but 'acc' dim 3 is 64}}
func.func @f(%acc: memref<?x32x?x64xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_partials ins(%acc, %max, %sum : memref<?x32x?x64xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) outs(%out : memref<?x32x128xf16>) {softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim D must be 64, 128 or 256, got 32}}
func.func @f(%acc: memref<?x32x?x32xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %out: memref<?x32x32xf16>) {
  fd.merge_partials ins(%acc, %max, %sum : memref<?x32x?x32xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) outs(%out : memref<?x32x32xf16>) {softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{head dim D (dim 2 of 'out') must be static}}
func.func @f(%acc: memref<?x32x?x?xf32>, %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %out: memref<?x32x?xf16>) {
  fd.merge_partials ins(%acc, %max, %sum : memref<?x32x?x?xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) outs(%out : memref<?x32x?xf16>) {softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'x' must be a rank-2 memref [M, K], got rank 1}}
func.func @f(%x: memref<4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{'w' must be a rank-2 memref [N, K], got rank 3}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<1x4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<1x4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{'y' must be a rank-2 memref [M, N], got rank 1}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?xf16>)
  return
}

// -----

// expected-error @+2 {{'x' element type must be f16 or bf16, got 'f32'}}
func.func @f(%x: memref<?x4096xf32>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf32>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{'w' element type 'bf16' does not match 'x' element type 'f16'}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x4096xbf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xbf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{'y' element type must be f32 or the input type 'f16', got 'bf16'}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xbf16>)
  return
}

// -----

// expected-error @+2 {{N (dim 0 of 'w') must be static}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<?x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<?x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{K (dim 1 of 'w') must be static}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x?xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x?xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{K must be a multiple of 8 (rows are read with 16-byte loads), got 4100}}
func.func @f(%x: memref<?x4100xf16>, %w: memref<4096x4100xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4100xf16>, memref<4096x4100xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{K mismatch: 'x' dim 1 is 2048 but 'w' dim 1 is 4096}}
func.func @f(%x: memref<?x2048xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x2048xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{M mismatch: 'y' dim 0 is 8 but 'x' dim 0 is 4}}
func.func @f(%x: memref<4x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<8x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<4x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<8x4096xf16>)
  return
}

// -----

// expected-error @+2 {{N mismatch: 'y' dim 1 is 11008 but 'w' dim 0 is 4096}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x11008xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x11008xf16>)
  return
}

// -----

// expected-error @+2 {{'x' must have innermost stride 1 (rows are read with 16-byte loads), got 2}}
func.func @f(%x: memref<?x4096xf16, strided<[8192, 2]>>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16, strided<[8192, 2]>>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{'bias' must be a rank-1 memref [N], got rank 2}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>, %b: memref<1x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) bias(%b : memref<1x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{'bias' element type 'f32' does not match 'x' element type 'f16'}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>, %b: memref<4096xf32>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) bias(%b : memref<4096xf32>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// expected-error @+2 {{N mismatch: 'bias' dim 0 is 1024 but 'w' dim 0 is 4096}}
func.func @f(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>, %b: memref<1024xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) bias(%b : memref<1024xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

func.func @fallback_online(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %max: memref<?x32x?xf32>,
    %sum: memref<?x32x?xf32>, %out: memref<?x32x128xf16>,
    %flags: memref<?x32xi32>) {
  // The fallback only exists for the unified max.
  // expected-error @+5 {{attribute 'softmax' failed to satisfy constraint}}
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>,
      memref<?x32x?xf32>, memref<?x32x?xf32>)
      outs(%out, %flags : memref<?x32x128xf16>, memref<?x32xi32>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

func.func @fallback_flags_type(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %max: memref<?x32x?xf32>,
    %sum: memref<?x32x?xf32>, %out: memref<?x32x128xf16>,
    %flags: memref<?x32xf32>) {
  // expected-error @+1 {{'flags' element type 'f32' does not match the flag type 'i32'}}
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>,
      memref<?x32x?xf32>, memref<?x32x?xf32>)
      outs(%out, %flags : memref<?x32x128xf16>, memref<?x32xf32>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 0.0, threshold = 20.0>}
  return
}

// -----

func.func @fallback_flags_heads(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %max: memref<?x32x?xf32>,
    %sum: memref<?x32x?xf32>, %out: memref<?x32x128xf16>,
    %flags: memref<?x8xi32>) {
  // expected-error @+1 {{query head mismatch: 'flags' dim 1 is 8 but 'query' dim 1 is 32}}
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>,
      memref<?x32x?xf32>, memref<?x32x?xf32>)
      outs(%out, %flags : memref<?x32x128xf16>, memref<?x8xi32>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 0.0, threshold = 20.0>}
  return
}

// -----

func.func @fallback_stats(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %max: memref<?x32x4xf32>,
    %sum: memref<?x32x3xf32>, %out: memref<?x32x128xf16>,
    %flags: memref<?x32xi32>) {
  // expected-error @+1 {{split count mismatch: 'max' dim 2 is 4 but 'sum' dim 2 is 3}}
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>,
      memref<?x32x4xf32>, memref<?x32x3xf32>)
      outs(%out, %flags : memref<?x32x128xf16>, memref<?x32xi32>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 0.0, threshold = 20.0>}
  return
}

// -----

// Issue 16, item 1: Hkv = 0 was a division by zero in the verifier.
func.func @zero_kv_heads(%q: memref<?x8x64xf16>, %k: memref<?x0x?x64xf16>,
    %v: memref<?x0x?x64xf16>, %lens: memref<?xi32>, %out: memref<?x8x64xf16>) {
  // expected-error @+1 {{numbers of query heads (8) and KV heads (0) must be in [1, 1024]}}
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x0x?x64xf16>, memref<?x0x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x8x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// Issue 16, item 6: unbounded heads made the kernels grow without limit.
func.func @too_many_heads(%q: memref<?x2048x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>,
    %out: memref<?x2048x64xf16>) {
  // expected-error @+1 {{numbers of query heads (2048) and KV heads (8) must be in [1, 1024]}}
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x2048x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x2048x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

func.func @group_too_large(%q: memref<?x512x64xf16>, %k: memref<?x2x?x64xf16>,
    %v: memref<?x2x?x64xf16>, %lens: memref<?xi32>,
    %out: memref<?x512x64xf16>) {
  // expected-error @+1 {{group size Hq / Hkv = 256 is above the supported 128}}
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x512x64xf16>,
      memref<?x2x?x64xf16>, memref<?x2x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x512x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// Issue 16, item 2: a rank-3 acc was read at dim 3 before its rank was checked.
func.func @merge_acc_rank(%acc: memref<?x8x4xf32>, %max: memref<?x8x4xf32>,
    %sum: memref<?x8x4xf32>, %out: memref<?x8x64xf16>) {
  // expected-error @+1 {{'acc' must be a rank-4 memref [B, Hq, S, D], got rank 3}}
  fd.merge_partials ins(%acc, %max, %sum : memref<?x8x4xf32>,
      memref<?x8x4xf32>, memref<?x8x4xf32>)
      outs(%out : memref<?x8x64xf16>) {softmax = #fd.online_softmax}
  return
}

// -----

// Issue 16, item 3: K = 0 passed the verifier (0 % 8 == 0) and divided by
// zero in fd-tile-flat-gemm; N = 0 passed too.
func.func @gemm_k0(%x: memref<?x0xf16>, %w: memref<64x0xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{N (64) and K (0) must be in [1, 2147483647]}}
  fd.flat_gemm ins(%x, %w : memref<?x0xf16>, memref<64x0xf16>) outs(%y : memref<?x64xf16>)
  return
}

// -----

func.func @gemm_n0(%x: memref<?x64xf16>, %w: memref<0x64xf16>, %y: memref<?x0xf16>) {
  // expected-error @+1 {{N (0) and K (64) must be in [1, 2147483647]}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<0x64xf16>) outs(%y : memref<?x0xf16>)
  return
}

// -----
// Paged KV cache: the block table's rank and type, its batch, the static
// page size and its range, K and V pools that disagree.

// expected-error @+2 {{'block_table' must be a rank-2 memref of i32 or i64 [B, max_pages] (or, with 'page_indptr', rank-1 [nnz_pages]), got 'memref<?xi32>'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<?xi32>, %t: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<?xi32>) block_table(%t : memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'block_table' must be a rank-2 memref of i32 or i64 [B, max_pages] (or, with 'page_indptr', rank-1 [nnz_pages]), got 'memref<?x?xf32>'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xf32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xf32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{batch mismatch: 'query' dim 0 is 4 but 'block_table' dim 0 is 3}}
func.func @f(%q: memref<4x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<4xi32>, %t: memref<3x?xi32>, %out: memref<4x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<4x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<4xi32>) block_table(%t : memref<3x?xi32>) outs(%out : memref<4x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{page size (dim 2 of 'key') must be static}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{page size (dim 2 of 'key') must be in [1, 65536], got 131072}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x131072x128xf16>, %v: memref<?x8x131072x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x131072x128xf16>, memref<?x8x131072x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{page size (dim 2 of 'key') must be in [1, 65536], got 0}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x0x128xf16>, %v: memref<?x8x0x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x0x128xf16>, memref<?x8x0x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{page count mismatch: 'key' dim 0 is 100 but 'value' dim 0 is 99}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<100x8x16x128xf16>, %v: memref<99x8x16x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<100x8x16x128xf16>, memref<99x8x16x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{page size mismatch: 'key' dim 2 is 16 but 'value' dim 2 is 32}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x32x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x32x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'key' must be a rank-4 memref [num_pages, Hkv, page_size, D], got rank 5}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x2x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x2x8x16x128xf16>, memref<?x8x16x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----
// The log-sum-exp output: rank, element type, batch and heads.

// expected-error @+2 {{'lse' must be a rank-2 memref [B, Hq], got rank 3}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>, %lse: memref<?x32x1xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32x1xf32>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'lse' element type 'f16' does not match the log-sum-exp type 'f32'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>, %lse: memref<?x32xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{query head mismatch: 'lse' dim 1 is 8 but 'query' dim 1 is 32}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>, %lse: memref<?x8xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>) outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x8xf32>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{batch mismatch: 'lse' dim 0 is 2 but 'out' dim 0 is 4}}
func.func @f(%acc: memref<4x32x?x128xf32>, %max: memref<4x32x?xf32>, %sum: memref<4x32x?xf32>, %out: memref<4x32x128xf16>, %lse: memref<2x32xf32>) {
  fd.merge_partials ins(%acc, %max, %sum : memref<4x32x?x128xf32>, memref<4x32x?xf32>, memref<4x32x?xf32>) outs(%out : memref<4x32x128xf16>) lse(%lse : memref<2x32xf32>) {softmax = #fd.online_softmax}
  return
}


// -----
// CSR page addressing (page_indptr): it needs a flat table of page
// numbers, and indptr is [B + 1] of i32 or i64.

// expected-error @+2 {{'page_indptr' needs 'block_table': CSR addressing reads page numbers from it}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<?xi32>, %p: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<?xi32>) page_indptr(%p : memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{with 'page_indptr', 'block_table' must be a rank-1 memref of i32 or i64 [nnz_pages] (CSR page indices), got 'memref<?x?xi32>'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<?xi32>, %t: memref<?x?xi32>, %p: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<?xi32>) block_table(%t : memref<?x?xi32>) page_indptr(%p : memref<?xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'page_indptr' must be a rank-1 memref of i32 or i64 [B + 1], got 'memref<?xf32>'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<?xi32>, %t: memref<?xi32>, %p: memref<?xf32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<?xi32>) block_table(%t : memref<?xi32>) page_indptr(%p : memref<?xf32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'page_indptr' must be a rank-1 memref of i32 or i64 [B + 1], got 'memref<?x2xi32>'}}
func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<?xi32>, %t: memref<?xi32>, %p: memref<?x2xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<?xi32>) block_table(%t : memref<?xi32>) page_indptr(%p : memref<?x2xi32>) outs(%out : memref<?x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// expected-error @+2 {{'page_indptr' has 4 entries; a batch of 4 needs 5 (B + 1)}}
func.func @f(%q: memref<4x32x128xf16>, %k: memref<?x8x16x128xf16>, %v: memref<?x8x16x128xf16>, %lens: memref<4xi32>, %t: memref<?xi64>, %p: memref<4xi64>, %out: memref<4x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<4x32x128xf16>, memref<?x8x16x128xf16>, memref<?x8x16x128xf16>, memref<4xi32>) block_table(%t : memref<?xi64>) page_indptr(%p : memref<4xi64>) outs(%out : memref<4x32x128xf16>) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----
// fd.merge_states: the number of states, one lse per state, out's type and shape, each state against out, each lse's rank, type and shape.

// expected-error @+2 {{merges 2 to 16 states, got 1}}
func.func @f(%s0: memref<?x32x128xf16>, %l0: memref<?x32xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%s0 : memref<?x32x128xf16>) lses(%l0 : memref<?x32xf32>) outs(%out : memref<?x32x128xf16>)
  return
}

// -----

// expected-error @+2 {{has 2 states but 1 log-sum-exps: one 'lses' operand per state}}
func.func @f(%s0: memref<?x32x128xf16>, %s1: memref<?x32x128xf16>, %l0: memref<?x32xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf16>, memref<?x32x128xf16>) lses(%l0 : memref<?x32xf32>) outs(%out : memref<?x32x128xf16>)
  return
}

// -----

// expected-error @+2 {{'out' element type must be f16 or bf16, got 'f32'}}
func.func @f(%s0: memref<?x32x128xf32>, %s1: memref<?x32x128xf32>, %l0: memref<?x32xf32>, %l1: memref<?x32xf32>, %out: memref<?x32x128xf32>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf32>, memref<?x32x128xf32>) lses(%l0, %l1 : memref<?x32xf32>, memref<?x32xf32>) outs(%out : memref<?x32x128xf32>)
  return
}

// -----

// expected-error @+2 {{head dim D must be 64, 128 or 256, got 96}}
func.func @f(%s0: memref<?x32x96xf16>, %s1: memref<?x32x96xf16>, %l0: memref<?x32xf32>, %l1: memref<?x32xf32>, %out: memref<?x32x96xf16>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x96xf16>, memref<?x32x96xf16>) lses(%l0, %l1 : memref<?x32xf32>, memref<?x32xf32>) outs(%out : memref<?x32x96xf16>)
  return
}

// -----

// expected-error @+2 {{'states #1' element type 'bf16' does not match 'out' element type 'f16'}}
func.func @f(%s0: memref<?x32x128xf16>, %s1: memref<?x32x128xbf16>, %l0: memref<?x32xf32>, %l1: memref<?x32xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf16>, memref<?x32x128xbf16>) lses(%l0, %l1 : memref<?x32xf32>, memref<?x32xf32>) outs(%out : memref<?x32x128xf16>)
  return
}

// -----

// expected-error @+2 {{query head mismatch: 'states #1' dim 1 is 16 but 'out' dim 1 is 32}}
func.func @f(%s0: memref<?x32x128xf16>, %s1: memref<?x16x128xf16>, %l0: memref<?x32xf32>, %l1: memref<?x32xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf16>, memref<?x16x128xf16>) lses(%l0, %l1 : memref<?x32xf32>, memref<?x32xf32>) outs(%out : memref<?x32x128xf16>)
  return
}

// -----

// expected-error @+2 {{'states #0' must have innermost stride 1}}
func.func @f(%s0: memref<?x32x128xf16, strided<[?, ?, 2]>>, %s1: memref<?x32x128xf16>, %l0: memref<?x32xf32>, %l1: memref<?x32xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf16, strided<[?, ?, 2]>>, memref<?x32x128xf16>) lses(%l0, %l1 : memref<?x32xf32>, memref<?x32xf32>) outs(%out : memref<?x32x128xf16>)
  return
}

// -----

// expected-error @+2 {{'lses #1' must be a strided rank-2 memref [B, Hq], got 'memref<?xf32>'}}
func.func @f(%s0: memref<?x32x128xf16>, %s1: memref<?x32x128xf16>, %l0: memref<?x32xf32>, %l1: memref<?xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf16>, memref<?x32x128xf16>) lses(%l0, %l1 : memref<?x32xf32>, memref<?xf32>) outs(%out : memref<?x32x128xf16>)
  return
}

// -----

// expected-error @+2 {{'lses #0' element type 'f16' does not match the log-sum-exp type 'f32'}}
func.func @f(%s0: memref<?x32x128xf16>, %s1: memref<?x32x128xf16>, %l0: memref<?x32xf16>, %l1: memref<?x32xf32>, %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf16>, memref<?x32x128xf16>) lses(%l0, %l1 : memref<?x32xf16>, memref<?x32xf32>) outs(%out : memref<?x32x128xf16>)
  return
}

// -----

// expected-error @+2 {{query head mismatch: 'lse' dim 1 is 8 but 'out' dim 1 is 32}}
func.func @f(%s0: memref<?x32x128xf16>, %s1: memref<?x32x128xf16>, %l0: memref<?x32xf32>, %l1: memref<?x32xf32>, %out: memref<?x32x128xf16>, %lse: memref<?x8xf32>) {
  fd.merge_states ins(%s0, %s1 : memref<?x32x128xf16>, memref<?x32x128xf16>) lses(%l0, %l1 : memref<?x32xf32>, memref<?x32xf32>) outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x8xf32>)
  return
}
