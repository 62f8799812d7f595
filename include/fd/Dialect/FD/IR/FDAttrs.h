//===- FDAttrs.h - fd dialect attributes ------------------------*- C++ -*-===//
#ifndef FD_DIALECT_FD_IR_FDATTRS_H
#define FD_DIALECT_FD_IR_FDATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#define GET_ATTRDEF_CLASSES
#include "fd/Dialect/FD/IR/FDAttrs.h.inc"

#endif // FD_DIALECT_FD_IR_FDATTRS_H
