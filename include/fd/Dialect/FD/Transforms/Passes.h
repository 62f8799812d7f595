//===- Passes.h - fd dialect transformations --------------------*- C++ -*-===//
#ifndef FD_DIALECT_FD_TRANSFORMS_PASSES_H
#define FD_DIALECT_FD_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "fd/Bundle/Schema.h"
#include "fd/Dialect/FD/IR/FDDialect.h"
#include "mlir/Pass/Pass.h"

#include <limits>

namespace mlir::fd {
#define GEN_PASS_DECL
#include "fd/Dialect/FD/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "fd/Dialect/FD/Transforms/Passes.h.inc"
} // namespace mlir::fd

#endif // FD_DIALECT_FD_TRANSFORMS_PASSES_H
