//===- InitAll.h - register everything fd tools need ------------*- C++ -*-===//
//
// One place that lists the dialects, extensions, passes and pipelines of fd's
// tools, so that fd-opt, fd-compile and embedders see the same world.
//
//===----------------------------------------------------------------------===//
#ifndef FD_INITALL_H
#define FD_INITALL_H

namespace mlir {
class DialectRegistry;
namespace fd {
/// Registers the fd dialect, the upstream dialects and extensions fd lowers
/// through (including the NVVM target attribute's serialisation), and every
/// upstream and fd pass and pipeline with the global pass registry.
void registerAllFD(DialectRegistry &registry);
} // namespace fd
} // namespace mlir

#endif // FD_INITALL_H
