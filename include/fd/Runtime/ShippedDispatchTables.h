//===- ShippedDispatchTables.h - measured GEMM dispatch per device -*- C++ -*-===//
//
// The flat-GEMM dispatch tables fd ships (lib/Runtime/dispatch/*.txt, built
// into the runtime): what fd-tune -o measured on a device for the decode
// GEMM shapes of LLaMA-2-7B and LLaMA-3-8B, fd's kernels and cuBLAS. A
// caller passes one to FlatGemm::run as its table; without a table a run
// keeps the entry's dispatch rules (the paper's M thresholds), cuBLAS-free:
// the tables' fd-kernel choices alone measured no better than the rules
// (docs/perf.md, session 14).
//
//===----------------------------------------------------------------------===//
#ifndef FD_RUNTIME_SHIPPEDDISPATCHTABLES_H
#define FD_RUNTIME_SHIPPEDDISPATCHTABLES_H

#include "fd/Runtime/Export.h"
#include "fd/Runtime/FlatGemm.h"

#include <string>
#include <string_view>

namespace fd::rt {

/// The shipped table measured on the device named \p deviceName (the
/// driver's cuDeviceGetName, e.g. "NVIDIA H200"), or null. Tables are
/// matched by the device's model in its name: H200 and H100 share chip and
/// SM count but not memory bandwidth, so the measured choices differ.
/// Parsed once; the pointer stays valid for the process.
FD_RT_API const DispatchTable *getShippedDispatchTable(
    std::string_view deviceName);

/// The device models there are shipped dispatch tables for ("H100 and
/// H200"), for messages.
FD_RT_API std::string getShippedDispatchModels();

} // namespace fd::rt

#endif // FD_RUNTIME_SHIPPEDDISPATCHTABLES_H
