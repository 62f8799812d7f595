//===- fd-run.cpp - Inspect, check and plan fd kernel bundles -------------===//
//
// fd-run bundle.fdb --list    entries, kernels and their arguments
// fd-run bundle.fdb --check   validate; with a GPU, JIT every module and
//                             print each kernel's registers and spills
// fd-run bundle.fdb --plan    the plan of each entry's launch variants and
//                             which one the planner chooses
//
//===----------------------------------------------------------------------===//

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/Planner.h"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace fd::rt;

namespace {
struct Options {
  std::string bundlePath;
  bool list = false;
  bool check = false;
  bool plan = false;
  bool graph = false;
  int64_t batch = 1;
  int64_t maxLen = 4096;
  int64_t smCount = 0; ///< 0: ask the device
  /// Resident CTAs per SM to assume for every variant; 0: from the device
  /// when there is one (no --sm-count), else unknown.
  int64_t residentCtas = 0;
  int device = 0;
  std::string entry;
};
} // namespace

static void printUsage(std::FILE *out) {
  std::fputs(
      "usage: fd-run <bundle.fdb> [--list] [--check] [--plan] [options]\n"
      "\n"
      "  --list          print modules, entries, kernels and arguments\n"
      "                  (the default when no action is given)\n"
      "  --check         validate the bundle; with a GPU, also load every\n"
      "                  module and print per-kernel registers and spills\n"
      "  --plan          print the split plan of each entry\n"
      "  --batch N       batch to plan for (default 1)\n"
      "  --max-len N     longest sequence to plan for (default 4096)\n"
      "  --sm-count N    plan for N SMs instead of asking the GPU\n"
      "  --resident-ctas N\n"
      "                  assume N resident CTAs per SM for every launch\n"
      "                  variant instead of the loaded kernels' occupancy\n"
      "  --graph         plan in CUDA-graph-safe mode (for the maxima)\n"
      "  --entry NAME    only this entry (--plan, --check)\n"
      "  --device N      device ordinal (default 0)\n"
      "  -h, --help      this text\n"
      "\n"
      "Environment: FD_LIBCUDA names the driver library to load instead of\n"
      "libcuda.so.1.\n",
      out);
}

static bool parseInt(const char *text, int64_t minValue, int64_t maxValue,
                     int64_t &out) {
  if (!text || !*text)
    return false;
  errno = 0;
  char *end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (errno || *end || value < minValue || value > maxValue)
    return false;
  out = value;
  return true;
}

/// Parses argv; returns false (after printing why) on a usage error.
static bool parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *name) -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fd-run: %s needs a value\n", name);
        return nullptr;
      }
      return argv[++i];
    };
    auto number = [&](const char *name, int64_t minValue, int64_t &out,
                      int64_t maxValue = INT64_MAX) {
      const char *text = value(name);
      if (!text)
        return false;
      if (!parseInt(text, minValue, maxValue, out)) {
        if (maxValue == INT64_MAX)
          std::fprintf(stderr,
                       "fd-run: %s expects an integer >= %lld, got '%s'\n",
                       name, static_cast<long long>(minValue), text);
        else
          std::fprintf(stderr,
                       "fd-run: %s expects an integer in [%lld, %lld], got "
                       "'%s'\n",
                       name, static_cast<long long>(minValue),
                       static_cast<long long>(maxValue), text);
        return false;
      }
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      printUsage(stdout);
      std::exit(0);
    } else if (arg == "--list") {
      options.list = true;
    } else if (arg == "--check") {
      options.check = true;
    } else if (arg == "--plan") {
      options.plan = true;
    } else if (arg == "--graph") {
      options.graph = true;
    } else if (arg == "--batch") {
      if (!number("--batch", 1, options.batch))
        return false;
    } else if (arg == "--max-len") {
      if (!number("--max-len", 0, options.maxLen))
        return false;
    } else if (arg == "--sm-count") {
      if (!number("--sm-count", 1, options.smCount))
        return false;
    } else if (arg == "--resident-ctas") {
      if (!number("--resident-ctas", 1, options.residentCtas))
        return false;
    } else if (arg == "--device") {
      // The driver takes an int ordinal: a larger value must not wrap.
      int64_t device;
      if (!number("--device", 0, device, INT_MAX))
        return false;
      options.device = static_cast<int>(device);
    } else if (arg == "--entry") {
      const char *name = value("--entry");
      if (!name)
        return false;
      options.entry = name;
    } else if (arg.size() > 1 && arg[0] == '-') {
      std::fprintf(stderr, "fd-run: unknown option '%s'\n", arg.c_str());
      return false;
    } else if (options.bundlePath.empty()) {
      options.bundlePath = arg;
    } else {
      std::fprintf(stderr, "fd-run: more than one bundle given ('%s', '%s')\n",
                   options.bundlePath.c_str(), arg.c_str());
      return false;
    }
  }
  if (options.bundlePath.empty()) {
    std::fprintf(stderr, "fd-run: no bundle given\n");
    return false;
  }
  if (!options.list && !options.check && !options.plan)
    options.list = true;
  return true;
}

static std::string formatSizes(const std::vector<SizeExpr> &sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i)
    text += (i ? ", " : "") + toString(sizes[i]);
  return text + "]";
}

static const char *splitModeName(SplitMode mode) {
  namespace split_mode = fdb::split_mode;
  switch (mode) {
  case SplitMode::Auto:
    return split_mode::kAuto.data();
  case SplitMode::Fixed:
    return split_mode::kFixed.data();
  case SplitMode::Chunk:
    return split_mode::kChunk.data();
  }
  return "?";
}

/// The kernels listed at the entry's top level: variant 0's (the manifest's
/// top level repeats it), a flat_gemm entry's GEMM kernels or a
/// merge_states entry's one kernel.
static const std::vector<KernelSpec> &topLevelKernels(const EntrySpec &entry) {
  switch (entry.op) {
  case OpKind::FlatGemm:
    return entry.gemm.kernels;
  case OpKind::MergeStates:
    return entry.merge.kernels;
  case OpKind::DecodeAttention:
    break;
  }
  return entry.variants.front().kernels;
}

static void listBundle(const Bundle &bundle) {
  std::printf("bundle: fd-bundle version %lld, producer '%s'\n",
              static_cast<long long>(bundle.getVersion()),
              bundle.getProducer().c_str());
  for (const ModuleSpec &module : bundle.getModules())
    std::printf("module %s: chip %s, features '%s', %zu bytes of PTX\n",
                module.name.c_str(), module.chip.c_str(),
                module.features.c_str(), module.ptx.size());
  for (const EntrySpec &entry : bundle.getEntries()) {
    std::printf("entry %s: op %s, dtype %s", entry.name.c_str(),
                entry.opName.c_str(), dtypeName(entry.dtype));
    if (entry.op == OpKind::DecodeAttention) {
      std::printf(", Hq %lld, Hkv %lld, D %lld, scale %g\n",
                  static_cast<long long>(entry.numQHeads),
                  static_cast<long long>(entry.numKvHeads),
                  static_cast<long long>(entry.headDim), entry.scale);
      std::printf("  softmax %s", entry.softmax.kind.c_str());
      if (entry.softmax.kind == fdb::softmax::kUnifiedMax)
        std::printf(" (phi %g, threshold %g)", entry.softmax.phi,
                    entry.softmax.threshold);
      const SplitPolicy &split = entry.split;
      std::printf("\n  split %s: num_splits %lld, chunk_size %lld, "
                  "ctas_per_sm %lld, min_chunk %lld, chunk_align %lld, "
                  "max_splits %lld\n",
                  splitModeName(split.mode),
                  static_cast<long long>(split.numSplits),
                  static_cast<long long>(split.chunkSize),
                  static_cast<long long>(split.ctasPerSm),
                  static_cast<long long>(split.minChunk),
                  static_cast<long long>(split.chunkAlign),
                  static_cast<long long>(split.maxSplits));
    } else if (entry.op == OpKind::MergeStates) {
      std::printf(", Hq %lld, D %lld, %lld states%s\n",
                  static_cast<long long>(entry.numQHeads),
                  static_cast<long long>(entry.headDim),
                  static_cast<long long>(entry.merge.numStates),
                  entry.tensor(Tensor::Lse).present ? ", merged lse" : "");
    } else {
      std::printf("\n");
    }
    // The manifest's variants, when it lists them (their names are then
    // never empty); then its top level, which repeats the first.
    bool listsVariants =
        entry.variants.size() > 1 ||
        (entry.variants.size() == 1 && !entry.variants.front().name.empty());
    for (size_t v = 0; listsVariants && v < entry.variants.size(); ++v) {
      const VariantSpec &variant = entry.variants[v];
      std::printf("  variant %s: %zu kernels, workspace_init %s",
                  variant.name.c_str(), variant.kernels.size(),
                  variant.workspaceZeroInit
                      ? fdb::kWorkspaceInitZero.data()
                      : fdb::kWorkspaceInitNone.data());
      if (variant.fallbackCounter >= 0)
        std::printf(", fallback_counter %s",
                    variant.workspace[variant.fallbackCounter].name.c_str());
      if (variant.phiBuffer >= 0)
        std::printf(", phi_buffer %s",
                    variant.workspace[variant.phiBuffer].name.c_str());
      if (variant.scoreStats >= 0)
        std::printf(", score_stats %s",
                    variant.workspace[variant.scoreStats].name.c_str());
      std::printf("\n");
      for (const KernelSpec &kernel : variant.kernels)
        std::printf("    kernel %s (role '%s')\n", kernel.symbol.c_str(),
                    kernel.role.c_str());
    }
    if (!entry.variants.empty())
      for (const WorkspaceSpec &buffer : entry.variants.front().workspace)
        std::printf("  workspace %s: %s %s\n", buffer.name.c_str(),
                    dtypeName(buffer.elem), formatSizes(buffer.shape).c_str());
    const std::vector<KernelSpec> &kernels = topLevelKernels(entry);
    for (size_t k = 0; k < kernels.size(); ++k) {
      const KernelSpec &kernel = kernels[k];
      std::printf("  kernel %zu: %s (module %s, role '%s')\n", k,
                  kernel.symbol.c_str(), kernel.module.c_str(),
                  kernel.role.c_str());
      std::printf("    grid %s, block [%u, %u, %u], shared %lld static + "
                  "%lld dynamic, %zu parameters%s\n",
                  formatSizes({kernel.grid.begin(),
                               kernel.grid.begin() + kernel.gridRank})
                      .c_str(),
                  kernel.block[0], kernel.block[1], kernel.block[2],
                  static_cast<long long>(kernel.staticSmem),
                  static_cast<long long>(kernel.dynamicSmem),
                  kernel.getNumParams(),
                  kernel.pdl ? ", programmatic launch" : "");
      if (kernel.hasCluster())
        std::printf("    cluster [%u, %u, %u] (thread-block cluster)\n",
                    kernel.cluster[0], kernel.cluster[1], kernel.cluster[2]);
      if (kernel.resources)
        std::printf("    ptxas: %lld registers, %lld spill bytes, %lld "
                    "shared bytes\n",
                    static_cast<long long>(kernel.resources->registers),
                    static_cast<long long>(kernel.resources->spillBytes),
                    static_cast<long long>(kernel.resources->sharedBytes));
      for (size_t a = 0; a < kernel.args.size(); ++a) {
        const ArgSpec &arg = kernel.args[a];
        if (arg.kind == ArgSpec::Kind::Memref)
          std::printf("    arg %zu: memref %s %s rank %d\n", a,
                      arg.bind.c_str(), dtypeName(arg.elem), arg.rank);
        else
          std::printf("    arg %zu: scalar %s %s\n", a, arg.bind.c_str(),
                      dtypeName(arg.elem));
      }
    }
  }
}

/// The entries an action applies to; false (after printing) if --entry
/// names none.
static bool selectEntries(const Bundle &bundle, const Options &options,
                          std::vector<size_t> &selected) {
  for (size_t i = 0; i < bundle.getEntries().size(); ++i)
    if (options.entry.empty() || bundle.getEntries()[i].name == options.entry)
      selected.push_back(i);
  if (!options.entry.empty() && selected.empty()) {
    std::fprintf(stderr, "fd-run: %s: no entry named '%s'\n",
                 options.bundlePath.c_str(), options.entry.c_str());
    return false;
  }
  return true;
}

/// Loads every module and kernel on the GPU. Returns the exit code.
static int checkOnDevice(const std::shared_ptr<const Bundle> &bundle,
                         const Options &options) {
  Expected<std::shared_ptr<Context>> context = Context::create(options.device);
  if (!context) {
    if (context.getStatus().getCode() == ErrorCode::NoDevice) {
      std::printf("no GPU: %s\n", context.getStatus().getMessage().c_str());
      return 0;
    }
    std::fprintf(stderr, "fd-run: %s\n",
                 context.getStatus().getMessage().c_str());
    return 1;
  }
  const Context &ctx = **context;
  std::printf("device %d: %s, %s, %d SMs, driver %d.%d\n", ctx.getOrdinal(),
              ctx.getName().c_str(), ctx.getChip().c_str(), ctx.getSmCount(),
              ctx.getDriver().version / 1000,
              (ctx.getDriver().version % 1000) / 10);
  Expected<std::shared_ptr<Executable>> exe =
      Executable::create(context.take(), bundle);
  if (!exe) {
    std::fprintf(stderr, "fd-run: %s\n", exe.getStatus().getMessage().c_str());
    return 1;
  }
  int exitCode = 0;
  std::vector<bool> moduleOk(bundle->getModules().size(), false);
  for (size_t m = 0; m < bundle->getModules().size(); ++m) {
    const ModuleSpec &module = bundle->getModules()[m];
    Expected<CUmodule> loaded = (*exe)->getModule(m);
    if (!loaded) {
      std::fprintf(stderr, "fd-run: module %s: %s\n", module.name.c_str(),
                   loaded.getStatus().getMessage().c_str());
      exitCode = 1;
      continue;
    }
    moduleOk[m] = true;
    std::printf("module %s: loaded (%s PTX on %s)\n", module.name.c_str(),
                module.chip.c_str(), ctx.getChip().c_str());
  }
  std::vector<size_t> selected;
  if (!selectEntries(*bundle, options, selected))
    return 1;
  for (size_t index : selected) {
    const EntrySpec &entry = bundle->getEntries()[index];
    bool modulesLoaded = true;
    for (const KernelSpec &kernel : topLevelKernels(entry))
      modulesLoaded &= moduleOk[kernel.moduleIndex];
    if (!modulesLoaded)
      continue; // Already reported with its module.
    Expected<const BoundEntry *> bound = (*exe)->bind(index);
    if (!bound) {
      std::fprintf(stderr, "fd-run: %s\n",
                   bound.getStatus().getMessage().c_str());
      exitCode = 1;
      continue;
    }
    const std::vector<KernelSpec> &kernels = topLevelKernels(entry);
    for (size_t k = 0; k < kernels.size(); ++k) {
      const KernelInfo &info = (*bound)->getKernels()[k];
      std::printf("kernel %s/%s: %d registers, %d bytes local%s, %d bytes "
                  "static shared, max %d threads per block\n",
                  entry.name.c_str(), kernels[k].symbol.c_str(), info.numRegs,
                  info.localBytes,
                  info.localBytes ? " (SPILLS)" : " (no spills)",
                  info.staticSharedBytes, info.maxThreadsPerBlock);
    }
  }
  return exitCode;
}

/// The occupancy an entry's plans assume: resident CTAs per SM of each
/// variant's first kernel, and a line saying where it came from.
struct Occupancy {
  std::vector<int64_t> residentCtasPerSm;
  std::string source;
};

/// --resident-ctas when given; else, with a device (no --sm-count), the
/// loaded kernels' occupancy, which is what BoundEntry::plan uses; else
/// unknown.
static Occupancy getOccupancy(const EntrySpec &entry, size_t index,
                              Executable *exe, const Options &options) {
  Occupancy occupancy;
  if (options.residentCtas > 0) {
    occupancy.residentCtasPerSm.assign(entry.variants.size(),
                                       options.residentCtas);
    occupancy.source = "assuming " + std::to_string(options.residentCtas) +
                       " resident CTAs per SM for every variant "
                       "(--resident-ctas)";
    return occupancy;
  }
  std::string why = "--sm-count: no kernels loaded";
  if (exe) {
    Expected<const BoundEntry *> bound = exe->bind(index);
    if (bound) {
      occupancy.residentCtasPerSm = (*bound)->getResidentCtasPerSm();
      occupancy.source = "occupancy of the loaded kernels (resident CTAs per "
                         "SM of each variant's first kernel:";
      for (size_t v = 0; v < entry.variants.size(); ++v)
        occupancy.source +=
            (v ? ", " : " ") +
            (entry.variants[v].name.empty() ? std::string("variant 0")
                                            : entry.variants[v].name) +
            " " + std::to_string(occupancy.residentCtasPerSm[v]);
      occupancy.source += "), as BoundEntry::plan";
      return occupancy;
    }
    why = "the kernels did not load: " + bound.getStatus().getMessage();
  }
  occupancy.source = "assuming unknown occupancy (" + why +
                     "): auto splits fill ctas_per_sm x SMs; on a GPU "
                     "BoundEntry::plan fills one wave of resident CTAs and "
                     "may choose differently (--resident-ctas N)";
  return occupancy;
}

static int planEntries(const std::shared_ptr<const Bundle> &bundle,
                       const Options &options) {
  int64_t smCount = options.smCount;
  std::shared_ptr<Executable> exe;
  if (smCount == 0) {
    Expected<std::shared_ptr<Context>> context =
        Context::create(options.device);
    if (!context) {
      std::fprintf(stderr,
                   "fd-run: cannot ask the GPU for its SM count (%s); "
                   "pass --sm-count N\n",
                   context.getStatus().getMessage().c_str());
      return 1;
    }
    smCount = (*context)->getSmCount();
    // The kernels' occupancy, unless assumed: only a device knows it.
    if (options.residentCtas == 0)
      if (Expected<std::shared_ptr<Executable>> created =
              Executable::create(context.take(), bundle))
        exe = created.take();
  }
  std::vector<size_t> selected;
  if (!selectEntries(*bundle, options, selected))
    return 1;
  int exitCode = 0;
  for (size_t index : selected) {
    const EntrySpec &entry = bundle->getEntries()[index];
    if (entry.op != OpKind::DecodeAttention) {
      std::printf("plan %s: skipped (op %s is not planned by this runtime)\n",
                  entry.name.c_str(), entry.opName.c_str());
      continue;
    }
    Occupancy occupancy = getOccupancy(entry, index, exe.get(), options);
    PlanRequest request;
    request.batch = options.batch;
    request.maxLen = options.maxLen;
    request.smCount = smCount;
    request.residentCtasPerSm = occupancy.residentCtasPerSm;
    request.graphSafe = options.graph;
    // "(default)" marks the variant the planner chooses for this request.
    Expected<PlanChoice> choice = choosePlan(entry, request);
    std::printf("plan %s: %s\n", entry.name.c_str(), occupancy.source.c_str());
    // Every launch variant (online softmax: split, unsplit and
    // split_cluster; unified max: two_kernel and single_launch).
    for (size_t v = 0; v < entry.variants.size(); ++v) {
      const VariantSpec &variant = entry.variants[v];
      request.variant = static_cast<int>(v);
      Expected<Plan> result = plan(entry, request);
      if (!result) {
        std::fprintf(stderr, "fd-run: %s\n",
                     result.getStatus().getMessage().c_str());
        exitCode = 1;
        continue;
      }
      std::string label = entry.name;
      if (!variant.name.empty())
        label += " variant " + variant.name +
                 (choice && v == choice->variant ? " (default)" : "");
      std::printf("plan %s: batch %lld, max_len %lld, sm_count %lld%s -> "
                  "num_splits %lld, chunk %lld, workspace %llu bytes\n",
                  label.c_str(), static_cast<long long>(result->batch),
                  static_cast<long long>(result->maxLen),
                  static_cast<long long>(result->smCount),
                  result->graphSafe ? ", graph-safe" : "",
                  static_cast<long long>(result->numSplits),
                  static_cast<long long>(result->chunk),
                  static_cast<unsigned long long>(result->workspaceBytes));
      for (size_t k = 0; k < variant.kernels.size(); ++k)
        std::printf("  kernel %s: grid [%u, %u, %u], block [%u, %u, %u]\n",
                    variant.kernels[k].symbol.c_str(), result->grids[k][0],
                    result->grids[k][1], result->grids[k][2],
                    variant.kernels[k].block[0], variant.kernels[k].block[1],
                    variant.kernels[k].block[2]);
      for (size_t b = 0; b < variant.workspace.size(); ++b)
        std::printf(
            "  workspace %s: offset %llu, %llu bytes\n",
            variant.workspace[b].name.c_str(),
            static_cast<unsigned long long>(result->workspace.offsets[b]),
            static_cast<unsigned long long>(result->workspace.bytes[b]));
      if (Expected<uint64_t> counter = getFallbackCounterOffset(entry, *result))
        std::printf("  fallback counter: i32 at workspace offset %llu%s\n",
                    static_cast<unsigned long long>(*counter),
                    variant.workspaceZeroInit
                        ? "; initialise the workspace once (initWorkspace) "
                          "before the first run"
                        : "");
      if (Expected<uint64_t> phi = getPhiOffset(entry, *result))
        std::printf("  phi: f32 at workspace offset %llu, initially %g\n",
                    static_cast<unsigned long long>(*phi), entry.softmax.phi);
      if (Expected<uint64_t> stats = getScoreStatsOffset(entry, *result))
        std::printf("  score statistics: 4 x u32 at workspace offset %llu\n",
                    static_cast<unsigned long long>(*stats));
    }
  }
  return exitCode;
}

int main(int argc, char **argv) {
  // Line-buffered even into a pipe, so that results on stdout and errors on
  // stderr interleave in the order they happen.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options options;
  if (!parseOptions(argc, argv, options)) {
    printUsage(stderr);
    return 2;
  }
  Expected<std::shared_ptr<const Bundle>> bundle =
      Bundle::loadFile(options.bundlePath);
  if (!bundle) {
    std::fprintf(stderr, "fd-run: error: %s\n",
                 bundle.getStatus().getMessage().c_str());
    return 1;
  }
  // A misspelt --entry must fail every action, not only those (--plan, a
  // GPU --check) that reach their per-entry work.
  std::vector<size_t> selected;
  if (!selectEntries(**bundle, options, selected))
    return 1;
  int exitCode = 0;
  if (options.list)
    listBundle(**bundle);
  if (options.check) {
    size_t kernels = 0;
    // Every launch variant's kernels, or a flat_gemm entry's GEMM kernels,
    // or a merge_states entry's kernel.
    for (const EntrySpec &entry : (*bundle)->getEntries()) {
      kernels += entry.gemm.kernels.size() + entry.merge.kernels.size();
      for (const VariantSpec &variant : entry.variants)
        kernels += variant.kernels.size();
    }
    std::printf("%s: valid bundle (%zu modules, %zu entries, %zu kernels)\n",
                options.bundlePath.c_str(), (*bundle)->getModules().size(),
                (*bundle)->getEntries().size(), kernels);
    std::fflush(stdout);
    exitCode |= checkOnDevice(*bundle, options);
  }
  if (options.plan)
    exitCode |= planEntries(*bundle, options);
  return exitCode;
}
