//===- ShippedDispatchTables.h - measured GEMM dispatch per device -*- C++ -*-===//
//
// The flat-GEMM dispatch tables fd ships (lib/Runtime/dispatch/*.txt, built
// into the runtime): what fd-tune -o measured on a device for the decode
// GEMM shapes of LLaMA-2-7B and LLaMA-3-8B. FlatGemm::run consults the one
// for its device when the caller gives no table, or the caller's has no
// rule for the shape (FlatGemm.h says in which order); a shape no table
// has keeps the entry's dispatch rules, the paper's M thresholds.
//
//===----------------------------------------------------------------------===//
#ifndef FD_RUNTIME_SHIPPEDDISPATCHTABLES_H
#define FD_RUNTIME_SHIPPEDDISPATCHTABLES_H

#include "fd/Runtime/Export.h"
#include "fd/Runtime/FlatGemm.h"

#include <string_view>

namespace fd::rt {

/// The shipped table measured on the device named \p deviceName (the
/// driver's cuDeviceGetName, e.g. "NVIDIA H200"), or null. Tables are
/// matched by the device's model in its name: H200 and H100 share chip and
/// SM count but not memory bandwidth, so the measured choices differ.
/// Parsed once; the pointer stays valid for the process.
FD_RT_API const DispatchTable *getShippedDispatchTable(
    std::string_view deviceName);

/// The environment variable that turns the shipped tables off (value "0"):
/// every call then dispatches by the caller's table and the entry's rules.
inline constexpr const char *kShippedTableEnv = "FD_GEMM_SHIPPED_TABLE";

} // namespace fd::rt

#endif // FD_RUNTIME_SHIPPEDDISPATCHTABLES_H
