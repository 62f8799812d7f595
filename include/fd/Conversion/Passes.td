//===- Passes.td - fd conversions -------------------------*- tablegen -*-===//
#ifndef FD_CONVERSION_PASSES_TD
#define FD_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertFDToSCF : Pass<"convert-fd-to-scf"> {
  let summary = "Lower fd ops to scalar loops (the CPU reference semantics)";
  let description = [{
    Lowers `fd.decode_attention`, `fd.split_plan`, `fd.partial_attention`,
    `fd.merge_partials`, `fd.overflow_fallback` and `fd.flat_gemm` to
    `scf.for` loops over memrefs
    with f32 arithmetic. The result runs on the CPU (e.g. with `mlir-runner`),
    which is how fd checks the split and merge rewrites numerically without a
    GPU. It is a reference, not a fast path.
  }];
  let dependentDialects = ["scf::SCFDialect", "arith::ArithDialect",
                           "math::MathDialect", "memref::MemRefDialect"];
}

def ConvertFDToGPU : Pass<"convert-fd-to-gpu", "ModuleOp"> {
  let summary = "Lower the split form of decode attention to GPU kernels";
  let description = [{
    Turns `fd.partial_attention` and `fd.merge_partials` into `gpu.func`
    kernels in a `gpu.module` plus `gpu.launch_func` on the host side, and
    `fd.split_plan` into host arithmetic. Run `fd-split-kv` first: an unsplit
    `fd.decode_attention` is rejected.

    The partial kernel runs one CTA per (sequence, KV head, split) and handles
    all `Hq / Hkv` query heads of the group, so each K/V byte is read once.
    K/V rows are read with 16-byte vector loads, dot products are reduced with
    warp shuffles, softmax uses `ex2.approx` with `log2(e)` folded into the
    scale. Kernels carry `fd.*` attributes (role, grid, argument bindings)
    from which `fd-compile` writes the bundle manifest.

    The unified-max split form (`fd.partial_attention`, `fd.merge_partials`
    and `fd.overflow_fallback` on the same buffers) becomes two launch
    variants: a partial and a merge kernel (the merge recomputes overflowed
    rows; the host IR launches these), and a single kernel whose CTAs add
    their partials into f32 accumulators with atomics, the last one per
    (sequence, KV head) normalising; `fd.variant` tells them apart. An
    online-softmax pair gets the `split` (partial + merge) and `unsplit`
    variants, and with `cluster-splits` also `split_cluster`
    (a cluster of CTAs per row merging through distributed shared memory,
    no workspace). (A one-launch online variant, the last CTA of a row merging,
    was measured 4-18% slower than split + merge with PDL on the H200 and
    removed: docs/perf.md, sessions 14 and 16.)

    Every kernel argument carries its binding (`fd.binding = "q"`, names
    from `fd/Bundle/Schema.h`); kernel bodies look arguments up by binding
    and the bundle writer lists them in signature order, so the runtime
    packs them by name.
  }];
  // Dependent dialects: KernelDialects (lib/Conversion/Utils/KernelModule.h),
  // declared in getDependentDialects.
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per CTA of the partial kernel (a multiple of 32)">,
    Option<"unroll", "unroll", "int64_t", /*default=*/"4",
           "Tokens each thread group loads per iteration (loads in flight; "
           "4 was fastest in fd-bench's sweep of 2, 4, 8)">,
    Option<"mmaMinGroup", "mma-min-group", "int64_t", /*default=*/"2",
           "Smallest GQA group (Hq / Hkv) whose partial kernels run on tensor "
           "cores (mma.sync m16n8k16, query heads padded to 16); 0: never. "
           "Groups above 16 and head dims other than 64, 128, 192 and 256 "
           "stay on CUDA cores. Range 0-16">,
    Option<"mmaStages", "mma-stages", "int64_t", /*default=*/"0",
           "Depth of the tensor-core kernels' cp.async ring of 64-token K/V "
           "tiles, 2-8 (each stage 2 x 64 x (D + 8) x 2 bytes of shared "
           "memory; fewer stages, more resident CTAs); 0: 4 up to D = 128, "
           "2 at D = 256 (measured, docs/perf.md). Reduced to what fits in "
           "227 KB">,
    Option<"mmaWarps", "mma-warps", "int64_t", /*default=*/"4",
           "Warps per CTA of the tensor-core kernels, 4 or 8: each warp "
           "takes 64 / warps tokens of every 64-token tile (8: m16n8k8 MMAs "
           "for P V), so 8 warps halve the instructions a warp issues per "
           "tile and put two warps on each scheduler. Head dims below 128 "
           "keep 4 (the 256 threads would not copy whole query rows)">,
    Option<"speculativeFirstTile", "speculative-first-tile", "bool",
           /*default=*/"false",
           "Tensor-core kernels on a contiguous cache copy each split's first "
           "tile before the sequence length arrives (rows up to the cache's "
           "capacity are read; V's rows past the length are zeroed in shared "
           "memory before use), where they otherwise prefetch it into L2 and "
           "copy it after the length. Off until measured on a GPU "
           "(docs/perf.md, session 20)">,
    Option<"clusterSplits", "cluster-splits", "int64_t", /*default=*/"4",
           "Also build online softmax's `split_cluster` launch variant: a "
           "thread-block cluster of this many CTAs "
           "per (sequence, KV head) splits each sequence into equal chunks "
           "from its own length and merges them through distributed shared "
           "memory in the same launch, with no workspace; 0: not built. "
           "4: on an H100, 0.8-5% ahead of `split` on ragged GQA batches of at "
           "least one wave, where the planner picks it; 8 lost from B = 16 "
           "on, 16 everywhere (docs/perf.md, session 17). "
           "0 or 2-16 (above 8, sm_90's non-portable cluster sizes, which the "
           "runtime opts each kernel into)">
  ];
}


def ConvertFlatGemmToGPU : Pass<"convert-flat-gemm-to-gpu", "ModuleOp"> {
  let summary = "Build the kernels fd-tile-flat-gemm chose";
  let description = [{
    Replaces each `fd.flat_gemm` that `fd-tile-flat-gemm` annotated with a
    kernel description (`fd.flat_gemm.kernel`) by a `gpu.launch_func` of a
    new `gpu.func` kernel in the `fd_kernels` gpu.module, named
    `<function>_flat_gemm_<role>` with role `gemv`, `mma_m<P>` or
    `direct_m<P>`:

    - `gemv`: grid (N / warps, M), 32 * warps threads; each warp reduces one
      output over K with 16-byte loads and a shuffle butterfly.
    - `mma_m<P>`: grid (N / tile_n, 1, ceil(M / P)), 32 * split_k threads.
      W and x tiles stream through a `stages`-deep ring of dynamic shared
      memory: `nvgpu.device_async_copy {bypassL1}` per 16-byte chunk (x rows
      at or past M zero-filled, src-size 0), one
      `nvgpu.device_async_create_group` per K tile, and
      `nvgpu.device_async_wait {numGroups = stages - 2}` plus a barrier
      before each tile is consumed, so the loads of tile k + stages - 1
      overlap the MMAs of tile k. Rows of a stage are padded by 16 bytes so
      `nvgpu.ldmatrix` is free of bank conflicts; f16 uses
      `nvgpu.mma.sync`, bf16 `nvvm.mma.sync` on packed registers.
    - `direct_m<P>`: grid (N / 16, 1, ceil(M / P)), 32 * split_k threads,
      no shared memory in the K loop: each warp loads W and x fragments
      with 16-byte `vector.load`s, k renamed so that one load per row is a
      fragment (DirectFragments.h); K steps past K are masked (the address
      clamped, the value zeroed), x rows at or past M read row m0 and are
      zeroed; with `prefetch` the loads of iteration i + 1 are issued before
      the MMAs of iteration i (the last iteration peeled).

    The tensor-core kernels reduce their warps' partials once through
    shared memory ([split_k][rows][P + 1] f32, one barrier) and store the
    rows < M. Each kernel is built as a `gpu.launch` and outlined with
    upstream's `outlineKernelFunc`, given the arguments in signature order
    (x, w, [bias], y); every argument carries its binding (`fd.binding`)
    and the kernel the attributes from which `fd-compile` writes the
    flat_gemm entry of the bundle (`fd.role`, `fd.entry`, `fd.grid`,
    `fd.m_tile`, `fd.dynamic_smem`, `known_block_size`). An
    `fd.flat_gemm` without a description, or with a malformed one, is an
    error.

    ```mlir
    fd.flat_gemm ins(%x, %w ...) outs(%y ...) {fd.flat_gemm.kernel =
        {kind = "gemv", unroll = 4 : i64, warps = 4 : i64}}
    ```
    becomes
    ```mlir
    gpu.launch_func @fd_kernels::@f_flat_gemm_gemv blocks in (%c1024, %M, %c1)
        threads in (%c128, %c1, %c1) args(%x : ..., %w : ..., %y : ...)
    gpu.module @fd_kernels {
      gpu.func @f_flat_gemm_gemv(%arg0: memref<?x4096xf16> {fd.binding = "x"},
          ...) kernel attributes {fd.role = "gemv", fd.grid = ["1024", "M"], ...}
    }
    ```
  }];
  // Dependent dialects: KernelDialects (lib/Conversion/Utils/KernelModule.h),
  // declared in getDependentDialects.
}

def FDProgrammaticLaunch : Pass<"fd-programmatic-launch", "ModuleOp"> {
  let summary = "Let fd kernels overlap their launch with the previous kernel";
  let description = [{
    Programmatic dependent launch (Hopper and later): a kernel launched with
    programmatic stream serialization may start while the kernel before it
    in the stream is still running, and `griddepcontrol.wait` holds it until
    that kernel has completed and its memory is visible. This pass puts
    `nvvm.griddepcontrol wait` first in every kernel of the `fd_kernels`
    gpu.module, before any memory access (reads and writes: a kernel must
    neither read its inputs nor overwrite a buffer the previous kernel may
    still read), then `nvvm.griddepcontrol launch_dependents`, so the next
    kernel's launch can begin as soon as every CTA of this one is running.
    Kernels get the unit attribute `fd.pdl`; fd-compile writes `"pdl": true`
    into the manifest and the runtime launches them with the attribute.

    Launched without it, `griddepcontrol.wait` returns at once: the kernels
    stay correct under any launch. The instructions need sm_90 or later;
    `fd-lower-to-ptx` runs the pass only for such chips (option `pdl`), and
    a gpu.module whose NVVM target is older is an error.
    Upstream has the NVVM op, no pass that places it.
  }];
  let dependentDialects = ["gpu::GPUDialect", "NVVM::NVVMDialect"];
}

#endif // FD_CONVERSION_PASSES_TD
