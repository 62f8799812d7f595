//===- FDAttrs.td - softmax strategy attributes -----------*- tablegen -*-===//
#ifndef FD_DIALECT_FD_IR_FDATTRS_TD
#define FD_DIALECT_FD_IR_FDATTRS_TD

include "fd/Dialect/FD/IR/FDDialect.td"
include "mlir/IR/AttrTypeBase.td"

class FD_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<FD_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def FD_OnlineSoftmaxAttr : FD_Attr<"OnlineSoftmax", "online_softmax"> {
  let summary = "Online softmax: running max and sum, rescaled at merge";
  let description = [{
    Each split keeps a running maximum `m`, a running sum `l` and an
    accumulator; partials are combined with the log-sum-exp rule, which
    rescales each one by `exp(m_i - max_j m_j)`. Exact for every input.

    ```mlir
    softmax = #fd.online_softmax
    ```
  }];
}

def FD_UnifiedMaxAttr : FD_Attr<"UnifiedMax", "unified_max"> {
  let summary = "FlashDecoding++ asynchronous softmax with a unified max";
  let description = [{
    Every split computes `exp(s - phi)` with one `phi` shared by all splits,
    so partials need no rescaling and the merge is a plain sum of numerators
    and denominators followed by one division. When a score exceeds `phi` by
    more than `threshold` (or a whole row underflows), the affected rows are
    recomputed with the online-softmax path, so the result is exact on every
    input. Both values are in units of the scaled score `scale * q.k`.

    ```mlir
    softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>
    ```
  }];
  let parameters = (ins APFloatParameter<"the unified max">:$phi,
                        APFloatParameter<"the overflow threshold">:$threshold);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def FD_SoftmaxAttr : AnyAttrOf<[FD_OnlineSoftmaxAttr, FD_UnifiedMaxAttr]>;

#endif // FD_DIALECT_FD_IR_FDATTRS_TD
