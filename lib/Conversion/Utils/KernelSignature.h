//===- KernelSignature.h - kernel arguments bound by name -------*- C++ -*-===//
//
// Private to lib/Conversion. Every fd kernel argument carries its binding
// (`fd.binding = "q"`, names from fd/Bundle/Schema.h); kernel bodies ask for
// arguments by that name, so a signature is written once (where the kernel
// is created) and its order matters to nobody but the bundle writer, which
// reads the bindings back in order.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_UTILS_KERNELSIGNATURE_H
#define FD_LIB_CONVERSION_UTILS_KERNELSIGNATURE_H

#include "fd/Bundle/Schema.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::fd {

/// Attribute name of an argument's binding.
inline StringRef getBindingAttrName() {
  return StringRef(::fd::bundle::ir::kBinding);
}

/// A std::string_view of the schema as a StringRef.
inline StringRef toRef(std::string_view s) { return {s.data(), s.size()}; }

/// Sets argument i's binding to bindings[i]; one per argument.
inline void setBindings(FunctionOpInterface fn,
                        ArrayRef<std::string_view> bindings) {
  assert(bindings.size() == fn.getNumArguments() && "one binding per argument");
  Builder b(fn.getContext());
  for (auto [i, name] : llvm::enumerate(bindings))
    fn.setArgAttr(i, getBindingAttrName(), b.getStringAttr(toRef(name)));
}

/// The binding of argument \p index, or null.
inline StringAttr getBinding(FunctionOpInterface fn, unsigned index) {
  return fn.getArgAttrOfType<StringAttr>(index, getBindingAttrName());
}

/// The argument bound to \p name, or a null value.
inline Value lookupBoundArg(FunctionOpInterface fn, std::string_view name) {
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
    if (StringAttr bound = getBinding(fn, i); bound && bound == toRef(name))
      return fn.getArgument(i);
  return {};
}

/// The argument bound to \p name; the kernel must have one (its builder
/// created the signature).
inline Value getBoundArg(FunctionOpInterface fn, std::string_view name) {
  Value v = lookupBoundArg(fn, name);
  assert(v && "kernel has no argument of this binding");
  return v;
}

} // namespace mlir::fd

#endif // FD_LIB_CONVERSION_UTILS_KERNELSIGNATURE_H
