//===- Bundle.cpp - The manifest data model's names and look-ups ---------===//
//
// Reading and validating a manifest is ManifestReader.cpp's job; this file
// holds what the data model itself answers: the names of dtypes and symbols
// and finding entries and variants by name.
//
//===----------------------------------------------------------------------===//

#include "fd/Runtime/Bundle.h"

using namespace fd::rt;

const char *fd::rt::dtypeName(DType type) {
  switch (type) {
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F32:
    return "f32";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::F64:
    return "f64";
  }
  return "?";
}

size_t fd::rt::dtypeSize(DType type) {
  switch (type) {
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::I64:
  case DType::F64:
    return 8;
  }
  return 0;
}

std::optional<DType> fd::rt::parseDType(std::string_view name) {
  for (DType t : {DType::F16, DType::BF16, DType::F32, DType::I32, DType::I64,
                  DType::F64})
    if (name == dtypeName(t))
      return t;
  return std::nullopt;
}

const char *fd::rt::symbolName(Symbol symbol) {
  namespace sym = fdb::symbol;
  switch (symbol) {
  case Symbol::B:
    return sym::kB.data();
  case Symbol::Hq:
    return sym::kHq.data();
  case Symbol::Hkv:
    return sym::kHkv.data();
  case Symbol::D:
    return sym::kD.data();
  case Symbol::L:
    return sym::kL.data();
  case Symbol::S:
    return sym::kS.data();
  case Symbol::Chunk:
    return sym::kChunk.data();
  case Symbol::M:
    return sym::kM.data();
  case Symbol::MT:
    return sym::kMT.data();
  }
  return "?";
}

std::optional<Symbol> fd::rt::parseSymbol(std::string_view name) {
  for (int i = 0; i < kNumSymbols; ++i)
    if (name == symbolName(static_cast<Symbol>(i)))
      return static_cast<Symbol>(i);
  return std::nullopt;
}

std::string fd::rt::toString(const SizeExpr &size) {
  if (size.symbol)
    return symbolName(*size.symbol);
  return std::to_string(size.constant);
}

size_t KernelSpec::getNumParams() const {
  size_t n = 0;
  for (const ArgSpec &arg : args)
    n += arg.getNumParams();
  return n;
}

const EntrySpec *Bundle::findEntry(std::string_view name) const {
  int index = findEntryIndex(name);
  return index < 0 ? nullptr : &entries[index];
}

int Bundle::findEntryIndex(std::string_view name) const {
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].name == name)
      return static_cast<int>(i);
  return -1;
}

int EntrySpec::findVariant(std::string_view variantName) const {
  for (size_t i = 0; i < variants.size(); ++i)
    if (variants[i].name == variantName)
      return static_cast<int>(i);
  return -1;
}
