// Issue 16, item 4: fd-unified-max creates #fd.unified_max attributes, so it
// declares the fd dialect; on a module without fd ops it used to segfault.
// RUN: fd-opt %s --fd-unified-max="phi=1 threshold=20" | FileCheck %s
// RUN: fd-opt %s --fd-lower-to-ptx="unified-max-phi=1" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @no_attention
// CHECK-NEXT: return
// PTX-LABEL: llvm.func @no_attention
// PTX-NEXT: llvm.return
func.func @no_attention() {
  return
}
