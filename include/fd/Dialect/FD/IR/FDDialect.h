//===- FDDialect.h - the fd dialect -----------------------------*- C++ -*-===//
#ifndef FD_DIALECT_FD_IR_FDDIALECT_H
#define FD_DIALECT_FD_IR_FDDIALECT_H

#include "mlir/IR/Dialect.h"

#include "fd/Dialect/FD/IR/FDDialect.h.inc"

#endif // FD_DIALECT_FD_IR_FDDIALECT_H
