//===- ShippedDispatchTables.cpp - measured GEMM dispatch per device ------===//
#include "fd/Runtime/ShippedDispatchTables.h"

#include "ShippedTable.h"

using namespace fd::rt;

static const ShippedTables<DispatchTable> &shipped() {
  static const ShippedTables<DispatchTable> tables({
#include "DispatchTables.inc"
  });
  return tables;
}

const DispatchTable *fd::rt::getShippedDispatchTable(
    std::string_view deviceName) {
  return shipped().find(deviceName).get();
}

std::string fd::rt::getShippedDispatchModels() { return shipped().models(); }
