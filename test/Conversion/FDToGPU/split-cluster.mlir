// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="cluster-splits=8" | FileCheck %s
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="cluster-splits=4" | FileCheck %s --check-prefix=C4
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="cluster-splits=16" | FileCheck %s --check-prefix=C16
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="cluster-splits=0" | FileCheck %s --check-prefix=OFF
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu | FileCheck %s --check-prefix=C4
// RUN: fd-compile %s --no-ptxas --options="cluster-splits=8" -o %t.fdb --ptx-out=%t.ptx && FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t.fdb

// split_cluster: the split kernel's work and the merge in one launch, on
// either engine. A
// cluster of 8 CTAs per (sequence, KV head), grid ("8", Hkv, B); each CTA
// takes ceil(len / 8) rounded up to 64-token tiles of its own sequence, read
// on the device (no chunk argument, no workspace), combines its warps, keeps
// its (acc[128], max, sum) per query head in shared memory past the
// combine's 4 x 16 x 130 floats (offset 33280), and after a cluster barrier
// merges one share of the group's 4 x 128 outputs from all 8 CTAs.
// CHECK-LABEL: gpu.func @gqa4_cluster_online
// CHECK-SAME: %arg3: memref<?xi32> {fd.binding = "lens"}, %arg4: memref<?x32x128xf16> {fd.binding = "out"})
// CHECK-SAME: fd.cluster = [8, 1, 1]
// CHECK-SAME: fd.grid = ["8", "Hkv", "B"], fd.role = "fused"
// CHECK-SAME: fd.variant = "split_cluster"
// CHECK-SAME: nvvm.cluster_dim = array<i32: 8, 1, 1>
// The chunk from this sequence's length: ceil(len / 8), whole tiles.
// CHECK: %[[LEN:.*]] = memref.load %arg3[%block_id_z]
// CHECK: arith.divui %{{.*}}, %c8
// CHECK: arith.divui %{{.*}}, %c64
// CHECK: arith.muli %{{.*}}, %c64
// CHECK: arith.muli %block_id_x
// CHECK: memref.view %{{.*}}[%c33280][] {{.*}} to memref<4x130xf32, #gpu.address_space<workgroup>>
// CHECK: memref.store %{{.*}}[%c3, %c129] : memref<4x130xf32
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-COUNT-8: nvvm.mapa
// One 512-element step over the cluster's 1024 threads, guarded: 3 loads
// (acc, max, sum) from each of the 8 CTAs.
// CHECK: scf.if
// CHECK-COUNT-24: llvm.load %{{.*}} : !llvm.ptr<7> -> f32
// CHECK: memref.store %{{.*}}, %arg4
// The second barrier keeps every CTA's shared memory until its peers read it.
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-NEXT: gpu.return

// With an LSE output the cluster kernel binds it too and writes it once per
// row, from the thread of element 0.
// CHECK-LABEL: gpu.func @gqa6_lse_cluster_online
// CHECK-SAME: {fd.binding = "out"}, %arg5: memref<?x48xf32> {fd.binding = "lse"})
// CHECK-SAME: fd.variant = "split_cluster"
// 6 x 128 = 768 outputs over 1024 threads, 3 loads from each CTA.
// CHECK-COUNT-24: llvm.load %{{.*}} : !llvm.ptr<7> -> f32
// CHECK: memref.store %{{.*}}, %arg4
// CHECK: memref.store %{{.*}}, %arg5
// CHECK: gpu.return

// Four CTAs: 4 x 128 outputs over 512 threads, one unguarded step.
// C4-LABEL: gpu.func @gqa4_cluster_online
// C4-SAME: fd.cluster = [4, 1, 1]
// C4-SAME: fd.grid = ["4", "Hkv", "B"]
// C4-SAME: nvvm.cluster_dim = array<i32: 4, 1, 1>
// C4: nvvm.cluster.wait {aligned}
// C4-COUNT-4: nvvm.mapa
// C4-NOT: scf.if
// C4: llvm.load

// Sixteen, a non-portable size (the runtime opts the kernel in): 512 outputs
// over 2048 threads, one guarded step.
// C16-LABEL: gpu.func @gqa4_cluster_online
// C16-SAME: fd.cluster = [16, 1, 1]
// C16-SAME: fd.grid = ["16", "Hkv", "B"]
// C16-SAME: nvvm.cluster_dim = array<i32: 16, 1, 1>
// C16: arith.divui %{{.*}}, %c16
// C16: nvvm.cluster.wait {aligned}
// C16-COUNT-16: nvvm.mapa
// C16: scf.if

// MHA runs on CUDA cores, whose combine buffers are static shared memory:
// the cluster's states are a static buffer of their own (1 x 130 floats);
// 128 outputs over 1024 threads, one guarded step.
// CHECK-LABEL: gpu.func @mha_cluster_online
// CHECK-SAME: fd.cluster = [8, 1, 1]
// CHECK-SAME: fd.variant = "split_cluster"
// CHECK: memref.get_global @mha_cluster_online_states : memref<1x130xf32, #gpu.address_space<workgroup>>
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK-COUNT-8: nvvm.mapa
// CHECK: scf.if
// CHECK-COUNT-24: llvm.load %{{.*}} : !llvm.ptr<7> -> f32
// CHECK: nvvm.cluster.wait {aligned}
// CHECK-NEXT: gpu.return

// None without the option.
// OFF-NOT: _cluster_online

// PTX: .entry gqa4_cluster_online(
// PTX: .reqnctapercluster 8, 1, 1
// PTX: barrier.cluster.arrive.aligned;
// PTX-NEXT: barrier.cluster.wait.aligned;
// PTX: mapa.shared::cluster.u64
// PTX: ld.shared::cluster.b32
// PTX: barrier.cluster.wait.aligned;

// The manifest: a variant with no workspace whose one kernel is clustered.
// MANIFEST: "name": "split_cluster",
// MANIFEST-NEXT: "workspace": [],
// MANIFEST-NEXT: "kernels": [
// MANIFEST: "symbol": "gqa4_cluster_online",
// MANIFEST: "role": "fused",
// MANIFEST-NEXT: "grid": [
// MANIFEST-NEXT: 8,
// MANIFEST-NEXT: "Hkv",
// MANIFEST-NEXT: "B"
// MANIFEST: "cluster": [
// MANIFEST-NEXT: 8,
// MANIFEST-NEXT: 1,
// MANIFEST-NEXT: 1

func.func @gqa4(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.088388 : f32, softmax = #fd.online_softmax}
  return
}

func.func @gqa6_lse(%q: memref<?x48x128xbf16>, %k: memref<?x8x?x128xbf16>,
    %v: memref<?x8x?x128xbf16>, %lens: memref<?xi32>,
    %out: memref<?x48x128xbf16>, %lse: memref<?x48xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x48x128xbf16>,
      memref<?x8x?x128xbf16>, memref<?x8x?x128xbf16>, memref<?xi32>)
      outs(%out : memref<?x48x128xbf16>) lse(%lse : memref<?x48xf32>)
      {scale = 0.088388 : f32, softmax = #fd.online_softmax}
  return
}

func.func @mha(%q: memref<?x8x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %out: memref<?x8x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%out : memref<?x8x128xf16>)
      {scale = 0.088388 : f32, softmax = #fd.online_softmax}
  return
}
