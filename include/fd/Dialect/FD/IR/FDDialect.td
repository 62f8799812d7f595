//===- FDDialect.td - the fd dialect ----------------------*- tablegen -*-===//
#ifndef FD_DIALECT_FD_IR_FDDIALECT_TD
#define FD_DIALECT_FD_IR_FDDIALECT_TD

include "mlir/IR/OpBase.td"

def FD_Dialect : Dialect {
  let name = "fd";
  let cppNamespace = "::mlir::fd";
  let summary = "Decode attention and flat GEMM for LLM inference";
  let description = [{
    The fd dialect states the two kernels of LLM decoding at the level users
    think of them: attention of one query token per sequence over a long KV
    cache (`fd.decode_attention`), its split form (`fd.partial_attention` and
    `fd.merge_partials`, the Flash-Decoding decomposition), and the flat GEMM
    `y = x * W^T` whose M is the decode batch (`fd.flat_gemm`).

    All ops work on memrefs in destination-passing style: outputs are
    operands, batch and sequence sizes may be dynamic, and K/V caches may have
    any strides as long as the innermost one is 1.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class FD_Op<string mnemonic, list<Trait> traits = []>
    : Op<FD_Dialect, mnemonic, traits>;

#endif // FD_DIALECT_FD_IR_FDDIALECT_TD
