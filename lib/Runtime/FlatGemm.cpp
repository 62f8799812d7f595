//===- FlatGemm.cpp - Flat GEMM arguments, dispatch and launch ------------===//

#include "fd/Runtime/FlatGemm.h"
#include "TextTable.h"
#include "fd/Runtime/Executable.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

using namespace fd::rt;
namespace binding = fdb::binding;
namespace gemm_kernel = fdb::gemm_kernel;

static Status invalid(const std::string &message) {
  return Status::error(ErrorCode::InvalidArgument, message);
}

static std::string shapeString(const TensorRef &t) {
  std::string s = "[";
  for (int i = 0; i < t.rank && i < 4; ++i)
    s += (i ? ", " : "") + std::to_string(t.sizes[i]);
  return s + "]";
}

/// Checks rank, dtype, pointer and row-major contiguity of one tensor; the
/// kernels declare identity layouts, so any other stride would be ignored
/// by them and silently read the wrong elements.
static Status checkTensor(std::string_view name, const TensorRef &t, int rank,
                          DType dtype, uint64_t alignment) {
  std::string what = "argument '" + std::string(name) + "'";
  if (!t.data)
    return invalid(what + ": data is null");
  if (t.rank != rank)
    return invalid(what + ": rank " + std::to_string(t.rank) + ", expected " +
                   std::to_string(rank));
  if (t.dtype != dtype)
    return invalid(what + ": dtype " + dtypeName(t.dtype) + ", expected " +
                   dtypeName(dtype));
  int64_t expect = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (t.sizes[i] < 0)
      return invalid(what + ": negative size " + std::to_string(t.sizes[i]));
    if (t.sizes[i] > 1 && t.strides[i] != expect)
      return invalid(what + ": must be contiguous row-major, but stride " +
                     std::to_string(i) + " is " + std::to_string(t.strides[i]) +
                     " (expected " + std::to_string(expect) + ")");
    expect *= std::max<int64_t>(t.sizes[i], 1);
  }
  if (reinterpret_cast<uintptr_t>(t.data) % alignment != 0)
    return invalid(what + ": data must be " + std::to_string(alignment) +
                   "-byte aligned");
  return Status::success();
}

/// x [M, K], w [N, K] and y [M, N] against the entry's N and K (ranks and
/// element types are checked by the caller's path).
static Status checkGemmShapes(const FlatGemmSpec &g, const FlatGemmArgs &args) {
  if (args.w.sizes[0] != g.n || args.w.sizes[1] != g.k)
    return invalid("argument 'w': shape " + shapeString(args.w) +
                   ", expected [" + std::to_string(g.n) + ", " +
                   std::to_string(g.k) + "] (the entry's [N, K])");
  if (args.x.sizes[1] != g.k)
    return invalid("argument 'x': shape " + shapeString(args.x) +
                   ", expected [M, " + std::to_string(g.k) + "]");
  if (args.y.sizes[1] != g.n || args.y.sizes[0] != args.x.sizes[0])
    return invalid("argument 'y': shape " + shapeString(args.y) +
                   ", expected [" + std::to_string(args.x.sizes[0]) + ", " +
                   std::to_string(g.n) + "] (x's M, the entry's N)");
  return Status::success();
}

Expected<int64_t> fd::rt::validateFlatGemmArgs(const EntrySpec &entry,
                                               const FlatGemmArgs &args) {
  if (entry.op != OpKind::FlatGemm)
    return invalid("entry '" + entry.name + "' is a " + entry.opName +
                   ", not a flat_gemm");
  const FlatGemmSpec &g = entry.gemm;
  Status s = checkTensor(binding::kX, args.x, 2, entry.dtype, 16);
  if (s.ok())
    s = checkTensor(binding::kW, args.w, 2, entry.dtype, 16);
  if (s.ok())
    s = checkTensor(binding::kY, args.y, 2, g.outDtype, dtypeSize(g.outDtype));
  if (!s.ok())
    return s;
  if (Status shapes = checkGemmShapes(g, args); !shapes.ok())
    return shapes;
  if (g.hasBias) {
    if (!args.bias.data)
      return invalid("argument 'bias': entry '" + entry.name +
                     "' was compiled with a bias, but none was given");
    Status b = checkTensor(binding::kBias, args.bias, 1, entry.dtype,
                           dtypeSize(entry.dtype));
    if (!b.ok())
      return b;
    if (args.bias.sizes[0] != g.n)
      return invalid("argument 'bias': shape " + shapeString(args.bias) +
                     ", expected [" + std::to_string(g.n) + "]");
  } else if (args.bias.data) {
    return invalid("argument 'bias': entry '" + entry.name +
                   "' was compiled without a bias; pass none");
  }
  return args.x.sizes[0];
}

//===----------------------------------------------------------------------===//
// The cublas variant
//===----------------------------------------------------------------------===//

/// Checks one row-major matrix for cublasGemmEx and returns its leading
/// dimension (row stride in elements). cuBLAS reads rows with a pitch, so
/// only the inner stride must be 1; its int parameters bound the rest.
static Expected<int> checkCublasMatrix(std::string_view name,
                                       const TensorRef &t, DType dtype) {
  std::string what = "argument '" + std::string(name) + "'";
  constexpr int64_t intMax = std::numeric_limits<int>::max();
  if (!t.data)
    return invalid(what + ": data is null");
  if (t.rank != 2)
    return invalid(what + ": rank " + std::to_string(t.rank) + ", expected 2");
  if (t.dtype != dtype)
    return invalid(what + ": dtype " + dtypeName(t.dtype) + ", expected " +
                   dtypeName(dtype));
  for (int i = 0; i < 2; ++i)
    if (t.sizes[i] < 0 || t.sizes[i] > intMax)
      return invalid(what + ": size " + std::to_string(t.sizes[i]) +
                     " is outside cuBLAS's range [0, 2^31)");
  if (t.sizes[1] > 1 && t.strides[1] != 1)
    return invalid(what +
                   ": the cublas variant needs unit inner stride, but "
                   "stride 1 is " +
                   std::to_string(t.strides[1]));
  int64_t ld = std::max<int64_t>(t.sizes[1], 1);
  if (t.sizes[0] > 1) {
    if (t.strides[0] < ld)
      return invalid(what +
                     ": the cublas variant needs a row stride of at "
                     "least the row length " +
                     std::to_string(ld) + ", but stride 0 is " +
                     std::to_string(t.strides[0]));
    ld = t.strides[0];
  }
  if (ld > intMax)
    return invalid(what + ": row stride " + std::to_string(ld) +
                   " is outside cuBLAS's range [0, 2^31)");
  if (reinterpret_cast<uintptr_t>(t.data) % dtypeSize(dtype) != 0)
    return invalid(what + ": data must be " + std::to_string(dtypeSize(dtype)) +
                   "-byte aligned");
  return static_cast<int>(ld);
}

static int cudaDataType(DType t) {
  switch (t) {
  case DType::BF16:
    return cublas::kR16BF;
  case DType::F32:
    return cublas::kR32F;
  default:
    return cublas::kR16F;
  }
}

Expected<CublasGemm> fd::rt::planCublasFlatGemm(const EntrySpec &entry,
                                                const FlatGemmArgs &args) {
  if (entry.op != OpKind::FlatGemm)
    return invalid("entry '" + entry.name + "' is a " + entry.opName +
                   ", not a flat_gemm");
  const FlatGemmSpec &g = entry.gemm;
  // Rejected rather than run without it (a wrong result) or handed to a
  // kernel (not the one the caller forced): cublasGemmEx computes
  // alpha*op(A)op(B) + beta*C and has no bias vector.
  if (g.hasBias || args.bias.data) {
    std::string kernels;
    for (const KernelSpec &k : g.kernels)
      kernels += (kernels.empty() ? "" : ", ") + k.role;
    return invalid(std::string("the cublas variant does not take a bias; "
                               "entry '") +
                   entry.name + "' " +
                   (g.hasBias ? "adds one" : "has none but one was given") +
                   ": run one of its own kernels (" + kernels + ")");
  }
  Expected<int> ldx = checkCublasMatrix(binding::kX, args.x, entry.dtype);
  if (!ldx)
    return ldx.getStatus();
  Expected<int> ldw = checkCublasMatrix(binding::kW, args.w, entry.dtype);
  if (!ldw)
    return ldw.getStatus();
  Expected<int> ldy = checkCublasMatrix(binding::kY, args.y, g.outDtype);
  if (!ldy)
    return ldy.getStatus();
  if (Status shapes = checkGemmShapes(g, args); !shapes.ok())
    return shapes;
  CublasGemm gemm;
  gemm.m = static_cast<int>(args.x.sizes[0]);
  gemm.n = static_cast<int>(g.n);
  gemm.k = static_cast<int>(g.k);
  gemm.x = args.x.data;
  gemm.w = args.w.data;
  gemm.y = args.y.data;
  gemm.ldx = *ldx;
  gemm.ldw = *ldw;
  gemm.ldy = *ldy;
  gemm.abType = cudaDataType(entry.dtype);
  gemm.yType = cudaDataType(g.outDtype);
  return gemm;
}

//===----------------------------------------------------------------------===//
// Dispatch table
//===----------------------------------------------------------------------===//

Expected<DispatchTable> DispatchTable::parse(std::string_view text,
                                             std::string_view sourceName) {
  DispatchTable table;
  Status parsed = forEachTableLine(
      text, sourceName, [&](std::istringstream &fields) -> std::string {
        Shape shape;
        std::string dtype;
        if (!(fields >> shape.n))
          return ""; // blank or comment
        if (!(fields >> shape.k >> dtype))
          return "expected '<n> <k> <dtype> <maxM>:<variant> ...'";
        if (shape.n < 1 || shape.k < 1)
          return "n and k must be positive";
        std::optional<DType> type = parseDType(dtype);
        if (!type || (*type != DType::F16 && *type != DType::BF16))
          return "dtype '" + dtype + "' is not f16 or bf16";
        shape.dtype = *type;
        std::string rule;
        while (fields >> rule) {
          size_t colon = rule.find(':');
          DispatchRule r;
          char *end = nullptr;
          errno = 0;
          long long maxM = colon == std::string::npos
                               ? 0
                               : std::strtoll(rule.c_str(), &end, 10);
          if (colon == std::string::npos || end != rule.c_str() + colon ||
              errno || maxM < 1 || colon + 1 == rule.size())
            return "rule '" + rule + "' is not <maxM>:<variant> with maxM >= 1";
          r.maxM = maxM;
          r.kernel = rule.substr(colon + 1);
          if (!shape.rules.empty() && r.maxM <= shape.rules.back().maxM)
            return "rule '" + rule + "': maxM must increase along the line";
          shape.rules.push_back(std::move(r));
        }
        if (shape.rules.empty())
          return "no rules for " + std::to_string(shape.n) + "x" +
                 std::to_string(shape.k) + " " + dtype;
        if (table.find(shape.n, shape.k, shape.dtype))
          return "a second line for " + std::to_string(shape.n) + " " +
                 std::to_string(shape.k) + " " + dtype;
        table.shapes.push_back(std::move(shape));
        return "";
      });
  if (!parsed.ok())
    return parsed;
  return table;
}

Expected<DispatchTable> DispatchTable::loadFile(const std::string &path) {
  Expected<std::string> text = readTableFile(path, "dispatch table");
  if (!text)
    return text.getStatus();
  return parse(*text, path);
}

const std::vector<DispatchRule> *DispatchTable::find(int64_t n, int64_t k,
                                                     DType dtype) const {
  for (const Shape &s : shapes)
    if (s.n == n && s.k == k && s.dtype == dtype)
      return &s.rules;
  return nullptr;
}

void DispatchTable::set(int64_t n, int64_t k, DType dtype,
                        std::vector<DispatchRule> rules) {
  for (Shape &s : shapes)
    if (s.n == n && s.k == k && s.dtype == dtype) {
      s.rules = std::move(rules);
      return;
    }
  shapes.push_back(Shape{n, k, dtype, std::move(rules)});
}

std::string DispatchTable::toString() const {
  std::string out = "# fd flat-gemm dispatch table: <n> <k> <dtype> "
                    "<maxM>:<variant> ...\n";
  for (const Shape &s : shapes) {
    out += std::to_string(s.n) + " " + std::to_string(s.k) + " " +
           dtypeName(s.dtype);
    for (const DispatchRule &r : s.rules)
      out += " " + std::to_string(r.maxM) + ":" + r.kernel;
    out += "\n";
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Selection and launch
//===----------------------------------------------------------------------===//

Expected<size_t> fd::rt::findGemmKernel(const EntrySpec &entry,
                                        std::string_view name) {
  if (name == kCublasName)
    return kCublasKernel;
  const std::vector<KernelSpec> &kernels = entry.gemm.kernels;
  std::string known;
  for (size_t i = 0; i < kernels.size(); ++i) {
    if (kernels[i].role == name)
      return i;
    known += (known.empty() ? "" : ", ") + kernels[i].role;
  }
  return invalid("entry '" + entry.name + "' has no GEMM kernel '" +
                 std::string(name) + "' (its kernels: " + known +
                 ", and cublas)");
}

const std::string &fd::rt::gemmKernelName(const EntrySpec &entry,
                                          size_t index) {
  static const std::string cublasName(kCublasName);
  return index < entry.gemm.kernels.size() ? entry.gemm.kernels[index].role
                                           : cublasName;
}

Expected<size_t> fd::rt::selectFlatGemmKernel(const EntrySpec &entry, int64_t m,
                                              const DispatchTable *table) {
  const std::vector<KernelSpec> &kernels = entry.gemm.kernels;
  if (entry.op != OpKind::FlatGemm || kernels.empty())
    return invalid("entry '" + entry.name + "' is not a flat_gemm");
  if (m < 0)
    return invalid("M = " + std::to_string(m) + " is negative");
  // The first rule with M <= maxM, else the last one.
  auto byRules = [&](const std::vector<DispatchRule> &rules) {
    for (const DispatchRule &r : rules)
      if (m <= r.maxM)
        return &r;
    return &rules.back();
  };
  if (table)
    if (const std::vector<DispatchRule> *rules =
            table->find(entry.gemm.n, entry.gemm.k, entry.dtype)) {
      Expected<size_t> index = findGemmKernel(entry, byRules(*rules)->kernel);
      if (!index)
        return index.getStatus().withContext("dispatch table");
      // cuBLAS adds no bias: such an M falls through to the defaults.
      if (*index != kCublasKernel || !entry.gemm.hasBias)
        return index;
    }
  // The manifest's rules (the bundle reader checked their kernels).
  if (!entry.gemm.dispatch.empty())
    return findGemmKernel(entry, byRules(entry.gemm.dispatch)->kernel);
  // No rules: the kernel with the smallest m_tile >= M (the first listed
  // among equals), else the one with the largest m_tile.
  std::optional<size_t> smallestFit, largest;
  for (size_t i = 0; i < kernels.size(); ++i) {
    int64_t tile = kernels[i].mTile;
    if (!largest || tile > kernels[*largest].mTile)
      largest = i;
    if (tile >= m && (!smallestFit || tile < kernels[*smallestFit].mTile))
      smallestFit = i;
  }
  return smallestFit ? *smallestFit : *largest;
}

Expected<std::array<uint32_t, 3>> fd::rt::flatGemmGrid(const KernelSpec &kernel,
                                                       int64_t m) {
  SymbolValues symbols;
  symbols.set(Symbol::M, m);
  int64_t tile = std::max<int64_t>(kernel.mTile, 1);
  symbols.set(Symbol::MT, (m + tile - 1) / tile);
  return evaluateGrid(kernel, symbols);
}

Status fd::rt::packFlatGemmParams(const KernelSpec &kernel,
                                  const FlatGemmArgs &args,
                                  KernelParams &params) {
  params.clear();
  for (const ArgSpec &arg : kernel.args) {
    const TensorRef *t = nullptr;
    switch (arg.source) {
    case ArgSource::X:
      t = &args.x;
      break;
    case ArgSource::W:
      t = &args.w;
      break;
    case ArgSource::Bias:
      t = &args.bias;
      break;
    case ArgSource::Y:
      t = &args.y;
      break;
    default:
      return Status::error(ErrorCode::Internal, "flat_gemm argument '" +
                                                    arg.bind +
                                                    "' has no binding");
    }
    params.pushMemref(reinterpret_cast<uintptr_t>(t->data), t->rank, t->sizes,
                      t->strides);
  }
  if (params.hasOverflowed())
    return Status::error(ErrorCode::Internal, "too many kernel parameters");
  return Status::success();
}

FlatGemm::FlatGemm(const BoundEntry &bound)
    : entry(&bound.getSpec()), context(&bound.getContext()),
      kernels(&bound.getKernels()) {}

Status FlatGemm::run(const FlatGemmArgs &args, const DispatchTable *table,
                     CUstream stream, std::string_view kernelName) const {
  std::string what = "run flat_gemm '" + entry->name + "'";
  // Forced cublas takes pitched rows the kernels do not, so it is checked by
  // its own rules rather than validateFlatGemmArgs'.
  if (kernelName == kCublasName)
    return runCublas(args, stream).withContext(what);
  Expected<int64_t> m = validateFlatGemmArgs(*entry, args);
  if (!m)
    return m.getStatus().withContext(what);
  Expected<size_t> index = kernelName.empty()
                               ? selectFlatGemmKernel(*entry, *m, table)
                               : findGemmKernel(*entry, kernelName);
  if (!index)
    return index.getStatus().withContext(what);
  if (*index == kCublasKernel)
    return runCublas(args, stream).withContext(what);
  // M = 0 is a valid call with nothing to do; a zero grid is not launchable.
  if (*m == 0)
    return Status::success();
  const KernelSpec &kernel = entry->gemm.kernels[*index];
  Expected<std::array<uint32_t, 3>> grid = flatGemmGrid(kernel, *m);
  if (!grid)
    return grid.getStatus().withContext(what);
  KernelParams params;
  Status packed = packFlatGemmParams(kernel, args, params);
  if (!packed.ok())
    return packed.withContext(what);
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  const DriverApi &api = context->getDriver();
  Status launched = launchKernel(api, (*kernels)[*index].function, kernel,
                                 *grid, stream, params.getPointers());
  if (!launched.ok())
    return launched.withContext(what);
  return Status::success();
}

Status FlatGemm::runCublas(const FlatGemmArgs &args, CUstream stream) const {
  Expected<CublasGemm> gemm = planCublasFlatGemm(*entry, args);
  if (!gemm)
    return gemm.getStatus();
  // Nothing to do, as for the kernels (and cuBLAS need not be there).
  if (gemm->m == 0)
    return Status::success();
  Expected<CublasHandle *> handle = context->getCublas();
  if (!handle)
    return handle.getStatus().withContext("cublas variant");
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  return (*handle)->gemm(*gemm, stream);
}
