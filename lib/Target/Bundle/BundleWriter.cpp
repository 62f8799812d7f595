//===- BundleWriter.cpp - fd kernel bundle (manifest + PTX) ---------------===//
#include "fd/Target/Bundle/BundleWriter.h"

#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Regex.h"

using namespace mlir;
using namespace mlir::fd::bundle_writer;
namespace schema = ::fdb;
namespace key = ::fdb::key;
namespace ir = ::fdb::ir;

static StringRef ref(std::string_view s) { return {s.data(), s.size()}; }

static std::string typeName(Type t) {
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isF32())
    return "f32";
  if (t.isInteger(32))
    return "i32";
  if (t.isInteger(64) || t.isIndex())
    return "i64";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

//===----------------------------------------------------------------------===//
// Entries: the op facts of the input
//===----------------------------------------------------------------------===//

static Entry gemmEntry(func::FuncOp fn, fd::FlatGemmOp gemm) {
  auto wType = cast<MemRefType>(gemm.getW().getType());
  Entry e;
  e.name = fn.getName().str();
  e.op = std::string(schema::op::kFlatGemm);
  e.dtype = typeName(wType.getElementType());
  e.n = wType.getDimSize(0);
  e.k = wType.getDimSize(1);
  e.hasBias = gemm.getBias() != nullptr;
  e.outDtype =
      typeName(cast<MemRefType>(gemm.getY().getType()).getElementType());
  return e;
}

/// A merge-states entry: how many states of which [Hq, D] it combines (the
/// kernel's bindings say whether it writes the merged lse).
static Entry mergeStatesEntry(func::FuncOp fn, fd::MergeStatesOp merge) {
  auto outType = cast<MemRefType>(merge.getOut().getType());
  Entry e;
  e.name = fn.getName().str();
  e.op = std::string(schema::op::kMergeStates);
  e.dtype = typeName(outType.getElementType());
  e.numQueryHeads = outType.getDimSize(1);
  e.headDim = outType.getDimSize(2);
  e.numStates = static_cast<int64_t>(merge.getStates().size());
  return e;
}

/// A decode-attention entry from its op: fd.decode_attention, or the
/// fd.partial_attention of fd-split-kv's output.
static Entry attentionEntry(func::FuncOp fn, Value query, Value key,
                            llvm::APFloat scale) {
  fd::AttentionShape shape = fd::getAttentionShape(query, key);
  Entry e;
  e.name = fn.getName().str();
  e.op = std::string(schema::op::kDecodeAttention);
  e.dtype = typeName(shape.elementType);
  e.numQueryHeads = shape.numQueryHeads;
  e.numKVHeads = shape.numKVHeads;
  e.headDim = shape.headDim;
  e.scale = scale.convertToDouble();
  return e;
}

/// Whether `op` may sit in an entry function beside its fd op: the bundle
/// carries only the kernels, so anything with an effect of its own would be
/// silently dropped. Allowed: the return, ops without memory effects (index
/// arithmetic, memref.dim), and, in the split form, fd-split-kv's own host
/// code (fd.split_plan, and the allocs and deallocs of buffers only fd ops
/// use: they become the runtime's workspace).
static bool isCarried(Operation *op, bool splitForm) {
  if (isa<func::ReturnOp, fd::DecodeAttentionOp, fd::FlatGemmOp,
          fd::MergeStatesOp>(op) ||
      isMemoryEffectFree(op))
    return true;
  if (!splitForm)
    return false;
  if (isa<fd::SplitPlanOp, fd::PartialAttentionOp, fd::MergePartialsOp,
          fd::OverflowFallbackOp>(op))
    return true;
  if (isa<memref::AllocOp>(op))
    return llvm::all_of(op->getResult(0).getUsers(), [](Operation *user) {
      return isa<fd::FDDialect>(user->getDialect()) ||
             isa<memref::DeallocOp>(user);
    });
  if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
    return isa_and_nonnull<memref::AllocOp>(
        dealloc.getMemref().getDefiningOp());
  return false;
}

LogicalResult fd::bundle_writer::collectEntries(ModuleOp module,
                                                Bundle &bundle) {
  bool ok = true;
  module.walk([&](func::FuncOp fn) {
    SmallVector<Operation *> computes;
    SmallVector<fd::PartialAttentionOp> partials;
    fn.walk([&](Operation *op) {
      if (isa<fd::DecodeAttentionOp, fd::FlatGemmOp, fd::MergeStatesOp>(op))
        computes.push_back(op);
      if (auto p = dyn_cast<fd::PartialAttentionOp>(op))
        partials.push_back(p);
    });
    if (computes.empty() && partials.empty())
      return;
    if (computes.size() + partials.size() > 1) {
      fn.emitError() << "fd-compile: function '" << fn.getName() << "' holds "
                     << computes.size() + partials.size()
                     << " fd.decode_attention / fd.partial_attention / "
                        "fd.flat_gemm / fd.merge_states ops; a bundle entry "
                        "is one function with one op";
      ok = false;
      return;
    }
    const bool splitForm = !partials.empty();
    // An already-split entry: fd-split-kv's output, which records its plan
    // on the function (the runtime plans from it).
    if (splitForm && !fn->hasAttr(ir::kSplit)) {
      fn.emitError() << "fd-compile: function '" << fn.getName()
                     << "' is in the split form but has no " << ir::kSplit
                     << " record; write fd.decode_attention, or give "
                        "fd-split-kv's output as it is";
      ok = false;
      return;
    }
    fn.walk([&](Operation *op) {
      if (op == fn.getOperation() || isCarried(op, splitForm))
        return;
      op->emitOpError() << "in entry function '" << fn.getName()
                        << "' would not be carried into the bundle: a bundle "
                           "entry is the function's fd op (its kernels), and "
                           "no host code around it is compiled";
      ok = false;
    });
    if (splitForm) {
      fd::PartialAttentionOp p = partials.front();
      bundle.entries.push_back(
          attentionEntry(fn, p.getQuery(), p.getKey(), p.getScale()));
    } else if (auto gemm = dyn_cast<fd::FlatGemmOp>(computes.front())) {
      bundle.entries.push_back(gemmEntry(fn, gemm));
    } else if (auto merge = dyn_cast<fd::MergeStatesOp>(computes.front())) {
      bundle.entries.push_back(mergeStatesEntry(fn, merge));
    } else {
      auto op = cast<fd::DecodeAttentionOp>(computes.front());
      bundle.entries.push_back(
          attentionEntry(fn, op.getQuery(), op.getKey(), op.getScale()));
    }
  });
  if (ok && bundle.entries.empty()) {
    module.emitError() << "fd-compile: the input has no fd.decode_attention, "
                          "fd.flat_gemm or fd.merge_states to compile";
    return failure();
  }
  return success(ok);
}

//===----------------------------------------------------------------------===//
// Kernels and what the passes recorded
//===----------------------------------------------------------------------===//

/// The manifest kernel of `fn`, or failure (diagnosed) when the lowering did
/// not leave the fd.* attributes or a binding on every argument.
static FailureOr<Kernel> readKernel(gpu::GPUFuncOp fn) {
  auto role = fn->getAttrOfType<StringAttr>(ir::kRole);
  auto entry = fn->getAttrOfType<StringAttr>(ir::kEntry);
  auto grid = fn->getAttrOfType<ArrayAttr>(ir::kGrid);
  auto block = fn.getKnownBlockSizeAttr();
  if (!role || !entry || !grid || !block)
    return fn.emitError() << "fd-compile: kernel '" << fn.getName()
                          << "' lacks the fd.* manifest attributes";
  Kernel k;
  k.symbol = fn.getName().str();
  k.entry = entry.getValue().str();
  k.role = role.getValue().str();
  if (auto variant = fn->getAttrOfType<StringAttr>(ir::kVariant))
    k.variant = variant.getValue().str();
  for (Attribute g : grid)
    k.grid.push_back(cast<StringAttr>(g).getValue().str());
  for (unsigned i = 0; i < 3; ++i)
    k.block[i] = block[i];
  if (auto m = fn->getAttrOfType<IntegerAttr>(ir::kMTile))
    k.mTile = m.getInt();
  if (auto s = fn->getAttrOfType<IntegerAttr>(ir::kDynamicSmem))
    k.dynamicSmem = s.getInt();
  k.pdl = fn->hasAttr(ir::kPdl);
  if (auto c = fn->getAttrOfType<ArrayAttr>(ir::kCluster)) {
    if (c.size() != 3 || !llvm::all_of(c, [](Attribute a) {
          auto i = dyn_cast<IntegerAttr>(a);
          return i && i.getInt() >= 1 && i.getInt() <= fdb::kMaxClusterCtas;
        }))
      return fn.emitError() << "fd-compile: kernel '" << fn.getName() << "': "
                            << ir::kCluster << " must be 3 integers in [1, "
                            << fdb::kMaxClusterCtas << "], got " << c;
    for (unsigned i = 0; i < 3; ++i)
      k.cluster[i] = cast<IntegerAttr>(c[i]).getInt();
  }
  for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
    auto bind = fn.getArgAttrOfType<StringAttr>(i, ir::kBinding);
    if (!bind)
      return fn.emitError() << "fd-compile: argument " << i << " of kernel '"
                            << fn.getName() << "' has no " << ir::kBinding;
    KernelArg a;
    a.bind = bind.getValue().str();
    if (auto mt = dyn_cast<MemRefType>(type)) {
      a.isMemref = true;
      a.elem = typeName(mt.getElementType());
      a.rank = mt.getRank();
      SmallVector<int64_t> strides;
      int64_t offset = 0;
      if (failed(mt.getStridesAndOffset(strides, offset)))
        return fn.emitError() << "fd-compile: argument " << i << " of kernel '"
                              << fn.getName() << "' has a non-strided layout "
                              << mt;
      // The runtime passes offset 0 and the tensor's own base pointer.
      if (!ShapedType::isDynamic(offset) && offset != 0)
        return fn.emitError() << "fd-compile: argument " << i << " of kernel '"
                              << fn.getName() << "' has the static offset "
                              << offset << "; use offset 0 or ?";
      auto dynToMinus1 = [](int64_t v) {
        return ShapedType::isDynamic(v) ? int64_t(-1) : v;
      };
      for (int64_t s : mt.getShape())
        a.sizes.push_back(dynToMinus1(s));
      for (int64_t s : strides)
        a.strides.push_back(dynToMinus1(s));
      a.contiguous = mt.getLayout().isIdentity();
    } else {
      a.elem = typeName(type);
    }
    k.args.push_back(std::move(a));
  }
  // Static shared memory: the workgroup globals the kernel references.
  auto gpuModule = fn->getParentOfType<gpu::GPUModuleOp>();
  fn.walk([&](memref::GetGlobalOp get) {
    if (auto global =
            gpuModule.lookupSymbol<memref::GlobalOp>(get.getNameAttr())) {
      MemRefType t = global.getType();
      k.staticSmem += t.getNumElements() * (t.getElementTypeBitWidth() / 8);
    }
  });
  return k;
}

/// An i64 field of a recorded dictionary, or failure (diagnosed).
static FailureOr<int64_t> readI64(Operation *at, DictionaryAttr dict,
                                  const char *attr, const char *field) {
  auto v = dict.getAs<IntegerAttr>(field);
  if (!v)
    return at->emitError() << "fd-compile: " << attr << " lacks the integer '"
                           << field << "'";
  return v.getInt();
}

/// fd-split-kv's record of how it split the entry's attention.
static LogicalResult readSplit(func::FuncOp fn, Entry &e) {
  auto split = fn->getAttrOfType<DictionaryAttr>(ir::kSplit);
  auto mode = split ? split.getAs<StringAttr>(key::kMode) : StringAttr();
  if (!mode)
    return fn.emitError() << "fd-compile: function '" << fn.getName()
                          << "' has no " << ir::kSplit
                          << " record of fd-split-kv";
  e.splitMode = mode.getValue().str();
  schema::SplitConstants &c = e.splitConstants;
  for (auto [field, out] :
       {std::pair{key::kNumSplits, &e.numSplits},
        std::pair{key::kChunkSize, &e.chunkSize},
        std::pair{key::kCtasPerSm, &c.ctasPerSm},
        std::pair{key::kMinChunk, &c.minChunk},
        std::pair{key::kChunkAlign, &c.chunkAlign},
        std::pair{key::kMaxSplits, &c.maxSplits}}) {
    FailureOr<int64_t> v = readI64(fn, split, ir::kSplit, field);
    if (failed(v))
      return failure();
    *out = *v;
  }
  return success();
}

/// The softmax strategy the entry's kernels were built for.
static LogicalResult readSoftmax(func::FuncOp fn,
                                 ArrayRef<gpu::GPUFuncOp> kernels, Entry &e) {
  Attribute softmax;
  for (gpu::GPUFuncOp k : kernels)
    if (Attribute s = k->getAttr(ir::kSoftmax))
      softmax = s;
  if (auto um = dyn_cast_or_null<fd::UnifiedMaxAttr>(softmax)) {
    e.softmaxKind = std::string(schema::softmax::kUnifiedMax);
    e.phi = um.getPhi().convertToDouble();
    e.threshold = um.getThreshold().convertToDouble();
    return success();
  }
  if (isa_and_nonnull<fd::OnlineSoftmaxAttr>(softmax)) {
    e.softmaxKind = std::string(schema::softmax::kOnline);
    return success();
  }
  return fn.emitError() << "fd-compile: the kernels of '" << fn.getName()
                        << "' carry no " << ir::kSoftmax << " strategy";
}

/// fd-tile-flat-gemm's default dispatch rules, if it recorded them.
static LogicalResult readDispatch(func::FuncOp fn, Entry &e) {
  Attribute attr = fn->getAttr(ir::kDispatch);
  if (!attr)
    return success(); // the runtime's default (docs/bundle.md)
  auto list = dyn_cast<ArrayAttr>(attr);
  if (!list || list.empty())
    return fn.emitError() << "fd-compile: " << ir::kDispatch
                          << " must be a non-empty array of rules";
  for (Attribute item : list) {
    auto rule = dyn_cast<DictionaryAttr>(item);
    auto kernel = rule ? rule.getAs<StringAttr>(key::kKernel) : StringAttr();
    if (!kernel)
      return fn.emitError() << "fd-compile: every " << ir::kDispatch
                            << " rule needs a string '" << key::kKernel << "'";
    Entry::DispatchRule r;
    r.kernel = kernel.getValue().str();
    if (rule.get(key::kMaxM)) {
      FailureOr<int64_t> v = readI64(fn, rule, ir::kDispatch, key::kMaxM);
      if (failed(v))
        return failure();
      r.maxM = *v;
    }
    e.dispatch.push_back(std::move(r));
  }
  return success();
}

LogicalResult fd::bundle_writer::collectKernels(ModuleOp module,
                                                Bundle &bundle) {
  bool ok = true;
  llvm::StringMap<SmallVector<gpu::GPUFuncOp>> byEntry;
  module.walk([&](gpu::GPUFuncOp fn) {
    FailureOr<Kernel> k = readKernel(fn);
    if (failed(k)) {
      ok = false;
      return;
    }
    byEntry[k->entry].push_back(fn);
    bundle.kernels.push_back(std::move(*k));
  });
  if (!ok)
    return failure();
  // The manifest lists kernels in launch order: every partial before merge.
  std::stable_sort(bundle.kernels.begin(), bundle.kernels.end(),
                   [](const Kernel &a, const Kernel &b) {
                     return a.role == schema::role::kPartial &&
                            b.role != schema::role::kPartial;
                   });
  for (Entry &e : bundle.entries) {
    auto kernels = byEntry.find(e.name);
    if (kernels == byEntry.end()) {
      module.emitError() << "fd-compile: no kernel was generated for '"
                         << e.name << "'";
      ok = false;
      continue;
    }
    auto fn = module.lookupSymbol<func::FuncOp>(e.name);
    if (!fn) {
      module.emitError() << "fd-compile: entry function '" << e.name
                         << "' is gone after lowering";
      ok = false;
      continue;
    }
    if (e.op == schema::op::kFlatGemm)
      ok &= succeeded(readDispatch(fn, e));
    else if (e.op == schema::op::kMergeStates)
      continue; // nothing recorded: the op facts are the whole entry
    else
      ok &= succeeded(readSplit(fn, e)) &&
            succeeded(readSoftmax(fn, kernels->second, e));
  }
  return success(ok);
}

LogicalResult fd::bundle_writer::collectPTX(ModuleOp module, Bundle &bundle,
                                           StringRef moduleName) {
  auto binary = module.lookupSymbol<gpu::BinaryOp>(ref(schema::kModuleName));
  if (!binary || binary.getObjects().size() != 1) {
    module.emitError() << "fd-compile: expected one gpu.binary @"
                       << ref(schema::kModuleName)
                       << " with one object after serialisation";
    return failure();
  }
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  if (object.getFormat() != gpu::CompilationTarget::Assembly) {
    module.emitError() << "fd-compile: the gpu.binary does not hold PTX";
    return failure();
  }
  bundle.modules.push_back(
      {moduleName.str(), object.getObject().getValue().str()});
  for (Kernel &k : bundle.kernels)
    if (k.module.empty())
      k.module = moduleName.str();
  return success();
}

LogicalResult fd::bundle_writer::appendBundle(Bundle &bundle, Bundle &&part,
                                             std::string &error) {
  llvm::StringSet<> modules, entries;
  for (const Module &m : bundle.modules)
    modules.insert(m.name);
  for (const Entry &e : bundle.entries)
    entries.insert(e.name);
  for (const Module &m : part.modules)
    if (modules.contains(m.name)) {
      error = "two compile units produced the module '" + m.name + "'";
      return failure();
    }
  for (const Entry &e : part.entries)
    if (entries.contains(e.name)) {
      error = "two compile units produced the entry '" + e.name + "'";
      return failure();
    }
  auto move = [](auto &to, auto &from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()),
              std::make_move_iterator(from.end()));
  };
  move(bundle.modules, part.modules);
  move(bundle.entries, part.entries);
  move(bundle.kernels, part.kernels);
  return success();
}

std::string fd::bundle_writer::joinModulesPTX(const Bundle &bundle) {
  std::string joined;
  llvm::StringSet<> declared;
  for (size_t i = 0; i < bundle.modules.size(); ++i) {
    int depth = 0;
    SmallVector<StringRef> lines;
    StringRef(bundle.modules[i].ptx).split(lines, '\n');
    for (StringRef line : lines) {
      StringRef code = line.trim();
      bool header = code.starts_with(".version") ||
                    code.starts_with(".target") ||
                    code.starts_with(".address_size");
      bool declaration =
          depth == 0 && code.starts_with(".") && code.ends_with(";");
      depth += int(line.count('{')) - int(line.count('}'));
      if ((header && i > 0) ||
          (declaration && !header && !declared.insert(code).second))
        continue;
      joined.append(line.data(), line.size());
      joined.push_back('\n');
    }
  }
  // split() leaves one empty piece after the final newline of each module.
  return joined;
}

llvm::StringMap<Resources>
fd::bundle_writer::parsePtxasReport(StringRef report) {
  // ptxas -v prints, per entry:
  //   ptxas info : Compiling entry function 'NAME' for 'sm_90'
  //   ...  N bytes stack frame, S bytes spill stores, L bytes spill loads
  //   ptxas info : Used R registers, used B barriers, M bytes smem, ...
  llvm::StringMap<Resources> result;
  llvm::Regex entry("Compiling entry function '([^']+)'");
  llvm::Regex spill("([0-9]+) bytes spill stores, ([0-9]+) bytes spill loads");
  llvm::Regex regs("Used ([0-9]+) registers");
  llvm::Regex smem("([0-9]+) bytes smem");
  std::string current;
  SmallVector<StringRef> lines;
  report.split(lines, '\n');
  for (StringRef line : lines) {
    SmallVector<StringRef, 3> m;
    if (entry.match(line, &m)) {
      current = m[1].str();
      result[current] = Resources();
      continue;
    }
    if (current.empty())
      continue;
    Resources &r = result[current];
    if (spill.match(line, &m)) {
      int64_t stores = 0, loads = 0;
      m[1].getAsInteger(10, stores);
      m[2].getAsInteger(10, loads);
      r.spillBytes = stores + loads;
    }
    if (regs.match(line, &m))
      m[1].getAsInteger(10, r.registers);
    if (smem.match(line, &m))
      m[1].getAsInteger(10, r.sharedBytes);
  }
  return result;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

namespace {
class ManifestWriter {
public:
  ManifestWriter(const Bundle &bundle, llvm::raw_ostream &os)
      : bundle(bundle), j(os, 2) {}

  void write() {
    j.object([&] {
      j.attribute(key::kFormat, ref(schema::kFormat));
      j.attribute(key::kVersion, schema::kVersion);
      j.attribute(key::kProducer, ref(schema::kProducer));
      j.attributeArray(key::kModules, [&] {
        for (const Module &m : bundle.modules)
          j.object([&] {
            j.attribute(key::kName, m.name);
            j.attribute(key::kChip, bundle.chip);
            j.attribute(key::kFeatures, bundle.features);
            j.attribute(key::kPtx, m.ptx);
          });
      });
      j.attributeArray(key::kEntries, [&] {
        for (const Entry &e : bundle.entries)
          j.object([&] {
            if (e.op == schema::op::kFlatGemm)
              writeGemmEntry(e);
            else if (e.op == schema::op::kMergeStates)
              writeMergeStatesEntry(e);
            else
              writeAttentionEntry(e);
          });
      });
    });
  }

private:
  /// A grid extent or shape dimension: a decimal constant or a symbol.
  void sizeItem(StringRef s) {
    int64_t v;
    if (!s.getAsInteger(10, v))
      j.value(v);
    else
      j.value(s);
  }

  void writeKernel(const Kernel &k) {
    j.object([&] {
      j.attribute(key::kSymbol, k.symbol);
      j.attribute(key::kModule, k.module);
      j.attribute(key::kRole, k.role);
      j.attributeArray(key::kGrid, [&] {
        for (const std::string &g : k.grid)
          sizeItem(g);
      });
      j.attributeArray(key::kBlock, [&] {
        for (int64_t b : k.block)
          j.value(b);
      });
      j.attribute(key::kStaticSmem, k.staticSmem);
      j.attribute(key::kDynamicSmem, k.dynamicSmem);
      if (k.mTile > 0)
        j.attribute(key::kMTile, k.mTile);
      if (k.pdl)
        j.attribute(key::kPdl, true);
      if (k.cluster != std::array<int64_t, 3>{1, 1, 1})
        j.attributeArray(key::kCluster, [&] {
          for (int64_t c : k.cluster)
            j.value(c);
        });
      j.attributeArray(key::kArgs, [&] {
        for (const KernelArg &a : k.args)
          j.object([&] {
            j.attribute(key::kKind, ref(a.isMemref ? schema::arg_kind::kMemref
                                                   : schema::arg_kind::kScalar));
            j.attribute(key::kBind, a.bind);
            if (a.isMemref) {
              j.attribute(key::kElem, a.elem);
              j.attribute(key::kRank, a.rank);
              j.attributeArray(key::kSizes, [&] {
                for (int64_t s : a.sizes)
                  j.value(s);
              });
              j.attributeArray(key::kStrides, [&] {
                for (int64_t s : a.strides)
                  j.value(s);
              });
              if (a.contiguous)
                j.attribute(key::kContiguous, true);
            } else {
              j.attribute(key::kType, a.elem);
            }
          });
      });
      if (k.resources)
        j.attributeObject(key::kResources, [&] {
          j.attribute(key::kRegisters, k.resources->registers);
          j.attribute(key::kSpillBytes, k.resources->spillBytes);
          j.attribute(key::kSharedBytes, k.resources->sharedBytes);
        });
    });
  }

  /// The kernels of entry `e` in `variant` (every one for "").
  void writeKernels(const Entry &e, std::optional<StringRef> variant) {
    j.attributeArray(key::kKernels, [&] {
      for (const Kernel &k : bundle.kernels)
        if (k.entry == e.name && (!variant || k.variant == *variant))
          writeKernel(k);
    });
  }

  void writeGemmEntry(const Entry &e) {
    j.attribute(key::kName, e.name);
    j.attribute(key::kOp, e.op);
    j.attribute(key::kDtype, e.dtype);
    j.attribute(key::kN, e.n);
    j.attribute(key::kK, e.k);
    j.attribute(key::kHasBias, e.hasBias);
    j.attribute(key::kOutDtype, e.outDtype);
    if (!e.dispatch.empty())
      j.attributeArray(key::kDispatch, [&] {
        for (const Entry::DispatchRule &r : e.dispatch)
          j.object([&] {
            if (r.maxM)
              j.attribute(key::kMaxM, *r.maxM);
            j.attribute(key::kKernel, r.kernel);
          });
      });
    writeKernels(e, std::nullopt);
  }

  void writeMergeStatesEntry(const Entry &e) {
    j.attribute(key::kName, e.name);
    j.attribute(key::kOp, e.op);
    j.attribute(key::kDtype, e.dtype);
    j.attribute(key::kNumQHeads, e.numQueryHeads);
    j.attribute(key::kHeadDim, e.headDim);
    j.attribute(key::kNumStates, e.numStates);
    writeKernels(e, std::nullopt);
  }

  /// The workspace buffers of one launch variant, in layout order.
  void writeWorkspace(StringRef variant) {
    j.attributeArray(key::kWorkspace, [&] {
      schema::workspace::forEachBuffer(
          std::string_view(variant.data(), variant.size()),
          [&](const schema::WorkspaceBuffer &b) {
            j.object([&] {
              j.attribute(key::kName, ref(b.name));
              j.attribute(key::kElem, ref(b.elem));
              j.attributeArray(key::kShape, [&] {
                for (int i = 0; i < b.rank; ++i)
                  sizeItem(ref(b.shape[i]));
              });
            });
          });
    });
  }

  void writeAttentionEntry(const Entry &e) {
    j.attribute(key::kName, e.name);
    j.attribute(key::kOp, e.op);
    j.attribute(key::kDtype, e.dtype);
    j.attribute(key::kNumQHeads, e.numQueryHeads);
    j.attribute(key::kNumKvHeads, e.numKVHeads);
    j.attribute(key::kHeadDim, e.headDim);
    j.attribute(key::kScale, e.scale);
    j.attributeObject(key::kSoftmax, [&] {
      j.attribute(key::kKind, e.softmaxKind);
      if (e.softmaxKind == schema::softmax::kUnifiedMax) {
        j.attribute(key::kPhi, e.phi);
        j.attribute(key::kThreshold, e.threshold);
      }
    });
    j.attributeObject(key::kSplit, [&] {
      j.attribute(key::kMode, e.splitMode);
      j.attribute(key::kNumSplits, e.numSplits);
      j.attribute(key::kChunkSize, e.chunkSize);
      j.attribute(key::kCtasPerSm, e.splitConstants.ctasPerSm);
      j.attribute(key::kMinChunk, e.splitConstants.minChunk);
      j.attribute(key::kChunkAlign, e.splitConstants.chunkAlign);
      j.attribute(key::kMaxSplits, e.splitConstants.maxSplits);
    });
    // Variants in kernel order (two_kernel first, split before unsplit);
    // an entry without them has the one unnamed variant.
    std::vector<std::string> variants;
    for (const Kernel &k : bundle.kernels)
      if (k.entry == e.name && llvm::find(variants, k.variant) == variants.end())
        variants.push_back(k.variant);
    if (variants.empty())
      variants.push_back("");
    // The top level holds the first variant, so that a reader that does not
    // know "variants" still finds a complete launch.
    writeWorkspace(variants.front());
    writeKernels(e, StringRef(variants.front()));
    if (variants.front().empty())
      return;
    j.attributeArray(key::kVariants, [&] {
      for (const std::string &variant : variants)
        j.object([&] {
          j.attribute(key::kName, variant);
          // The single launches' counters and accumulators, the fallback
          // counter and the score statistics must start at zero (the
          // kernels leave counters and accumulators zeroed); phi starts at
          // the entry's softmax phi (the runtime's initWorkspace).
          if (schema::variant::keepsWorkspaceZero(variant))
            j.attribute(key::kWorkspaceInit, ref(schema::kWorkspaceInitZero));
          if (schema::variant::isUnifiedMax(variant)) {
            j.attribute(key::kFallbackCounter,
                        ref(schema::binding::kFallbackCount));
            j.attribute(key::kPhiBuffer, ref(schema::binding::kPhi));
            j.attribute(key::kScoreStats, ref(schema::binding::kScoreStats));
          }
          writeWorkspace(variant);
          writeKernels(e, StringRef(variant));
        });
    });
  }

  const Bundle &bundle;
  llvm::json::OStream j;
};
} // namespace

void fd::bundle_writer::writeBundle(const Bundle &bundle,
                                    llvm::raw_ostream &os) {
  ManifestWriter(bundle, os).write();
  os << "\n";
}
