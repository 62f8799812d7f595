//===- fd-bench.cpp - decode-attention benchmark on a GPU host ------------===//
//
// Times fd's compiled decode attention against the hand-written references
// (kernels-ref: the seed's one-block-per-head baseline and a two-stage
// Flash-Decoding kernel) and, where python3 with torch is present, torch's
// scaled_dot_product_attention (flash and cuDNN backends), each as the median
// of many runs with the L2 flushed, in µs, GB/s and multiples of the
// read-bandwidth floor measured in the same run (docs/measuring.md).
//
//   fd-bench --bundle a.fdb [--bundle b.fdb ...] [options]   (--help lists
//   every option with its default; fd::harness::CommandLine parses them)
//
// Several bundles (e.g. compiled with different block sizes) are timed side
// by side; each is labelled by its file name (with its directory where two
// share one: bundleLabels). --ctas-per-sm re-plans each
// bundle's entries with other split targets (the auto policy's CTAs per SM)
// without recompiling: how fd-bench finds a good default. A line per case is
// printed as soon as it is measured. --floor-sweep (no bundle needed) times
// streaming reads of 2 MB .. 256 MB and an empty launch: the fixed cost a
// short memory-bound kernel cannot avoid under this timing protocol.
// --back-to-back times fd's launches as a decode step runs them: one flush,
// then launches over enough copies of the problem that each reads cold
// memory, the time divided by their number (launch latency then overlaps
// the previous kernel); peers keep the one-launch protocol.
//
//===----------------------------------------------------------------------===//
#include "ShardedBench.h"

#include "fd/Harness/AttentionProblem.h"
#include "fd/Harness/CommandLine.h"
#include "fd/Harness/ResultFile.h"
#include "fd/Harness/Timing.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/Json.h"
#include "fd/Runtime/Launch.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/ShardedDecode.h"
#include "fd/Runtime/VariantTable.h"
#include "fd/ref/RefKernels.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#ifndef FD_BENCH_SCRIPT_DIR
#define FD_BENCH_SCRIPT_DIR "."
#endif

using namespace fd;
using namespace fd::harness;

namespace {

struct Case {
  int64_t batch, hq, hkv, len, d = 128;
  rt::DType dtype = rt::DType::F16;
  /// Lengths uniform in [1, len] (fixed seed) instead of all len: the floor
  /// counts the real tokens; torch's SDPA, with no ragged decode, reads the
  /// padded [B, Hkv, len, D] cache.
  bool ragged = false;
  /// Tokens per page of a paged cache (pages in random order, as serving
  /// engines keep them); 0: a contiguous cache.
  int64_t page = 0;
  /// Paged with CSR addressing (page_indptr + a flat page list, as
  /// FlashInfer takes them) instead of a [B, max_pages] block table.
  bool csr = false;
  /// Token-major K/V ([.., tokens, Hkv, D], NHD) instead of head-major
  /// (HND); the default is HND for a contiguous cache, NHD for pages (what
  /// vLLM and FlashInfer use).
  bool tokenMajor = false;
};

/// The sequence lengths of case \p c.
std::vector<int32_t> caseLens(const Case &c) {
  std::vector<int32_t> lens(size_t(c.batch), int32_t(c.len));
  if (c.ragged) {
    std::mt19937 gen(12345 + uint32_t(c.batch));
    std::uniform_int_distribution<int32_t> dist(1, int32_t(c.len));
    for (int32_t &l : lens)
      l = dist(gen);
  }
  return lens;
}

/// The cases issue 4 asks for (D = 128, f16).
std::vector<Case> requiredCases() {
  std::vector<Case> cases;
  for (int64_t l : {1024, 4096, 16384, 65536, 131072})
    cases.push_back({1, 32, 32, l});
  for (int64_t l : {1024, 4096, 32768, 131072})
    cases.push_back({1, 32, 8, l});
  for (int64_t l : {4096, 32768})
    cases.push_back({8, 32, 8, l});
  cases.push_back({32, 32, 8, 4096});
  cases.push_back({64, 32, 8, 2048});
  return cases;
}

/// Issue 5's comparison of online softmax with unified max: the required
/// cases plus short MHA contexts, where a single launch should pay most.
std::vector<Case> unifiedMaxCases() {
  std::vector<Case> cases = requiredCases();
  for (int64_t b : {1, 4, 8})
    for (int64_t l : {512, 1024, 2048, 4096})
      cases.push_back({b, 32, 32, l});
  return cases;
}

/// Where splitting stops paying (the split/unsplit launch variants): B * Hkv
/// from 64 to 2048 CTAs around one per SM, short to long contexts.
std::vector<Case> dispatchCases() {
  std::vector<Case> cases;
  for (int64_t l : {512, 2048, 8192})
    for (int64_t b : {2, 4, 8, 16, 64})
      cases.push_back({b, 32, 32, l});
  for (int64_t l : {512, 2048, 8192})
    for (int64_t b : {8, 16, 32, 64})
      cases.push_back({b, 32, 8, l});
  return cases;
}

/// The grid a shipped variant table is measured on (--write-variant-table;
/// lib/Runtime/variants/): the example's shapes (MHA 32/32 and GQA 32/8, D
/// = 128, f16) at every power-of-two batch to 64 and length from 512 to
/// 128K whose K and V fit in kMaxVariantCaseBytes, so that the nearest
/// measured line of a call is at most a factor of 2 away in B and in L.
constexpr double kMaxVariantCaseBytes = 2.2e9;
std::vector<Case> variantCases() {
  std::vector<Case> cases;
  for (int64_t hkv : {32, 8})
    for (int64_t b = 1; b <= 64; b *= 2)
      for (int64_t l = 512; l <= 131072; l *= 2)
        if (2.0 * b * hkv * l * 128 * 2 <= kMaxVariantCaseBytes)
          cases.push_back({b, 32, hkv, l});
  return cases;
}

/// Group sizes FlashInfer's CUDA-core decode refuses (5, 6, 7) and 2, 4, 8, at
/// D = 128 f16 and D = 256 bf16 (issue 13); the bundle must hold the entries
/// (scripts/gpu-bundles.sh: bench-gqa.fdb).
std::vector<Case> gqaCases() {
  std::vector<Case> cases;
  for (int64_t hq : {16, 32, 40, 48, 56, 64})
    for (auto [d, dtype] : {std::pair{int64_t(128), rt::DType::F16},
                            std::pair{int64_t(256), rt::DType::BF16}}) {
      cases.push_back({1, hq, 8, 32768, d, dtype});
      cases.push_back({8, hq, 8, 8192, d, dtype});
    }
  return cases;
}

/// Ragged batches: lengths uniform in [1, L] (issue 13: B = 16, L = 32K).
std::vector<Case> raggedCases() {
  std::vector<Case> cases;
  cases.push_back({16, 32, 8, 32768, 128, rt::DType::F16, true});
  cases.push_back({16, 32, 32, 32768, 128, rt::DType::F16, true});
  cases.push_back({64, 32, 8, 8192, 128, rt::DType::F16, true});
  cases.push_back({4, 32, 8, 131072, 128, rt::DType::F16, true});
  return cases;
}

/// Paged against contiguous (issue 14): each shape contiguous, with pages of
/// 16 and of 1 token; the bundles must hold paged entries of page size 16
/// and 1 (scripts/gpu-bundles.sh: paged-bench.fdb).
std::vector<Case> pagedCases() {
  std::vector<Case> shapes = {
      {1, 32, 8, 4096},  {1, 32, 8, 32768},  {8, 32, 8, 32768},
      {32, 32, 8, 4096}, {64, 32, 8, 2048},  {1, 32, 32, 32768},
      {8, 32, 32, 8192}, {64, 32, 8, 8192, 128, rt::DType::F16, true}};
  std::vector<Case> cases;
  for (const Case &shape : shapes)
    for (int64_t page : {0, 16, 1}) {
      Case c = shape;
      c.page = page;
      c.tokenMajor = page > 0;
      cases.push_back(c);
      // Page 16 also as CSR lists: FlashInfer's form, its paged peer's.
      if (page == 16) {
        c.csr = true;
        cases.push_back(c);
      }
    }
  return cases;
}

/// A short list for comparing compile variants.
std::vector<Case> tuneCases() {
  return {{1, 32, 32, 4096},  {1, 32, 32, 131072}, {1, 32, 8, 4096},
          {1, 32, 8, 131072}, {8, 32, 8, 32768},   {64, 32, 8, 2048}};
}

struct Measurement {
  std::string name;
  double medianUs = NAN, minUs = NAN, maxUs = NAN;
  std::string note; ///< plan, or why there is no number
  /// The launch variant the runtime itself would run for this call.
  bool chosen = false;
};

struct CaseResult {
  Case c;
  double bytes = 0, floorUs = 0;
  std::vector<Measurement> results;
};

struct LoadedBundle {
  std::string label;
  std::shared_ptr<rt::Executable> exe;
};

std::string caseName(const Case &c) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "B=%lld Hq=%lld Hkv=%lld L=%s%lld D=%lld %s",
                (long long)c.batch, (long long)c.hq, (long long)c.hkv,
                c.ragged ? "1.." : "", (long long)c.len, (long long)c.d,
                rt::dtypeName(c.dtype));
  std::string name = buf;
  if (c.page)
    name += " page=" + std::to_string(c.page) + (c.csr ? " CSR" : "");
  if (c.page || c.tokenMajor)
    name += c.tokenMajor ? " NHD" : " HND";
  return name;
}

std::string baseName(const std::string &path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  return name.substr(0, name.rfind('.'));
}

/// The labels of the bundles in results ("fd:<label>/<variant>"): the file
/// name without its extension, or where two bundles share one (base/llama.fdb
/// beside new/llama.fdb, the usual way to compare commits) the directory
/// too, and a "#2", "#3" ... for what is still the same.
std::vector<std::string> bundleLabels(const std::vector<std::string> &paths) {
  std::vector<std::string> labels;
  std::map<std::string, int> stems;
  for (const std::string &p : paths)
    ++stems[baseName(p)];
  for (const std::string &p : paths) {
    std::string label = baseName(p);
    if (stems[label] > 1) {
      size_t slash = p.find_last_of('/');
      std::string dir = slash == std::string::npos ? "." : p.substr(0, slash);
      std::string last = dir.substr(dir.find_last_of('/') + 1);
      label = (last.empty() ? "/" : last) + "/" + label;
    }
    labels.push_back(label);
  }
  std::map<std::string, int> seen;
  for (std::string &label : labels)
    if (int n = ++seen[label]; n > 1)
      label += "#" + std::to_string(n);
  return labels;
}

/// The entry of \p exe that computes case \p c, or null.
const rt::BoundEntry *findEntry(rt::Executable &exe, const Case &c) {
  const auto &entries = exe.getBundle().getEntries();
  for (size_t i = 0; i < entries.size(); ++i) {
    const rt::EntrySpec &e = entries[i];
    if (e.op == rt::OpKind::DecodeAttention && e.numQHeads == c.hq &&
        e.numKvHeads == c.hkv && e.headDim == c.d && e.dtype == c.dtype &&
        e.pageSize == c.page && e.isCsr() == c.csr &&
        !e.tensor(rt::Tensor::Lse).present) {
      auto bound = exe.bind(i);
      if (!bound) {
        std::fprintf(stderr, "fd-bench: %s\n",
                     bound.getStatus().getMessage().c_str());
        return nullptr;
      }
      return *bound;
    }
  }
  return nullptr;
}

/// Runs the torch peers for all cases at once (one python start-up).
std::map<std::pair<size_t, std::string>, Measurement>
runTorch(const std::vector<Case> &cases, int runs, const std::string &script,
         const char *flushMode) {
  std::map<std::pair<size_t, std::string>, Measurement> out;
  // The case list goes to a file of its own (several runs may share /tmp).
  char list[] = "/tmp/fd-bench-cases-XXXXXX";
  int file = mkstemp(list);
  if (file < 0) {
    std::fprintf(stderr, "fd-bench: torch peers: cannot create a temporary "
                         "file: %s\n", std::strerror(errno));
    return out;
  }
  {
    std::string json = "[";
    for (size_t i = 0; i < cases.size(); ++i)
      json += std::string(i ? "," : "") + "{\"B\":" +
              std::to_string(cases[i].batch) +
              ",\"Hq\":" + std::to_string(cases[i].hq) +
              ",\"Hkv\":" + std::to_string(cases[i].hkv) +
              ",\"L\":" + std::to_string(cases[i].len) +
              ",\"D\":" + std::to_string(cases[i].d) + ",\"dtype\":\"" +
              rt::dtypeName(cases[i].dtype) + "\"}";
    json += "]";
    bool written = write(file, json.data(), json.size()) ==
                   static_cast<ssize_t>(json.size());
    close(file);
    if (!written) {
      std::fprintf(stderr, "fd-bench: torch peers: cannot write %s\n", list);
      unlink(list);
      return out;
    }
  }
  std::string cmd = "python3 " + script + " " + list + " " +
                    std::to_string(runs) + " " + flushMode + " 2>&1";
  std::fprintf(stderr, "fd-bench: torch peers: %s\n", cmd.c_str());
  FILE *pipe = popen(cmd.c_str(), "r");
  if (!pipe) {
    unlink(list);
    return out;
  }
  // The script prints one JSON object per measurement and line; anything
  // else (torch's warnings) is passed through.
  std::string s;
  char chunk[4096];
  while (std::fgets(chunk, sizeof(chunk), pipe)) {
    s += chunk;
    if (s.empty() || s.back() != '\n')
      continue; // a longer line: read the rest
    rt::Expected<rt::JsonValue> parsed = rt::parseJson(s);
    const rt::JsonValue *index =
        parsed && parsed->isObject() ? parsed->find("case") : nullptr;
    if (!index || !index->isInteger() || index->getInteger() < 0 ||
        size_t(index->getInteger()) >= cases.size()) {
      std::fprintf(stderr, "  torch: %s", s.c_str());
      s.clear();
      continue;
    }
    auto number = [&](const char *key) {
      const rt::JsonValue *v = parsed->find(key);
      return v && v->isNumber() ? v->getNumber() : NAN;
    };
    auto text = [&](const char *key) {
      const rt::JsonValue *v = parsed->find(key);
      return v && v->isString() ? v->getString() : std::string();
    };
    Measurement m;
    m.name = "sdpa-" + text("backend");
    m.medianUs = number("median_us");
    m.minUs = number("min_us");
    m.maxUs = number("max_us");
    m.note = text("error");
    out[{size_t(index->getInteger()), m.name}] = m;
    s.clear();
  }
  unlink(list);
  pclose(pipe);
  return out;
}


} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<std::string> bundlePaths;
  std::vector<Case> cases;
  std::string jsonPath, commit = "unknown", casesName = "required";
  // --write-variant-table: the fastest variant of the first bundle per case;
  // --variant-table: plan with a table (what the runtime would then choose).
  std::string writeTablePath, readTablePath = "shipped";
  double tieMarginPct = 2;
  std::string script = std::string(FD_BENCH_SCRIPT_DIR) + "/sdpa_peers.py";
  std::vector<int64_t> ctasSweep; // empty: each bundle's own policy
  std::vector<int64_t> wavesSweep; // empty: the runtime's default
  int64_t minChunk = 0;           // 0: each bundle's own policy
  FlushMode flush = FlushMode::Read;
  bool noTorch = false, noRef = false, floorSweep = false, backToBack = false;
  int64_t runs64 = 50;
  std::string flushName = "read", ctasList, wavesList;
  std::vector<std::string> caseSpecs;
  harness::CommandLine cl(
      "fd-bench", "--bundle a.fdb [--bundle b.fdb ...] [options]",
      "Times fd's decode attention (each launch variant of each bundle), the "
      "kernels-ref baselines and torch SDPA's flash and cuDNN backends, one "
      "launch after an L2 flush, median of --runs; floors from the 2 GiB read "
      "bandwidth measured in the same run.");
  cl.list("--bundle", "FILE", bundlePaths, "a bundle to time (fd-compile)");
  cl.choice("--cases", casesName,
            {"required", "tune", "unified-max", "dispatch", "gqa", "ragged",
             "paged", "variants"},
            "a built-in case list (used when no --case is given)");
  cl.list("--case", "B,Hq,Hkv,L[,D[,f16|bf16[,ragged]]][,pN][,nhd|hnd]",
          caseSpecs,
          "one case: batch, query and KV heads, length (ragged: lengths "
          "uniform in [1, L]), head dim (128), dtype (f16), page size N, K/V "
          "layout");
  cl.integer("--runs", runs64, 1, 100000, "timed launches per case");
  cl.text("--json", "FILE", jsonPath, "write the results as JSON");
  cl.text("--commit", "C", commit, "the commit recorded in the results");
  cl.flag("--no-torch", noTorch, "skip the torch SDPA peers");
  cl.flag("--no-ref", noRef, "skip the kernels-ref baselines");
  cl.text("--torch-script", "FILE", script, "the torch peer script");
  cl.choice("--flush", flushName, {"read", "write"},
            "how the L2 is emptied before each launch: reading or writing "
            "512 MiB");
  cl.text("--ctas-per-sm", "N[,N...]", ctasList,
          "re-plan each bundle's entries with these CTAs-per-SM split "
          "targets; none: each bundle's own policy");
  cl.text("--ragged-waves", "N[,N...]", wavesList,
          "re-plan ragged cases aiming at these waves of CTAs (1-64); none: "
          "the runtime's default");
  cl.integer("--min-chunk", minChunk, 1, INT32_MAX,
             "re-plan with this smallest split in tokens; 0: each bundle's "
             "own policy");
  cl.flag("--floor-sweep", floorSweep,
          "time streaming reads of 2-256 MB and an empty launch first (no "
          "bundle needed; with bundles, their cases follow)");
  cl.flag("--back-to-back", backToBack,
          "time fd's launches back to back over cold copies, as a decode "
          "step runs them");
  cl.text("--write-variant-table", "FILE", writeTablePath,
          "write the fastest variant of the first bundle per case (the "
          "runtime's variant table)");
  cl.number("--tie-margin", tieMarginPct, 0, 50,
            "--write-variant-table keeps the planner's choice of a case while "
            "it is within this many percent of the fastest");
  cl.text("--variant-table", "FILE", readTablePath,
          "plan with this variant table; shipped: the one fd ships for this "
          "device, if any; none: the planner's rules");
  // Context parallelism (ShardedBench.h): the parent's list of world sizes,
  // and the flags it starts each rank with.
  std::string shardedList, shardedIdFile;
  int64_t shardedRank = -1, shardedWorld = 0, shardedTimeout = 600;
  cl.text("--sharded", "W[,W...]", shardedList,
          "time a context-parallel step (ShardedDecode) on W GPUs, one "
          "process per GPU, for each W (1-16) and --case; the bundle needs a "
          "decode entry with lse and merge_states entries of W states");
  cl.integer("--sharded-timeout", shardedTimeout, 10, 3600,
             "seconds a --sharded world may take before its ranks are killed");
  cl.integer("--sharded-rank", shardedRank, -1, 15,
             "(set by --sharded) run as this rank");
  cl.integer("--sharded-world", shardedWorld, 0, 16,
             "(set by --sharded) the world size of --sharded-rank");
  cl.text("--sharded-id-file", "FILE", shardedIdFile,
          "(set by --sharded) where rank 0 leaves NCCL's unique id");
  if (std::optional<int> exit = cl.parse(argc, argv))
    return *exit;
  bool torch = !noTorch, withRef = !noRef;
  int runs = int(runs64);
  flush = flushName == "write" ? FlushMode::Write : FlushMode::Read;
  auto usage = [&] { return cl.error("give --bundle (or --floor-sweep)"); };
  // A comma-separated list of integers in [1, 64].
  auto parseList = [](const std::string &list, std::vector<int64_t> &out) {
    for (const char *p = list.c_str(); *p;) {
      char *end = nullptr;
      errno = 0;
      long long n = std::strtoll(p, &end, 10);
      if (end == p || errno != 0 || n < 1 || n > 64 || (*end && *end != ','))
        return false;
      out.push_back(n);
      p = *end == ',' ? end + 1 : end;
    }
    return true;
  };
  if (!parseList(ctasList, ctasSweep))
    return cl.error("--ctas-per-sm: '" + ctasList +
                    "' is not a list of integers in [1, 64]");
  if (!parseList(wavesList, wavesSweep))
    return cl.error("--ragged-waves: '" + wavesList +
                    "' is not a list of integers in [1, 64]");
  for (const std::string &spec : caseSpecs) {
    const char *v = spec.c_str();

      // B,Hq,Hkv,L[,D[,f16|bf16[,ragged]]]
      Case c{};
      std::vector<std::string> f;
      std::stringstream ss(v);
      for (std::string item; std::getline(ss, item, ',');)
        f.push_back(item);
      // Trailing nhd / hnd: the K/V layout.
      bool layoutGiven = false;
      if (f.size() > 4 && (f.back() == "nhd" || f.back() == "hnd")) {
        c.tokenMajor = f.back() == "nhd";
        layoutGiven = true;
        f.pop_back();
      }
      // Then pN: a paged cache of N-token pages (NHD unless hnd was given).
      if (f.size() > 4 && f.back().size() > 1 && f.back()[0] == 'p') {
        char *end = nullptr;
        long long page = std::strtoll(f.back().c_str() + 1, &end, 10);
        if (*end || page < 1 || page > 65536) {
          std::fprintf(stderr, "fd-bench: bad page size '%s' in --case '%s' "
                               "(want p1 .. p65536)\n",
                       f.back().c_str(), v);
          return 2;
        }
        c.page = page;
        if (!layoutGiven)
          c.tokenMajor = true;
        f.pop_back();
      }
      auto num = [&](size_t i, long long lo, long long hi, long long &out) {
        char *end = nullptr;
        out = i < f.size() ? std::strtoll(f[i].c_str(), &end, 10) : 0;
        return i < f.size() && end && *end == 0 && out >= lo && out <= hi;
      };
      long long b, hq, hkv, l, d = 128;
      bool ok = f.size() >= 4 && f.size() <= 7 && num(0, 1, 65535, b) &&
                num(1, 1, 1024, hq) && num(2, 1, 1024, hkv) &&
                num(3, 1, INT32_MAX, l) && hq % hkv == 0 &&
                (f.size() < 5 || (num(4, 64, 256, d) &&
                                  (d == 64 || d == 128 || d == 256)));
      if (ok && f.size() >= 6) {
        if (f[5] == "bf16")
          c.dtype = rt::DType::BF16;
        else
          ok = f[5] == "f16";
      }
      if (ok && f.size() == 7) {
        c.ragged = f[6] == "ragged";
        ok = c.ragged;
      }
      if (!ok) {
        std::fprintf(stderr,
                     "fd-bench: bad --case '%s' (want B,Hq,Hkv,L[,D[,f16|bf16"
                     "[,ragged]]] with Hkv dividing Hq, D 64, 128 or 256)\n",
                     v);
        return 2;
      }
      c.batch = b, c.hq = hq, c.hkv = hkv, c.len = l, c.d = d;
      cases.push_back(c);
  }
  if (bundlePaths.empty() && !floorSweep)
    return usage();
  const std::vector<std::string> labels = bundleLabels(bundlePaths);
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] != baseName(bundlePaths[i]))
      std::printf("fd-bench: bundle %s is labelled %s (its file name is "
                  "another bundle's)\n",
                  bundlePaths[i].c_str(), labels[i].c_str());
  std::vector<int64_t> shardedWorlds;
  if (!shardedList.empty()) {
    if (!parseList(shardedList, shardedWorlds) ||
        *std::max_element(shardedWorlds.begin(), shardedWorlds.end()) >
            rt::kMaxShardRanks)
      return cl.error("--sharded: '" + shardedList +
                      "' is not a list of world sizes in [1, 16]");
  }
  if (shardedRank >= 0 || !shardedWorlds.empty()) {
    if (bundlePaths.size() != 1)
      return cl.error("--sharded takes exactly one --bundle");
    std::vector<bench::ShardedCase> sharded;
    for (const Case &c : cases) {
      if (c.ragged || c.page || c.tokenMajor)
        return cl.error("--sharded: cases are contiguous, uniform and "
                        "head-major (no ragged, pN or nhd)");
      sharded.push_back({c.batch, c.hq, c.hkv, c.len, c.d, c.dtype});
    }
    if (sharded.empty())
      // The issue's shape: B = 1, LLaMA-3-8B heads, 128K to 1M tokens.
      for (int64_t len : {131072, 524288, 1048576})
        sharded.push_back({1, 32, 8, len, 128, rt::DType::F16});
    if (shardedRank >= 0) {
      if (shardedWorld < 1 || shardedRank >= shardedWorld ||
          shardedIdFile.empty() || sharded.size() != 1)
        return cl.error("--sharded-rank needs --sharded-world above it, "
                        "--sharded-id-file and one --case");
      return bench::runShardedRank(bundlePaths[0], sharded[0],
                                   int(shardedWorld), int(shardedRank),
                                   shardedIdFile, runs);
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
      return cl.error("cannot find this program (/proc/self/exe)");
    self[n] = 0;
    return bench::runShardedBench(self, bundlePaths[0], sharded,
                                  shardedWorlds, runs, commit,
                                  int(shardedTimeout));
  }
  if (cases.empty()) {
    if (casesName == "required")
      cases = requiredCases();
    else if (casesName == "tune")
      cases = tuneCases();
    else if (casesName == "unified-max")
      cases = unifiedMaxCases();
    else if (casesName == "gqa")
      cases = gqaCases();
    else if (casesName == "ragged")
      cases = raggedCases();
    else if (casesName == "dispatch")
      cases = dispatchCases();
    else if (casesName == "paged")
      cases = pagedCases();
    else if (casesName == "variants")
      cases = variantCases();
    else {
      std::fprintf(stderr, "fd-bench: unknown --cases '%s'\n",
                   casesName.c_str());
      return 2;
    }
  }

  // Ask the runtime first: the CUDA runtime API aborts without a driver.
  auto context = rt::Context::create(0);
  if (!context) {
    bool none = context.getStatus().getCode() == rt::ErrorCode::NoDevice;
    std::printf("fd-bench: %s%s\n", none ? "skipped: no GPU: " : "",
                context.getStatus().getMessage().c_str());
    return none ? 77 : 1;
  }
  checkCuda(cudaSetDevice((*context)->getOrdinal()), "cudaSetDevice");
  std::vector<LoadedBundle> bundles;
  for (size_t i = 0; i < bundlePaths.size(); ++i) {
    const std::string &path = bundlePaths[i];
    auto bundle = rt::Bundle::loadFile(path);
    if (!bundle) {
      std::printf("fd-bench: %s\n", bundle.getStatus().getMessage().c_str());
      return 1;
    }
    auto exe = rt::Executable::create(*context, *bundle);
    if (!exe) {
      std::printf("fd-bench: %s\n", exe.getStatus().getMessage().c_str());
      return 1;
    }
    bundles.push_back({labels[i], *exe});
  }

  cudaStream_t stream;
  checkCuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
            "cudaStreamCreate");
  Timer timer(stream, 512ull << 20, flush);
  if (floorSweep) {
    // How far a streaming read of N bytes is from bytes / bandwidth: the
    // fixed cost that a short kernel cannot avoid under this protocol.
    const double gbs = timer.measureReadBandwidth(2ull << 30, 20);
    std::printf("read bandwidth (2 GiB): %.1f GB/s\n", gbs);
    std::printf("| MB | bytes/bw us | read us | ratio | back-to-back us | "
                "ratio | empty launch us |\n|---|---|---|---|---|---|---|\n");
    for (double mb :
         {2.0, 4.0, 8.0, 16.0, 32.0, 33.55, 64.0, 90.18, 100.66, 256.0}) {
      uint64_t bytes = uint64_t(mb * 1e6) / 16 * 16;
      double emptyUs = 0;
      double us = timer.measureReadTime(bytes, runs, emptyUs);
      double b2b = timer.measureReadTimeBackToBack(bytes, runs);
      double ideal = double(bytes) / (gbs * 1e3);
      std::printf("| %.2f | %.2f | %.2f | %.3f | %.2f | %.3f | %.2f |\n", mb,
                  ideal, us, us / ideal, b2b, b2b / ideal, emptyUs);
    }
    // With bundles the cases follow: the sweep used to end the run and
    // silently drop every --case given beside it.
    if (bundlePaths.empty())
      return 0;
  }
  const double readGBs = timer.measureReadBandwidth(2ull << 30, 20);
  const rt::Context &ctx = **context;
  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::printf("fd-bench: %s (%s, %d SMs), %s, commit %s\n",
              ctx.getName().c_str(), ctx.getChip().c_str(), ctx.getSmCount(),
              date, commit.c_str());
  std::printf("read-bandwidth floor: %.0f GB/s (2 GiB streaming read, median "
              "of 20); %d runs per case, L2 flushed before each (by %s 512 "
              "MiB); programmatic dependent launch %s (FD_PDL)\n",
              readGBs, runs, flush == FlushMode::Read ? "reading" : "writing",
              rt::isProgrammaticLaunchEnabled() ? "on" : "off");

  std::shared_ptr<const rt::VariantTable> readTable;
  const bool rulesOnly = readTablePath == "none";
  if (readTablePath != "shipped" && !rulesOnly) {
    rt::Expected<rt::VariantTable> t = rt::VariantTable::loadFile(readTablePath);
    if (!t) {
      std::fprintf(stderr, "fd-bench: %s\n", t.getStatus().getMessage().c_str());
      return 1;
    }
    readTable = std::make_shared<const rt::VariantTable>(t.take());
  }
  // What "chosen" is planned with: without --variant-table, the table the
  // Executable starts with (the one fd ships for this device, if any).
  std::shared_ptr<const rt::VariantTable> shippedTable =
      bundles.empty() ? nullptr : bundles.front().exe->getVariantTable();
  if (readTable)
    std::printf("variant table: %s (%zu lines)\n", readTablePath.c_str(),
                readTable->getRows().size());
  else if (shippedTable && !rulesOnly)
    std::printf("variant table: shipped for %s (%zu lines)\n",
                ctx.getName().c_str(), shippedTable->getRows().size());
  else
    std::printf("variant table: none (the planner's rules)\n");
  const std::string tableUsed =
      readTable ? readTablePath
                : shippedTable && !rulesOnly ? "shipped" : "none";
  rt::VariantTable writeTable;

  std::vector<CaseResult> results;
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Case &c = cases[ci];
    CaseResult result;
    result.c = c;
    rt::EntrySpec shapeOnly;
    shapeOnly.numQHeads = c.hq, shapeOnly.numKvHeads = c.hkv;
    shapeOnly.headDim = c.d, shapeOnly.dtype = c.dtype;
    shapeOnly.scale = 1.0 / std::sqrt(double(c.d));
    shapeOnly.pageSize = c.page;
    if (c.page) {
      rt::TensorSpec &table =
          shapeOnly.tensors[int(rt::Tensor::BlockTable)];
      table.present = true, table.elem = rt::DType::I32;
      if (c.csr) {
        rt::TensorSpec &indptr =
            shapeOnly.tensors[int(rt::Tensor::PageIndptr)];
        indptr.present = true, indptr.elem = rt::DType::I32;
      }
    }
    const KVLayout layout =
        c.tokenMajor ? KVLayout::TokenMajor : KVLayout::HeadMajor;
    AttentionProblem problem(shapeOnly, c.batch, c.len, layout, ci + 1);
    problem.setLens(caseLens(c));
    result.bytes = problem.bytesMoved();
    // --back-to-back: more copies until their K/V exceed twice the L2.
    std::vector<std::unique_ptr<AttentionProblem>> copies;
    if (backToBack)
      for (double total = result.bytes;
           copies.empty() || total < double(timer.coldBytes());
           total += result.bytes) {
        copies.push_back(std::make_unique<AttentionProblem>(
            shapeOnly, c.batch, c.len, layout,
            1000 * (ci + 1) + copies.size()));
        copies.back()->setLens(caseLens(c));
      }
    std::vector<rt::AttentionArgs> copyArgs = {problem.args()};
    for (const auto &copy : copies)
      copyArgs.push_back(copy->args());
    result.floorUs = result.bytes / (readGBs * 1e9) * 1e6;
    int64_t planS = 0, planChunk = 0;
    double bestUs = NAN, chosenUs = NAN;
    std::string bestVariant, bestSoftmax, chosenVariant;

    for (LoadedBundle &lb : bundles) {
      const rt::BoundEntry *bound = findEntry(*lb.exe, c);
      // Each (ctas-per-sm, ragged-waves) pair of the sweeps; 0: the default.
      std::vector<std::pair<int64_t, int64_t>> sweep;
      for (int64_t ctas : ctasSweep.empty() ? std::vector<int64_t>{0}
                                            : ctasSweep)
        for (int64_t waves : wavesSweep.empty() || !c.ragged
                                 ? std::vector<int64_t>{0}
                                 : wavesSweep)
          sweep.emplace_back(ctas, waves);
      for (auto [ctas, waves] : sweep) {
        Measurement m;
        m.name = "fd:" + lb.label;
        if (ctas)
          m.name += "@c" + std::to_string(ctas);
        if (waves)
          m.name += "@w" + std::to_string(waves);
        if (minChunk)
          m.name += "@m" + std::to_string(minChunk);
        if (!bound) {
          m.note = "no entry for this shape in the bundle";
          result.results.push_back(m);
          continue;
        }
        rt::EntrySpec spec = bound->getSpec();
        if (ctas)
          spec.split.ctasPerSm = ctas;
        if (waves)
          spec.split.raggedWaves = waves;
        if (minChunk)
          spec.split.minChunk = minChunk;
        // Every launch variant (unified max: two_kernel and single_launch),
        // named "fd:<bundle>/<variant>".
        const Measurement base = m;
        // Planned as BoundEntry plans: this device's SM count and each
        // variant's own occupancy; "chosen" is the planner's choice.
        rt::PlanRequest request = bound->makePlanRequest(c.batch, c.len);
        if (readTable || rulesOnly)
          request.variantTable = readTable;
        // Ragged cases plan with the real tokens, as an engine that knows
        // its lengths would (fd_executable_plan_tokens).
        if (c.ragged) {
          std::vector<int32_t> lens = caseLens(c);
          for (int32_t l : lens)
            request.totalTokens += l;
        }
        const rt::Expected<rt::PlanChoice> pick = rt::choosePlan(spec, request);
        for (size_t v = 0; v < spec.variants.size(); ++v) {
          m = base;
          m.chosen = pick && v == pick->variant;
          const std::string &variant = spec.variants[v].name;
          if (!variant.empty())
            m.name += "/" + variant;
          request.variant = int(v);
          auto plan = rt::plan(spec, request);
          if (!plan) {
            m.note = plan.getStatus().getMessage();
            result.results.push_back(m);
            continue;
          }
          // Unified max: the workspace is zeroed once, the kernels keep it so.
          DeviceWorkspace ws(*bound, *plan, stream);
          const rt::Status &init = ws.initStatus();
          TimingResult t;
          std::string error = init.ok() ? "" : init.getMessage();
          auto launch = [&](int i) {
            rt::Status s = bound->run(*plan, copyArgs[i % copyArgs.size()],
                                      ws.get(), ws.bytes(), CUstream(stream));
            if (!s.ok())
              error = s.getMessage();
            return s.ok();
          };
          bool ok =
              init.ok() &&
              (backToBack
                   ? timer.timeBackToBack(
                         launch, int(std::max<size_t>(8, 2 * copyArgs.size())),
                         1, runs, t)
                   : timer.time([&] { return launch(0); }, 3, runs, t));
          if (!ok) {
            m.note = error;
          } else {
            m.medianUs = t.medianUs, m.minUs = t.minUs, m.maxUs = t.maxUs;
            m.note = "S=" + std::to_string(plan->numSplits) +
                     " chunk=" + std::to_string(plan->chunk);
            if (backToBack)
              m.note += " back-to-back over " +
                        std::to_string(copyArgs.size()) + " copies";
            if (!planS)
              planS = plan->numSplits, planChunk = plan->chunk;
            // The first bundle's fastest variant, for the table.
            if (&lb == &bundles.front() && !variant.empty() &&
                (!std::isfinite(bestUs) || m.medianUs < bestUs))
              bestUs = m.medianUs, bestVariant = variant,
              bestSoftmax = spec.softmax.kind;
            if (&lb == &bundles.front() && m.chosen && !variant.empty())
              chosenUs = m.medianUs, chosenVariant = variant;
          }
          result.results.push_back(m);
        }
      }
    }
    // Within the tie margin of the fastest, the planner's own choice stays:
    // a line then records no flip decided by the noise.
    if (!chosenVariant.empty() &&
        chosenUs <= bestUs * (1 + tieMarginPct / 100))
      bestVariant = chosenVariant;
    // Uniform cases only: a ragged batch's best variant is not a property of
    // (B, L) alone.
    if (!bestVariant.empty() && !c.ragged)
      writeTable.add({c.hq, c.hkv, c.d, c.dtype, bestSoftmax, c.batch, c.len,
                      bestVariant});

    // The hand-written references read a contiguous cache only.
    if (withRef && c.page) {
      result.results.push_back({"ref-baseline", NAN, NAN, NAN,
                                "contiguous caches only"});
      result.results.push_back({"ref-split", NAN, NAN, NAN,
                                "contiguous caches only"});
    } else if (withRef) {
      ref::DecodeParams p;
      p.dtype = c.dtype == rt::DType::BF16 ? ref::DType::BF16 : ref::DType::F16;
      p.shape = {int(c.batch), int(c.hq), int(c.hkv), int(c.len), int(c.d)};
      p.scale = float(1.0 / std::sqrt(double(c.d)));
      const rt::AttentionArgs &a = problem.args();
      p.q = a.q.data, p.k = a.k.data, p.v = a.v.data, p.out = a.out.data;
      p.kStrides = {a.k.strides[0], a.k.strides[1], a.k.strides[2]};
      p.vStrides = p.kStrides;
      p.lens = static_cast<const int32_t *>(a.lens.data);
      TimingResult t;
      Measurement base{"ref-baseline"};
      if (timer.time([&] { return ref::launchDecodeBaseline(p, stream) == 0; },
                     2, std::max(5, runs / 5), t))
        base.medianUs = t.medianUs, base.minUs = t.minUs, base.maxUs = t.maxUs;
      else
        base.note = "launch refused";
      result.results.push_back(base);
      // The two-stage reference with fd's own split plan: same parallelism.
      int s = int(planS ? planS : 1), chunk = int(planS ? planChunk : 0);
      size_t bytes =
          ref::splitDecodeWorkspaceBytes(p.shape.B, p.shape.Hq, p.shape.D, s);
      void *ws = nullptr;
      checkCuda(cudaMalloc(&ws, bytes), "cudaMalloc(ref workspace)");
      Measurement split{"ref-split"};
      if (timer.time(
              [&] {
                return ref::launchDecodeSplit(p, s, chunk, ws, bytes, stream) ==
                       0;
              },
              3, runs, t))
        split.medianUs = t.medianUs, split.minUs = t.minUs,
        split.maxUs = t.maxUs, split.note = "S=" + std::to_string(s);
      else
        split.note = "launch refused";
      (void)cudaFree(ws);
      result.results.push_back(split);
    }
    checkCuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    checkCuda(cudaGetLastError(), "after the case");

    // Progress: the case's line as soon as it is measured.
    std::printf("[%zu/%zu] %-36s %8.1f MB floor %8.2f us |", ci + 1,
                cases.size(), caseName(c).c_str(), result.bytes / 1e6,
                result.floorUs);
    for (const Measurement &m : result.results) {
      if (std::isnan(m.medianUs))
        std::printf(" %s: n/a |", m.name.c_str());
      else
        std::printf(" %s %.2f us %.2fx |", m.name.c_str(), m.medianUs,
                    m.medianUs / result.floorUs);
    }
    std::printf("\n");
    results.push_back(std::move(result));
  }
  (void)cudaStreamDestroy(stream);

  if (torch) {
    auto peers = runTorch(cases, runs, script,
                          flush == FlushMode::Read ? "read" : "write");
    for (size_t ci = 0; ci < results.size(); ++ci)
      for (const char *name : {"sdpa-flash", "sdpa-cudnn"}) {
        auto it = peers.find({ci, name});
        Measurement m{name};
        if (it != peers.end())
          m = it->second;
        else
          m.note = "no result from the torch script";
        results[ci].results.push_back(m);
      }
  }

  // The table (markdown, as docs/perf.md records it).
  std::vector<std::string> columns;
  for (const Measurement &m : results.front().results)
    columns.push_back(m.name);
  std::printf("\n| case | MB | floor us |");
  for (const std::string &name : columns)
    std::printf(" %s us (x floor) |", name.c_str());
  std::printf(" fd (runtime's variant) vs baseline |\n|---|---|---|");
  for (size_t i = 0; i <= columns.size(); ++i)
    std::printf("---|");
  std::printf("\n");
  for (const CaseResult &r : results) {
    std::printf("| %s | %.1f | %.2f |", caseName(r.c).c_str(), r.bytes / 1e6,
                r.floorUs);
    double fd = NAN, base = NAN;
    for (const Measurement &m : r.results) {
      if (std::isnan(m.medianUs)) {
        std::printf(" n/a |");
        continue;
      }
      std::printf(" %.2f (%.2fx) |", m.medianUs, m.medianUs / r.floorUs);
      // fd's number is the variant the runtime would choose (first bundle).
      if (m.chosen && std::isnan(fd))
        fd = m.medianUs;
      if (m.name == "ref-baseline")
        base = m.medianUs;
    }
    if (std::isnan(fd) || std::isnan(base))
      std::printf(" n/a |\n");
    else
      std::printf(" %.1fx |\n", base / fd);
  }
  for (const CaseResult &r : results)
    for (const Measurement &m : r.results)
      if (std::isnan(m.medianUs) && !m.note.empty()) {
        std::printf("note: %s, %s: %s\n", caseName(r.c).c_str(), m.name.c_str(),
                    m.note.c_str());
      }

  if (!writeTablePath.empty()) {
    std::ofstream f(writeTablePath);
    f << "# " << ctx.getName() << " (" << ctx.getChip() << "), " << date
      << ", commit " << commit << ", " << runs << " runs per case\n"
      << writeTable.toString();
    std::printf("fd-bench: wrote %s (%zu measured choices)\n",
                writeTablePath.c_str(), writeTable.getRows().size());
  }

  if (!jsonPath.empty()) {
    std::ofstream f(jsonPath);
    harness::ResultHeader header;
    header.tool = "fd-bench";
    header.device = ctx.getName();
    header.chip = ctx.getChip();
    header.driver = ctx.getDriver().version;
    header.date = date;
    header.commit = commit;
    header.flush = flush == FlushMode::Read ? "read" : "write";
    header.readGBps = readGBs;
    harness::beginResultFile(
        f, header,
        {{"fd_timing", backToBack ? "\"back-to-back\"" : "\"one-launch\""},
         {"pdl", rt::isProgrammaticLaunchEnabled() ? "true" : "false"},
         {"runs", std::to_string(runs)},
         {"variant_table", "\"" + harness::jsonEscape(tableUsed) + "\""}});
    for (size_t i = 0; i < results.size(); ++i) {
      const CaseResult &r = results[i];
      f << (i ? "," : "") << "\n    {\"B\": " << r.c.batch
        << ", \"Hq\": " << r.c.hq << ", \"Hkv\": " << r.c.hkv
        << ", \"L\": " << r.c.len << ", \"D\": " << r.c.d << ", \"dtype\": \""
        << rt::dtypeName(r.c.dtype) << "\", \"ragged\": "
        << (r.c.ragged ? "true" : "false") << ", \"page\": " << r.c.page
        << ", \"csr\": " << (r.c.csr ? "true" : "false") << ", \"layout\": \""
        << (r.c.tokenMajor ? "NHD" : "HND") << "\""
        << ", \"bytes\": " << r.bytes
        << ", \"floor_us\": " << r.floorUs << ", \"results\": [";
      for (size_t j = 0; j < r.results.size(); ++j) {
        const Measurement &m = r.results[j];
        f << (j ? ", " : "") << "{\"name\": \"" << harness::jsonEscape(m.name) << "\"";
        if (!std::isnan(m.medianUs))
          f << ", \"median_us\": " << m.medianUs << ", \"min_us\": " << m.minUs
            << ", \"max_us\": " << m.maxUs
            << ", \"GBps\": " << r.bytes / (m.medianUs * 1e3)
            << ", \"x_floor\": " << m.medianUs / r.floorUs;
        if (m.chosen)
          f << ", \"chosen\": true";
        f << ", \"note\": \"" << harness::jsonEscape(m.note) << "\"}";
      }
      f << "]}";
    }
    harness::endResultFile(f);
    std::printf("fd-bench: wrote %s\n", jsonPath.c_str());
  }
  return 0;
}
