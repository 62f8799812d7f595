// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu | FileCheck %s
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="mma-min-group=0" | FileCheck %s --check-prefix=OFF
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="mma-min-group=6" | FileCheck %s --check-prefix=MIN6
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="mma-stages=3" | FileCheck %s --check-prefix=STAGES
// RUN: fd-compile %s --no-ptxas -o %t.fdb --ptx-out=%t.ptx && FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="mma-warps=8" | FileCheck %s --check-prefix=WARPS8
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="speculative-first-tile=1" | FileCheck %s --check-prefix=SPEC
// RUN: fd-compile %s --no-ptxas --options="mma-warps=8" -o %t8.fdb --ptx-out=%t8.ptx && FileCheck %s --check-prefix=PTX8 < %t8.ptx

// GQA (group 4, D = 128, f16): the partial and unsplit kernels run on tensor
// cores with 4 warps and a 4-stage cp.async ring of 64-token K/V tiles in
// dynamic shared memory: Q [16][136] (padded rows) + 2 x 4 x [64][128] f16
// (dense, XOR-swizzled rows) = 135424 bytes.
// CHECK-LABEL: gpu.func @gqa4_partial_online
// CHECK-SAME: fd.dynamic_smem = 135424
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// The length is loaded first (every K/V copy needs it); its first use
// comes after the split's first tile of K, then of V, is prefetched into
// L2 (one 128-byte line a thread, rows inside the cache's capacity) and
// after Q's copies.
// CHECK: %[[LEN:.*]] = memref.load %arg3[%block_id_z] : memref<?xi32>
// CHECK-NOT: %[[LEN]]
// CHECK: memref.extract_aligned_pointer_as_index %arg1
// CHECK: scf.if
// CHECK: llvm.inline_asm has_side_effects "prefetch.L2 [$0];", "l"
// CHECK: memref.extract_aligned_pointer_as_index %arg2
// CHECK: llvm.inline_asm has_side_effects "prefetch.L2 [$0];", "l"
// The K and V copies' offsets start from their memrefs' strides.
// CHECK-NOT: %[[LEN]]
// CHECK: memref.extract_strided_metadata %arg1
// CHECK: memref.extract_strided_metadata %arg2
// Q's 16 rows (2 x 16 bytes per thread, rows past the group of 4 zero-filled)
// by cp.async, in a group of their own issued before the K/V copies, which
// wait for the sequence length.
// CHECK-NOT: %[[LEN]]
// CHECK: nvgpu.device_async_copy %arg0{{.*}} to memref<16x136xf16
// CHECK-NEXT: arith.addi
// CHECK: nvgpu.device_async_copy %arg0{{.*}} to memref<16x136xf16
// CHECK-NEXT: nvgpu.device_async_create_group
// CHECK-NEXT: arith.index_cast %[[LEN]]
// Prologue: tiles 0, 1 and 2 (8 K and 8 V pieces of 16 bytes per thread
// each), each copied only if the split has it; an empty group takes the
// place of a tile past the end, so the ring's waits count the same groups.
// A copy reads through a view at an element offset: one multiply by the
// token stride a tile, an add and a select a copy.
// CHECK-COUNT-3: scf.if %{{.*}} -> (!nvgpu.device.async.token) {
// CHECK: memref.reinterpret_cast %arg1 to offset: [%[[AT:.*]]], sizes: [8], strides: [1] : memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>> to memref<8xf16, strided<[1], offset: ?>>
// CHECK-NEXT: arith.select
// CHECK-NEXT: nvgpu.device_async_copy %reinterpret_cast{{.*}}[%c0], %{{.*}}, 8, %{{.*}} {bypassL1}
// CHECK-COUNT-7: nvgpu.device_async_copy %reinterpret_cast{{.*}} {bypassL1}
// CHECK-COUNT-8: memref.reinterpret_cast %arg2
// CHECK: nvgpu.device_async_create_group
// CHECK-NEXT: scf.yield
// CHECK-NEXT: } else {
// CHECK-NEXT: nvgpu.device_async_create_group{{ *$}}
// CHECK-NEXT: scf.yield
// speculative-first-tile: no prefetch; Q's copies, then tile 0 from split x
// chunk with rows bounded by the cache's capacity, unconditionally, before
// the length's first use; then tiles 1 and 2 as above.
// SPEC-LABEL: gpu.func @gqa4_partial_online
// SPEC: %[[LEN:.*]] = memref.load %arg3[%block_id_z] : memref<?xi32>
// SPEC-NOT: prefetch.L2
// SPEC-NOT: %[[LEN]]
// SPEC: nvgpu.device_async_copy %arg0{{.*}} to memref<16x136xf16
// SPEC: nvgpu.device_async_copy %arg0{{.*}} to memref<16x136xf16
// SPEC-NEXT: nvgpu.device_async_create_group
// SPEC-NOT: %[[LEN]]
// SPEC-NOT: scf.if
// SPEC-COUNT-16: nvgpu.device_async_copy %reinterpret_cast{{.*}} {bypassL1}
// SPEC-NEXT: nvgpu.device_async_create_group
// SPEC-NEXT: arith.index_cast %[[LEN]]
// SPEC-COUNT-2: scf.if %{{.*}} -> (!nvgpu.device.async.token) {
// On the first step, before the barrier that publishes tile 0: zeros over
// this thread's V rows at or past the split's end (8 of them).
// SPEC: scf.for
// SPEC: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// SPEC-NEXT: arith.cmpi eq
// SPEC-NEXT: scf.if
// SPEC-COUNT-8: vector.store %{{.*}} : memref<4x64x128xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// SPEC: gpu.barrier
// SPEC-LABEL: gpu.func @gqa4_unsplit_online
// Only Q's group waited for (3 K/V groups stay in flight), then its 8 A
// fragments (k = 16 each).
// CHECK-NEXT: }
// CHECK-NEXT: nvgpu.device_async_wait %{{.*}} {numGroups = 3 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-8: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<16x136xf16
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK-NEXT: gpu.barrier
// S = Q K^T: K fragments by ldmatrix as stored, two n tiles per x4.
// The ring column of each ldmatrix row address: chunk ^ (lane % 8).
// CHECK: arith.xori
// CHECK: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = false} : memref<4x64x128xf16
// CHECK: nvgpu.mma.sync
// The row max over the quad: xor 1 and 2 only.
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32
// CHECK-NOT: gpu.shuffle  xor %{{.*}}, %c4_i32
// P V: V fragments by ldmatrix.trans, P in registers.
// CHECK: arith.xori
// CHECK: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = true} : memref<4x64x128xf16
// CHECK: nvgpu.mma.sync
// CHECK: scf.yield
// Drained before the ring becomes the warps' combine buffers.
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK: memref.view {{.*}} to memref<4x16x128xf32, #gpu.address_space<workgroup>>
// Group 4 fills the lower half of the m = 16 rows only: each thread stores
// that half's accumulators, two columns a store, and none of rows 8-15.
// CHECK-COUNT-16: vector.store %{{.*}} {alignment = 8 : i64} : memref<4x16x128xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK-NOT: vector.store
// CHECK: gpu.barrier
// Every head's warp states are in shared memory at once: the four heads'
// combines and partial stores follow with no barrier between them.
// CHECK-COUNT-4: memref.store %{{.*}}, %arg{{[0-9]+}}[%block_id_z, %{{.*}}, %block_id_x, %{{.*}}] : memref<?x32x?x128xf32>
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
// The unsplit kernel (the sequences alone fill the GPU) keeps 3 stages, two
// CTAs per SM: 4352 + 2 x 3 x 16384 bytes.
// CHECK-LABEL: gpu.func @gqa4_unsplit_online
// CHECK-SAME: fd.dynamic_smem = 102656
// CHECK: nvgpu.mma.sync
// CHECK-LABEL: gpu.func @gqa4_merge_online

// 3 stages: 4352 + 2 x 3 x 16384 bytes (two CTAs per SM); at D = 256
// 8448 + 2 x 3 x 32768.
// STAGES-LABEL: gpu.func @gqa4_partial_online
// STAGES-SAME: fd.dynamic_smem = 102656
// STAGES: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// STAGES-LABEL: gpu.func @gqa5_d256_partial_online
// STAGES-SAME: fd.dynamic_smem = 205056

// OFF-LABEL: gpu.func @gqa4_partial_online
// OFF-NOT: fd.dynamic_smem
// OFF-NOT: nvgpu.mma.sync
// OFF: gpu.return
// MIN6-LABEL: gpu.func @gqa4_partial_online
// MIN6-NOT: nvgpu.mma.sync
// MIN6: gpu.return

// PTX-LABEL: .entry gqa4_partial_online
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16, {{.*}};
// PTX: cp.async.wait_group 2;
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// mma-warps=8: 256 threads, each warp 8 tokens of a tile. The same ring;
// a thread copies 1 piece of Q and 4 + 4 of K/V per tile. S takes two k
// steps per K ldmatrix.x4 (4 a tile), P V four d tiles per V x4.trans, as
// m16n8k8 MMAs whose A is S's accumulator tile. The combine reads 8 warps.
// WARPS8-LABEL: gpu.func @gqa4_partial_online
// WARPS8-SAME: fd.dynamic_smem = 135424
// WARPS8-SAME: known_block_size = array<i32: 256, 1, 1>
// WARPS8: nvgpu.device_async_copy %arg0{{.*}} to memref<16x136xf16
// WARPS8-NEXT: nvgpu.device_async_create_group
// WARPS8-COUNT-4: nvgpu.device_async_copy %reinterpret_cast{{.*}} to memref<4x64x128xf16
// WARPS8-COUNT-4: nvgpu.device_async_copy %reinterpret_cast{{.*}} to memref<4x64x128xf16
// WARPS8-NEXT: nvgpu.device_async_create_group
// WARPS8: scf.for
// WARPS8-COUNT-4: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = false} : memref<4x64x128xf16
// WARPS8-NOT: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = false} : memref<4x64x128xf16
// WARPS8: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// WARPS8-COUNT-4: nvvm.mma.sync {{.*}} shape = #nvvm.shape<m = 16, n = 8, k = 8>
// WARPS8: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = true} : memref<4x64x128xf16
// WARPS8: scf.yield
// WARPS8: memref.view {{.*}} to memref<8x16x128xf32, #gpu.address_space<workgroup>>
// WARPS8-LABEL: gpu.func @gqa4_unsplit_online
// WARPS8-SAME: known_block_size = array<i32: 256, 1, 1>
// PTX8-LABEL: .entry gqa4_partial_online
// PTX8: .maxntid 256, 1, 1
// PTX8: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX8: mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32
func.func @gqa4(%q: memref<?x32x128xf16>,
    %k: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.088388 : f32, softmax = #fd.online_softmax}
  return
}

// Group 5 (FlashInfer's CUDA-core path refuses it), D = 256, bf16: rows
// 5-15 of the m side are zero; bf16 MMAs are nvvm.mma.sync (nvgpu cannot
// type them); Q is re-read from shared memory per tile (no registers left at
// D = 256) and the ring has 2 stages: Q [16][264] + 2 x 2 x [64][256] bf16.
// CHECK-LABEL: gpu.func @gqa5_d256_partial_online
// CHECK-SAME: fd.dynamic_smem = 139520
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK: nvgpu.ldmatrix %{{.*}} : memref<16x264xbf16
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>
// MIN6-LABEL: gpu.func @gqa5_d256_partial_online
// MIN6-NOT: nvvm.mma.sync
// MIN6: gpu.return
// PTX-LABEL: .entry gqa5_d256_partial_online
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// WARPS8-LABEL: gpu.func @gqa5_d256_partial_online
// WARPS8-SAME: known_block_size = array<i32: 256, 1, 1>
// WARPS8: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>{{.*}} shape = #nvvm.shape<m = 16, n = 8, k = 8>
// PTX8-LABEL: .entry gqa5_d256_partial_online
// PTX8: mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32
func.func @gqa5_d256(%q: memref<?x40x256xbf16>, %k: memref<?x8x?x256xbf16>,
    %v: memref<?x8x?x256xbf16>, %lens: memref<?xi32>,
    %out: memref<?x40x256xbf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x40x256xbf16>,
      memref<?x8x?x256xbf16>, memref<?x8x?x256xbf16>, memref<?xi32>)
      outs(%out : memref<?x40x256xbf16>)
      {scale = 0.0625 : f32, softmax = #fd.online_softmax}
  return
}

// Group 12 (D = 64) fills both halves: the upper half's softmax runs (four
// quad shuffles a tile: two per half) and its accumulators are stored too.
// CHECK-LABEL: gpu.func @gqa12_d64_partial_online
// CHECK: scf.for
// CHECK-COUNT-2: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// CHECK: scf.yield
// CHECK: memref.view {{.*}} to memref<4x16x64xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-16: vector.store %{{.*}} : memref<4x16x64xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK-NOT: vector.store
// CHECK: gpu.barrier
// Below D = 128 256 threads would not copy whole query rows: 4 warps stay.
// WARPS8-LABEL: gpu.func @gqa12_d64_partial_online
// WARPS8-SAME: known_block_size = array<i32: 128, 1, 1>
// WARPS8: memref.view {{.*}} to memref<4x16x64xf32, #gpu.address_space<workgroup>>
func.func @gqa12_d64(%q: memref<?x24x64xf16>, %k: memref<?x2x?x64xf16>,
    %v: memref<?x2x?x64xf16>, %lens: memref<?xi32>,
    %out: memref<?x24x64xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x24x64xf16>,
      memref<?x2x?x64xf16>, memref<?x2x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x24x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// MHA stays on CUDA cores.
// CHECK-LABEL: gpu.func @mha_partial_online
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.return
func.func @mha(%q: memref<?x8x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %out: memref<?x8x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%out : memref<?x8x128xf16>)
      {scale = 0.088388 : f32, softmax = #fd.online_softmax}
  return
}

// Unified max on tensor cores: the two-kernel partial and the single-launch
// kernel share the token loop (p = 2^(x - tile max), scaled by
// 2^(tile max - phi) into O); the merge's row fallback stays on CUDA cores.
// CHECK-LABEL: gpu.func @umax_partial_unified
// CHECK-SAME: fd.dynamic_smem
// CHECK: nvgpu.mma.sync
// CHECK-LABEL: gpu.func @umax_merge_unified
// CHECK-NOT: nvgpu.mma.sync
// CHECK-LABEL: gpu.func @umax_single_unified
// CHECK-SAME: fd.dynamic_smem
// CHECK: nvgpu.mma.sync
func.func @umax(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.088388 : f32,
       softmax = #fd.unified_max<phi = 0.0, threshold = 40.0>}
  return
}
