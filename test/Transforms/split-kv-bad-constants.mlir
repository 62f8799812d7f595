// RUN: fd-opt %s --fd-split-kv="min-chunk=0" -verify-diagnostics

// expected-error @+1 {{fd-split-kv: sm-count, ctas-per-sm, min-chunk, chunk-align and max-splits must be positive}}
func.func @f() {
  return
}
