//===- ShippedVariantTables.h - measured launch variants per device -*- C++ -*-===//
//
// The launch-variant tables fd ships (lib/Runtime/variants/<model>.txt,
// built into the runtime): which variant of the example's attention entries
// (split, unsplit, split_cluster; VariantTable.h) fd-bench
// --write-variant-table measured fastest on a device, over the grid of
// `fd-bench --cases variants`. Every Executable plans with its device's
// table unless its caller sets another (Executable::setVariantTable; null
// restores the built-in rules); a shape the table does not list keeps the
// rules.
//
//===----------------------------------------------------------------------===//
#ifndef FD_RUNTIME_SHIPPEDVARIANTTABLES_H
#define FD_RUNTIME_SHIPPEDVARIANTTABLES_H

#include "fd/Runtime/Export.h"
#include "fd/Runtime/VariantTable.h"

#include <memory>
#include <string>
#include <string_view>

namespace fd::rt {

/// The shipped table measured on the device named \p deviceName (the
/// driver's cuDeviceGetName, e.g. "NVIDIA H100 80GB HBM3"), or null; matched
/// by the device's model in its name. Parsed once.
FD_RT_API std::shared_ptr<const VariantTable>
getShippedVariantTable(std::string_view deviceName);

/// The device models there are shipped variant tables for, for messages.
FD_RT_API std::string getShippedVariantModels();

} // namespace fd::rt

#endif // FD_RUNTIME_SHIPPEDVARIANTTABLES_H
