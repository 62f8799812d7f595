// RUN: fd-opt %s --fd-split-kv="min-chunk=0" -verify-diagnostics
//
// Every numeric option has a range, checked before any op is split: the
// values end up in the manifest's "split", whose fields the runtime reads as
// i32 (fdb::kMaxCount), 0 meaning "not fixed" for num-splits and chunk-size.
// RUN: not fd-opt %s --fd-split-kv="num-splits=-1" 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: not fd-opt %s --fd-split-kv="num-splits=2147483648" 2>&1 | FileCheck %s --check-prefix=SPLITS
// RUN: not fd-opt %s --fd-split-kv="chunk-size=4294967296" 2>&1 | FileCheck %s --check-prefix=CHUNK
// RUN: not fd-opt %s --fd-split-kv="sm-count=0" 2>&1 | FileCheck %s --check-prefix=SM
// RUN: not fd-opt %s --fd-split-kv="ctas-per-sm=-5" 2>&1 | FileCheck %s --check-prefix=CTAS
// RUN: not fd-opt %s --fd-split-kv="chunk-align=2147483648" 2>&1 | FileCheck %s --check-prefix=ALIGN
// RUN: not fd-opt %s --fd-split-kv="max-splits=9223372036854775807" 2>&1 | FileCheck %s --check-prefix=MAX
// The pipelines pass theirs through.
// RUN: not fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{max-splits=0})" 2>&1 | FileCheck %s --check-prefix=PIPE

// NEG: error: fd-split-kv: num-splits must be in [0, 2147483647] (0: not fixed), got -1
// SPLITS: error: fd-split-kv: num-splits must be in [0, 2147483647] (0: not fixed), got 2147483648
// CHUNK: error: fd-split-kv: chunk-size must be in [0, 2147483647] (0: not fixed), got 4294967296
// SM: error: fd-split-kv: sm-count must be in [1, 2147483647], got 0
// CTAS: error: fd-split-kv: ctas-per-sm must be in [1, 2147483647], got -5
// ALIGN: error: fd-split-kv: chunk-align must be in [1, 2147483647], got 2147483648
// MAX: error: fd-split-kv: max-splits must be in [1, 2147483647], got 9223372036854775807
// PIPE: error: fd-split-kv: max-splits must be in [1, 2147483647], got 0

// expected-error @+1 {{fd-split-kv: min-chunk must be in [1, 2147483647], got 0}}
func.func @f() {
  return
}
