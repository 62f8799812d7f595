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
    (sequence, KV head) normalising; `fd.variant` tells them apart.

    Every kernel argument carries its binding (`fd.binding = "q"`, names
    from `fd/Bundle/Schema.h`); kernel bodies look arguments up by binding
    and the bundle writer lists them in signature order, so the runtime
    packs them by name.
  }];
  let dependentDialects = ["gpu::GPUDialect", "scf::SCFDialect",
                           "arith::ArithDialect", "vector::VectorDialect",
                           "memref::MemRefDialect", "LLVM::LLVMDialect"];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per CTA of the partial kernel (a multiple of 32)">,
    Option<"unroll", "unroll", "int64_t", /*default=*/"4",
           "Tokens each thread group loads per iteration (loads in flight; "
           "4 was fastest in fd-bench's sweep of 2, 4, 8)">
  ];
}


def ConvertFlatGemmToGPU : Pass<"convert-flat-gemm-to-gpu", "ModuleOp"> {
  let summary = "Outline fd-tile-flat-gemm's launches into fd kernels";
  let description = [{
    Turns each `gpu.launch` produced by `fd-tile-flat-gemm` into a `gpu.func`
    kernel in the `fd_kernels` gpu.module plus a `gpu.launch_func`, with the
    kernel arguments in the fixed order x, w, [bias], y, and the `fd.*`
    attributes (`fd.role` = the variant, `fd.entry`, `fd.grid`, `fd.args`,
    `fd.m_tile`, `fd.dynamic_smem`, `known_block_size`) from which
    `fd-compile` writes the flat_gemm entry of the bundle.

    Upstream `gpu-kernel-outlining` is not used because it orders kernel
    arguments by first use and knows nothing of the manifest; the runtime
    packs arguments by binding. An `fd.flat_gemm` still present is an error
    (run `fd-tile-flat-gemm` first).
  }];
  let dependentDialects = ["gpu::GPUDialect", "memref::MemRefDialect"];
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
