//===- ShippedVariantTables.cpp - measured launch variants per device -----===//
#include "fd/Runtime/ShippedVariantTables.h"

#include "ShippedTable.h"

using namespace fd::rt;

static const ShippedTables<VariantTable> &shipped() {
  static const ShippedTables<VariantTable> tables({
#include "VariantTables.inc"
  });
  return tables;
}

std::shared_ptr<const VariantTable>
fd::rt::getShippedVariantTable(std::string_view deviceName) {
  return shipped().find(deviceName);
}

std::string fd::rt::getShippedVariantModels() { return shipped().models(); }
