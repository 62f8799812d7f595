//===- BundleWriter.cpp - fd kernel bundle (manifest + PTX) ---------------===//
#include "BundleWriter.h"

#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "fd/Conversion/FlatGemmToGPU/FlatGemmToGPU.h"
#include "fd/Conversion/ProgrammaticLaunch/ProgrammaticLaunch.h"
#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Regex.h"

using namespace mlir;
using namespace mlir::fd::compile;

/// The unified-max launch variants (docs/unified-max.md) carry a fallback
/// counter and a zero-initialised workspace; the online ones (split,
/// unsplit) do not.
static bool isUnifiedMaxVariant(StringRef variant) {
  return variant == "two_kernel" || variant == "single_launch";
}

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

LogicalResult fd::compile::collectEntries(ModuleOp module,
                                          const fd::FDPipelineOptions &options,
                                          Bundle &bundle) {
  bool ok = true;
  module.walk([&](Operation *op) {
    if (isa<fd::PartialAttentionOp, fd::MergePartialsOp, fd::SplitPlanOp>(
            op)) {
      op->emitOpError() << "is not supported by fd-compile yet: a bundle "
                           "entry is a function holding one "
                           "fd.decode_attention or fd.flat_gemm";
      ok = false;
    }
  });
  module.walk([&](func::FuncOp fn) {
    SmallVector<fd::DecodeAttentionOp> ops;
    SmallVector<fd::FlatGemmOp> gemms;
    fn.walk([&](fd::DecodeAttentionOp op) { ops.push_back(op); });
    fn.walk([&](fd::FlatGemmOp op) { gemms.push_back(op); });
    if (ops.empty() && gemms.empty())
      return;
    if (ops.size() + gemms.size() > 1) {
      fn.emitError() << "fd-compile: function '" << fn.getName() << "' holds "
                     << ops.size() + gemms.size()
                     << " fd.decode_attention / fd.flat_gemm ops; a bundle "
                        "entry is one function with one op";
      ok = false;
      return;
    }
    if (!gemms.empty()) {
      fd::FlatGemmOp gemm = gemms.front();
      auto wType = cast<MemRefType>(gemm.getW().getType());
      Entry e;
      e.name = fn.getName().str();
      e.op = "flat_gemm";
      e.dtype = typeName(wType.getElementType());
      e.n = wType.getDimSize(0);
      e.k = wType.getDimSize(1);
      e.hasBias = gemm.getBias() != nullptr;
      e.outDtype =
          typeName(cast<MemRefType>(gemm.getY().getType()).getElementType());
      e.m1 = options.gemmM1;
      e.m2 = options.gemmM2;
      bundle.entries.push_back(std::move(e));
      return;
    }
    fd::DecodeAttentionOp op = ops.front();
    fd::AttentionShape shape = fd::getAttentionShape(op.getQuery(), op.getKey());
    Entry e;
    e.name = fn.getName().str();
    e.op = "decode_attention";
    e.dtype = typeName(shape.elementType);
    e.numQueryHeads = shape.numQueryHeads;
    e.numKVHeads = shape.numKVHeads;
    e.headDim = shape.headDim;
    e.scale = op.getScale().convertToDouble();
    if (options.unifiedMaxPhi.hasValue()) {
      // The pipeline's fd-unified-max replaces the op's strategy.
      e.softmaxKind = "unified_max";
      e.phi = options.unifiedMaxPhi;
      e.threshold = options.unifiedMaxThreshold;
    } else if (auto um = dyn_cast<fd::UnifiedMaxAttr>(op.getSoftmax())) {
      e.softmaxKind = "unified_max";
      e.phi = um.getPhi().convertToDouble();
      e.threshold = um.getThreshold().convertToDouble();
    } else {
      e.softmaxKind = "online";
    }
    // Same priority as fd-split-kv: op attribute, then option, then auto.
    if (auto n = op.getNumSplitsAttr()) {
      e.splitMode = "fixed";
      e.numSplits = n.getInt();
    } else if (auto c = op.getChunkSizeAttr()) {
      e.splitMode = "chunk";
      e.chunkSize = c.getInt();
    } else if (options.numSplits > 0) {
      e.splitMode = "fixed";
      e.numSplits = options.numSplits;
    } else if (options.chunkSize > 0) {
      e.splitMode = "chunk";
      e.chunkSize = options.chunkSize;
    } else {
      e.splitMode = "auto";
    }
    bundle.entries.push_back(std::move(e));
  });
  if (ok && bundle.entries.empty()) {
    module.emitError() << "fd-compile: the input has no fd.decode_attention "
                          "or fd.flat_gemm to compile";
    return failure();
  }
  return success(ok);
}

LogicalResult fd::compile::collectKernels(ModuleOp module, Bundle &bundle) {
  namespace ka = fd::kernel_attr;
  bool ok = true;
  module.walk([&](gpu::GPUFuncOp fn) {
    auto role = fn->getAttrOfType<StringAttr>(ka::kRole);
    auto entry = fn->getAttrOfType<StringAttr>(ka::kEntry);
    auto grid = fn->getAttrOfType<ArrayAttr>(ka::kGrid);
    auto binds = fn->getAttrOfType<ArrayAttr>(ka::kArgs);
    auto block = fn.getKnownBlockSizeAttr();
    if (!role || !entry || !grid || !binds || !block ||
        binds.size() != fn.getNumArguments()) {
      fn.emitError() << "fd-compile: kernel '" << fn.getName()
                     << "' lacks the fd.* manifest attributes";
      ok = false;
      return;
    }
    Kernel k;
    k.symbol = fn.getName().str();
    k.entry = entry.getValue().str();
    k.role = role.getValue().str();
    if (auto variant = fn->getAttrOfType<StringAttr>(ka::kVariant))
      k.variant = variant.getValue().str();
    for (Attribute g : grid)
      k.grid.push_back(cast<StringAttr>(g).getValue().str());
    for (unsigned i = 0; i < 3; ++i)
      k.block[i] = block[i];
    if (auto m = fn->getAttrOfType<IntegerAttr>(ka::kMTile))
      k.mTile = m.getInt();
    if (auto s = fn->getAttrOfType<IntegerAttr>(ka::kDynamicSmem))
      k.dynamicSmem = s.getInt();
    k.pdl = fn->hasAttr(ka::kPdl);
    for (auto [type, bind] : llvm::zip(fn.getArgumentTypes(), binds)) {
      KernelArg a;
      a.bind = cast<StringAttr>(bind).getValue().str();
      if (auto mt = dyn_cast<MemRefType>(type)) {
        a.kind = "memref";
        a.elem = typeName(mt.getElementType());
        a.rank = mt.getRank();
      } else {
        a.kind = "scalar";
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
        k.staticSmem += t.getNumElements() *
                        (t.getElementTypeBitWidth() / 8);
      }
    });
    bundle.kernels.push_back(std::move(k));
  });
  // The manifest lists kernels in launch order: every partial before merge.
  std::stable_sort(bundle.kernels.begin(), bundle.kernels.end(),
                   [](const Kernel &a, const Kernel &b) {
                     return a.role == "partial" && b.role != "partial";
                   });
  for (const Entry &e : bundle.entries)
    if (llvm::none_of(bundle.kernels,
                      [&](const Kernel &k) { return k.entry == e.name; })) {
      module.emitError() << "fd-compile: no kernel was generated for '"
                         << e.name << "'";
      ok = false;
    }
  return success(ok);
}

LogicalResult fd::compile::collectPTX(ModuleOp module, Bundle &bundle) {
  auto binary = module.lookupSymbol<gpu::BinaryOp>("fd_kernels");
  if (!binary || binary.getObjects().size() != 1) {
    module.emitError() << "fd-compile: expected one gpu.binary @fd_kernels "
                          "with one object after serialisation";
    return failure();
  }
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  if (object.getFormat() != gpu::CompilationTarget::Assembly) {
    module.emitError() << "fd-compile: the gpu.binary does not hold PTX";
    return failure();
  }
  bundle.ptx = object.getObject().getValue().str();
  return success();
}

llvm::StringMap<Resources> fd::compile::parsePtxasReport(StringRef report) {
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

void fd::compile::writeBundle(const Bundle &bundle, llvm::raw_ostream &os) {
  llvm::json::OStream j(os, 2);
  // Grid extents are symbols or integers; fd.grid holds both as strings.
  auto gridItem = [&](const std::string &g) {
    int64_t v;
    if (!StringRef(g).getAsInteger(10, v))
      j.value(v);
    else
      j.value(g);
  };
  // One kernel of the manifest (docs/bundle.md, "kernels").
  auto writeKernel = [&](const Kernel &k) {
    j.object([&] {
      j.attribute("symbol", k.symbol);
      j.attribute("module", "fd_kernels");
      j.attribute("role", k.role);
      j.attributeArray("grid", [&] {
        for (const std::string &g : k.grid)
          gridItem(g);
      });
      j.attributeArray("block", [&] {
        for (int64_t b : k.block)
          j.value(b);
      });
      j.attribute("static_smem", k.staticSmem);
      j.attribute("dynamic_smem", k.dynamicSmem);
      if (k.mTile > 0)
        j.attribute("m_tile", k.mTile);
      if (k.pdl)
        j.attribute("pdl", true);
      j.attributeArray("args", [&] {
        for (const KernelArg &a : k.args)
          j.object([&] {
            j.attribute("kind", a.kind);
            j.attribute("bind", a.bind);
            if (a.kind == "memref") {
              j.attribute("elem", a.elem);
              j.attribute("rank", a.rank);
            } else {
              j.attribute("type", a.elem);
            }
          });
      });
      if (k.resources)
        j.attributeObject("resources", [&] {
          j.attribute("registers", k.resources->registers);
          j.attribute("spill_bytes", k.resources->spillBytes);
          j.attribute("shared_bytes", k.resources->sharedBytes);
        });
    });
  };
  auto writeKernels = [&](const Entry &e) {
    j.attributeArray("kernels", [&] {
      for (const Kernel &k : bundle.kernels)
        if (k.entry == e.name)
          writeKernel(k);
    });
  };
  j.object([&] {
    j.attribute("format", "fd-bundle");
    j.attribute("version", 1);
    j.attribute("producer", "fd-compile");
    j.attributeArray("modules", [&] {
      j.object([&] {
        j.attribute("name", "fd_kernels");
        j.attribute("chip", bundle.chip);
        j.attribute("features", bundle.features);
        j.attribute("ptx", bundle.ptx);
      });
    });
    j.attributeArray("entries", [&] {
      for (const Entry &e : bundle.entries) {
        j.object([&] {
          j.attribute("name", e.name);
          j.attribute("op", e.op);
          j.attribute("dtype", e.dtype);
          if (e.op == "flat_gemm") {
            j.attribute("n", e.n);
            j.attribute("k", e.k);
            j.attribute("has_bias", e.hasBias);
            j.attribute("out_dtype", e.outDtype);
            j.attributeObject("dispatch", [&] {
              j.attribute("m1", e.m1);
              j.attribute("m2", e.m2);
            });
            writeKernels(e);
            return;
          }
          j.attribute("num_q_heads", e.numQueryHeads);
          j.attribute("num_kv_heads", e.numKVHeads);
          j.attribute("head_dim", e.headDim);
          j.attribute("scale", e.scale);
          j.attributeObject("softmax", [&] {
            j.attribute("kind", e.softmaxKind);
            if (e.softmaxKind == "unified_max") {
              j.attribute("phi", e.phi);
              j.attribute("threshold", e.threshold);
            }
          });
          j.attributeObject("split", [&] {
            j.attribute("mode", e.splitMode);
            j.attribute("num_splits", e.numSplits);
            j.attribute("chunk_size", e.chunkSize);
            j.attribute("ctas_per_sm", bundle.splitConstants.ctasPerSM);
            j.attribute("min_chunk", bundle.splitConstants.minChunk);
            j.attribute("chunk_align", bundle.splitConstants.chunkAlign);
            j.attribute("max_splits", bundle.splitConstants.maxSplits);
          });
          // Workspace buffers of one launch variant, in layout order.
          auto writeWorkspace = [&](StringRef variant) {
            j.attributeArray("workspace", [&] {
              auto buffer = [&](StringRef name, StringRef elem,
                                std::vector<std::string> shape) {
                j.object([&] {
                  j.attribute("name", name);
                  j.attribute("elem", elem);
                  j.attributeArray("shape", [&] {
                    for (const std::string &dim : shape) {
                      int64_t n;
                      if (!StringRef(dim).getAsInteger(10, n))
                        j.value(n); // a constant extent
                      else
                        j.value(dim);
                    }
                  });
                });
              };
              // The fallback counter, phi and the score statistics come
              // first so that their offsets (0, 256, 512) do not depend on
              // B or S: they live across calls.
              if (isUnifiedMaxVariant(variant)) {
                buffer("fallback_count", "i32", {"1"});
                buffer("phi", "f32", {"1"});
                buffer("score_stats", "i32", {"4"});
              }
              if (variant == "single_launch") {
                buffer("ua_acc", "f32", {"B", "Hq", "D"});
                buffer("ua_sum", "f32", {"B", "Hq"});
                buffer("ua_max", "i32", {"B", "Hq"});
                buffer("ua_count", "i32", {"B", "Hkv"});
              } else if (variant != "unsplit") {
                // The unsplit kernel writes the output itself.
                buffer("partial_acc", "f32", {"B", "Hq", "S", "D"});
                buffer("partial_max", "f32", {"B", "Hq", "S"});
                buffer("partial_sum", "f32", {"B", "Hq", "S"});
              }
              if (variant == "two_kernel")
                buffer("row_flags", "i32", {"B", "Hq"});
            });
          };
          auto writeKernels = [&](StringRef variant) {
            j.attributeArray("kernels", [&] {
              for (const Kernel &k : bundle.kernels)
                if (k.entry == e.name && k.variant == variant)
                  writeKernel(k);
            });
          };
          // Variants in kernel order (two_kernel first, split before
          // unsplit); an entry without them has the one unnamed variant.
          std::vector<std::string> variants;
          for (const Kernel &k : bundle.kernels)
            if (k.entry == e.name &&
                llvm::find(variants, k.variant) == variants.end())
              variants.push_back(k.variant);
          if (variants.empty())
            variants.push_back("");
          // The top level holds the first variant, so that a reader that
          // does not know "variants" still finds a complete launch.
          writeWorkspace(variants.front());
          writeKernels(variants.front());
          if (!variants.front().empty())
            j.attributeArray("variants", [&] {
              for (const std::string &variant : variants)
                j.object([&] {
                  j.attribute("name", variant);
                  // The single-launch accumulators, the fallback counter and
                  // the score statistics must start at zero (the kernels
                  // leave the accumulators zeroed); phi starts at the
                  // entry's softmax phi (the runtime's initWorkspace).
                  if (isUnifiedMaxVariant(variant)) {
                    j.attribute("workspace_init", "zero");
                    j.attribute("fallback_counter", "fallback_count");
                    j.attribute("phi_buffer", "phi");
                    j.attribute("score_stats", "score_stats");
                  }
                  writeWorkspace(variant);
                  writeKernels(variant);
                });
            });
        });
      }
    });
  });
  os << "\n";
}
