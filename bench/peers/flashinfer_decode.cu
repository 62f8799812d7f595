// Standalone peer benchmark: FlashInfer paged-KV decode (f16, head_dim 128, NHD).
//
// Calls FlashInfer's header-only C++ API directly (no PyTorch / TVM-FFI):
//   * path "cuda-core":   DecodePlan + BatchDecodeWithPagedKVCacheDispatched
//                         (what BatchDecodeWithPagedKVCacheWrapper runs by default)
//   * path "tensor-core": PrefillPlan(qo_indptr = arange(B+1)) +
//                         BatchPrefillWithPagedKVCacheDispatched (FA2 template),
//                         i.e. the wrapper's use_tensor_cores=True path.
// The plan (scheduler) runs in setup, outside the timed region, like a serving
// engine that plans once per batch and reuses it across layers.
//
// Usage: flashinfer_decode [options] B,Hq,Hkv,L[,page][,ragged] ...
//   see bench/peers/README.md.

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// utils.cuh defines the compile-time dispatch macros. Include it first, then
// narrow the macros before the kernel headers expand them, so only the
// configurations this benchmark needs get instantiated:
//   GQA group sizes {1,4,8}, sm_80+ smem stage count (2), head dim 128.
#include <flashinfer/utils.cuh>

#undef DISPATCH_GQA_GROUP_SIZE
#define DISPATCH_GQA_GROUP_SIZE(group_size, GROUP_SIZE, ...)                      \
  if (group_size == 1) {                                                          \
    constexpr size_t GROUP_SIZE = 1;                                              \
    __VA_ARGS__                                                                   \
  } else if (group_size == 4) {                                                   \
    constexpr size_t GROUP_SIZE = 4;                                              \
    __VA_ARGS__                                                                   \
  } else if (group_size == 8) {                                                   \
    constexpr size_t GROUP_SIZE = 8;                                              \
    __VA_ARGS__                                                                   \
  } else {                                                                        \
    std::ostringstream err_msg;                                                   \
    err_msg << "group_size " << group_size << " not instantiated (peer: 1,4,8)"; \
    FLASHINFER_ERROR(err_msg.str());                                              \
  }

#undef DISPATCH_COMPUTE_CAP_DECODE_NUM_STAGES_SMEM
#define DISPATCH_COMPUTE_CAP_DECODE_NUM_STAGES_SMEM(compute_capacity, NUM_STAGES_SMEM, ...) \
  {                                                                                         \
    (void)(compute_capacity);                                                               \
    constexpr uint32_t NUM_STAGES_SMEM = 2; /* sm_80+ */                                    \
    __VA_ARGS__                                                                             \
  }

#undef DISPATCH_HEAD_DIM
#define DISPATCH_HEAD_DIM(head_dim, HEAD_DIM, ...)                         \
  if (head_dim == 128) {                                                   \
    constexpr size_t HEAD_DIM = 128;                                       \
    __VA_ARGS__                                                            \
  } else {                                                                 \
    std::ostringstream err_msg;                                            \
    err_msg << "head_dim " << head_dim << " not instantiated (peer: 128)"; \
    FLASHINFER_ERROR(err_msg.str());                                       \
  }

#include <flashinfer/attention/decode.cuh>
#include <flashinfer/attention/default_decode_params.cuh>
#include <flashinfer/attention/default_prefill_params.cuh>
#include <flashinfer/attention/prefill.cuh>
#include <flashinfer/attention/scheduler.cuh>
#include <flashinfer/attention/variants.cuh>

using namespace flashinfer;

namespace fipeer {

constexpr uint32_t kHeadDim = 128;
constexpr PosEncodingMode kPos = PosEncodingMode::kNone;
using DType = half;
using IdType = int32_t;
// DefaultAttention<use_custom_mask, use_sliding_window, use_logits_soft_cap, use_alibi>,
// exactly what FlashInfer's JIT generates for plain decode.
using Variant = DefaultAttention<false, false, false, false>;
using DecParams = BatchDecodeParams<DType, DType, DType, IdType>;
using PfParams = BatchPrefillPagedParams<DType, DType, DType, IdType>;

#define CK(x)                                                                              \
  do {                                                                                     \
    cudaError_t e_ = (x);                                                                  \
    if (e_ != cudaSuccess) {                                                               \
      std::ostringstream os_;                                                              \
      os_ << #x << " failed: " << cudaGetErrorString(e_) << " at " << __FILE__ << ":"      \
          << __LINE__;                                                                     \
      throw std::runtime_error(os_.str());                                                 \
    }                                                                                      \
  } while (0)

// ---------------------------------------------------------------- helpers
__device__ __forceinline__ uint32_t hash32(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

__global__ void fill_uniform(half* p, size_t n, uint64_t seed, float scale) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    float u = (hash32(i * 0x9E3779B97F4A7C15ULL + seed) >> 8) * (1.0f / 16777216.0f);
    p[i] = __float2half((2.f * u - 1.f) * scale);
  }
}

// Naive f32 reference for a few (b, qo_head) rows. One block per row.
// scratch: [nrows, Lmax] f32.
__global__ void ref_attention(const half* __restrict__ q, const half* __restrict__ kc,
                              const half* __restrict__ vc, const int* __restrict__ indptr,
                              const int* __restrict__ indices, const int* __restrict__ lens,
                              const int* __restrict__ rows_b, const int* __restrict__ rows_h,
                              int Hq, int Hkv, int page, float sm_scale, float* scratch,
                              int Lmax, float* out) {
  __shared__ float qs[kHeadDim];
  __shared__ float red[1024];
  const int r = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
  const int b = rows_b[r], h = rows_h[r], kvh = h / (Hq / Hkv), len = lens[b];
  for (int d = tid; d < (int)kHeadDim; d += nt)
    qs[d] = __half2float(q[((size_t)b * Hq + h) * kHeadDim + d]);
  __syncthreads();
  float* s = scratch + (size_t)r * Lmax;
  auto row_ptr = [&](const half* base, int t) {
    int pg = indices[indptr[b] + t / page];
    return base + (((size_t)pg * page + t % page) * Hkv + kvh) * kHeadDim;
  };
  float m = -INFINITY;
  for (int t = tid; t < len; t += nt) {
    const half* kp = row_ptr(kc, t);
    float acc = 0.f;
    for (int d = 0; d < (int)kHeadDim; ++d) acc += qs[d] * __half2float(kp[d]);
    acc *= sm_scale;
    s[t] = acc;
    m = fmaxf(m, acc);
  }
  red[tid] = m;
  __syncthreads();
  for (int w = nt / 2; w > 0; w >>= 1) {
    if (tid < w) red[tid] = fmaxf(red[tid], red[tid + w]);
    __syncthreads();
  }
  const float M = red[0];
  __syncthreads();
  float l = 0.f;
  for (int t = tid; t < len; t += nt) {
    float p = expf(s[t] - M);
    s[t] = p;
    l += p;
  }
  red[tid] = l;
  __syncthreads();
  for (int w = nt / 2; w > 0; w >>= 1) {
    if (tid < w) red[tid] += red[tid + w];
    __syncthreads();
  }
  const float Lsum = red[0];
  for (int d = tid; d < (int)kHeadDim; d += nt) {
    float acc = 0.f;
    for (int t = 0; t < len; ++t) acc += s[t] * __half2float(row_ptr(vc, t)[d]);
    out[(size_t)r * kHeadDim + d] = acc / Lsum;
  }
}

struct Case {
  int B = 0, Hq = 0, Hkv = 0, L = 0, page = 16;
  bool ragged = false;
  std::string spec;
};

struct Opts {
  int iters = 50, warmup = 10;
  bool pdl = true;  // FlashInfer's Python default on sm_90 (device_support_pdl)
  bool cuda_core = true, tensor_core = true;
  bool ragged_all = false;
  uint64_t seed = 1234;
  int check_rows = 16;
};

template <typename T>
struct DevBuf {
  T* p = nullptr;
  DevBuf() = default;
  explicit DevBuf(size_t n) { CK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T))); }
  ~DevBuf() {
    if (p) cudaFree(p);
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
};

struct Workspace {
  void* fws = nullptr;   // float workspace (device)
  void* iws = nullptr;   // int workspace (device)
  void* pin = nullptr;   // page-locked mirror of int workspace
  size_t fsz = 0, isz = 0;
  void ensure(size_t f, size_t i) {
    f = std::max<size_t>(f, 1 << 20);
    i = std::max<size_t>(i, 1 << 20);
    if (f > fsz) {
      if (fws) CK(cudaFree(fws));
      CK(cudaMalloc(&fws, f));
      fsz = f;
    }
    if (i > isz) {
      if (iws) CK(cudaFree(iws));
      if (pin) CK(cudaFreeHost(pin));
      CK(cudaMalloc(&iws, i));
      CK(cudaMallocHost(&pin, i));
      isz = i;
    }
  }
};

struct Result {
  double us = NAN, min_us = NAN;
  double max_abs_err = NAN, max_ref = NAN;
  bool ok = false, split_kv = false;
  int64_t ctas = 0;
  std::string err;
};

template <typename F>
void time_it(F&& launch, const Opts& o, void* flush, size_t flush_bytes, cudaStream_t st,
             Result& r) {
  for (int i = 0; i < o.warmup; ++i) launch();
  CK(cudaStreamSynchronize(st));
  std::vector<cudaEvent_t> ev(2 * o.iters);
  for (auto& e : ev) CK(cudaEventCreate(&e));
  for (int i = 0; i < o.iters; ++i) {
    CK(cudaMemsetAsync(flush, i & 0xff, flush_bytes, st));  // L2 flush
    CK(cudaEventRecord(ev[2 * i], st));
    launch();
    CK(cudaEventRecord(ev[2 * i + 1], st));
  }
  CK(cudaStreamSynchronize(st));
  CK(cudaGetLastError());
  std::vector<double> t(o.iters);
  for (int i = 0; i < o.iters; ++i) {
    float ms = 0.f;
    CK(cudaEventElapsedTime(&ms, ev[2 * i], ev[2 * i + 1]));
    t[i] = ms * 1e3;
  }
  for (auto& e : ev) cudaEventDestroy(e);
  std::sort(t.begin(), t.end());
  r.min_us = t.front();
  r.us = (o.iters % 2) ? t[o.iters / 2] : 0.5 * (t[o.iters / 2 - 1] + t[o.iters / 2]);
}

bool g_all_ok = true;

std::string num(double x, const char* fmt = "%.3f") {
  if (!std::isfinite(x)) return "null";  // keep the line valid JSON
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, x);
  return buf;
}

void print_json(const char* path, const Case& c, const Result& r) {
  if (!r.ok) g_all_ok = false;
  std::printf(
      "{\"peer\":\"flashinfer-paged\",\"path\":\"%s\",\"B\":%d,\"Hq\":%d,\"Hkv\":%d,\"L\":%d,"
      "\"page\":%d,\"ragged\":%s,\"us\":%s,\"min_us\":%s,\"max_abs_err\":%s,"
      "\"max_ref\":%s,\"split_kv\":%s,\"ctas\":%lld,\"ok\":%s",
      path, c.B, c.Hq, c.Hkv, c.L, c.page, c.ragged ? "true" : "false", num(r.us).c_str(),
      num(r.min_us).c_str(), num(r.max_abs_err, "%.3g").c_str(), num(r.max_ref, "%.3g").c_str(),
      r.split_kv ? "true" : "false", (long long)r.ctas, r.ok ? "true" : "false");
  if (!r.err.empty()) {
    std::string e;
    for (char ch : r.err) e += (ch == '"' || ch == '\\') ? '\'' : (ch == '\n' ? ' ' : ch);
    std::printf(",\"error\":\"%s\"", e.c_str());
  }
  std::printf("}\n");
  std::fflush(stdout);
}

bool parse_case(const std::string& s, bool ragged_all, Case& c) {
  std::vector<std::string> f;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) f.push_back(tok);
  if (f.size() < 4) return false;
  c.spec = s;
  c.B = std::atoi(f[0].c_str());
  c.Hq = std::atoi(f[1].c_str());
  c.Hkv = std::atoi(f[2].c_str());
  c.L = std::atoi(f[3].c_str());
  c.ragged = ragged_all;
  for (size_t i = 4; i < f.size(); ++i) {
    if (f[i] == "ragged" || f[i] == "r")
      c.ragged = true;
    else if (f[i] == "uniform" || f[i] == "u")
      c.ragged = false;
    else
      c.page = std::atoi(f[i].c_str());
  }
  return c.B > 0 && c.Hq > 0 && c.Hkv > 0 && c.L > 0 && c.page > 0 && c.Hq % c.Hkv == 0;
}

void run_case(const Case& c, const Opts& o, Workspace& ws, void* flush, size_t flush_bytes,
              cudaStream_t st) {
  const int B = c.B, Hq = c.Hq, Hkv = c.Hkv, P = c.page, D = kHeadDim;
  const float sm_scale = 1.f / std::sqrt(float(D));

  // ---- sequence lengths and shuffled page table (host)
  std::mt19937_64 rng(o.seed);
  std::vector<int> lens(B, c.L);
  if (c.ragged) {
    std::uniform_int_distribution<int> dist(1, c.L);
    for (auto& l : lens) l = dist(rng);
  }
  std::vector<IdType> indptr(B + 1, 0), last_len(B);
  for (int b = 0; b < B; ++b) {
    int np = (lens[b] + P - 1) / P;
    indptr[b + 1] = indptr[b] + np;
    last_len[b] = lens[b] - (np - 1) * P;
  }
  const int num_pages = indptr[B];
  std::vector<IdType> indices(num_pages);
  std::iota(indices.begin(), indices.end(), 0);
  std::shuffle(indices.begin(), indices.end(), rng);
  std::vector<IdType> qo_indptr(B + 1);
  std::iota(qo_indptr.begin(), qo_indptr.end(), 0);

  // ---- device data
  const size_t kv_elems = (size_t)num_pages * P * Hkv * D;
  const size_t q_elems = (size_t)B * Hq * D;
  DevBuf<half> k(kv_elems), v(kv_elems), q(q_elems), out(q_elems);
  DevBuf<IdType> d_indptr(B + 1), d_indices(num_pages), d_last(B), d_qo(B + 1), d_lens(B);
  fill_uniform<<<1024, 256, 0, st>>>(k.p, kv_elems, o.seed * 3 + 1, 1.f);
  fill_uniform<<<1024, 256, 0, st>>>(v.p, kv_elems, o.seed * 3 + 2, 1.f);
  fill_uniform<<<1024, 256, 0, st>>>(q.p, q_elems, o.seed * 3 + 3, 2.f);
  CK(cudaGetLastError());
  CK(cudaMemcpyAsync(d_indptr.p, indptr.data(), (B + 1) * 4, cudaMemcpyHostToDevice, st));
  CK(cudaMemcpyAsync(d_indices.p, indices.data(), (size_t)num_pages * 4, cudaMemcpyHostToDevice,
                     st));
  CK(cudaMemcpyAsync(d_last.p, last_len.data(), B * 4, cudaMemcpyHostToDevice, st));
  CK(cudaMemcpyAsync(d_qo.p, qo_indptr.data(), (B + 1) * 4, cudaMemcpyHostToDevice, st));
  CK(cudaMemcpyAsync(d_lens.p, lens.data(), B * 4, cudaMemcpyHostToDevice, st));

  // ---- reference on a few rows (spread over batch, incl. first/last)
  const int nrows = std::min(o.check_rows, B * Hq);
  std::vector<int> rb(nrows), rh(nrows);
  for (int i = 0; i < nrows; ++i) {
    rb[i] = nrows > 1 ? (int)((int64_t)i * (B - 1) / (nrows - 1)) : 0;
    rh[i] = (i * 7 + 3) % Hq;
  }
  if (nrows > 0) rh[nrows - 1] = Hq - 1;
  const int Lmax = *std::max_element(lens.begin(), lens.end());
  DevBuf<int> d_rb(nrows), d_rh(nrows);
  DevBuf<float> scratch((size_t)nrows * Lmax), d_ref((size_t)nrows * D);
  CK(cudaMemcpyAsync(d_rb.p, rb.data(), nrows * 4, cudaMemcpyHostToDevice, st));
  CK(cudaMemcpyAsync(d_rh.p, rh.data(), nrows * 4, cudaMemcpyHostToDevice, st));
  ref_attention<<<nrows, 256, 0, st>>>(q.p, k.p, v.p, d_indptr.p, d_indices.p, d_lens.p, d_rb.p,
                                       d_rh.p, Hq, Hkv, P, sm_scale, scratch.p, Lmax, d_ref.p);
  CK(cudaGetLastError());
  std::vector<float> ref((size_t)nrows * D);
  CK(cudaMemcpyAsync(ref.data(), d_ref.p, ref.size() * 4, cudaMemcpyDeviceToHost, st));
  CK(cudaStreamSynchronize(st));

  auto verify = [&](Result& r) {
    std::vector<half> got(q_elems);
    CK(cudaMemcpy(got.data(), out.p, q_elems * sizeof(half), cudaMemcpyDeviceToHost));
    double err = 0, mref = 0;
    bool finite = true;
    for (int i = 0; i < nrows; ++i)
      for (int d = 0; d < D; ++d) {
        float g = __half2float(got[((size_t)rb[i] * Hq + rh[i]) * D + d]);
        float e = ref[(size_t)i * D + d];
        if (!std::isfinite(g)) finite = false;
        err = std::max(err, (double)std::fabs(g - e));
        mref = std::max(mref, (double)std::fabs(e));
      }
    r.max_abs_err = finite ? err : INFINITY;
    r.max_ref = mref;
    r.ok = finite && err <= 2e-3 + 2e-2 * mref;
  };

  paged_kv_t<DType, IdType> paged_kv(Hkv, P, D, B, QKVLayout::kNHD, k.p, v.p, d_indices.p,
                                     d_indptr.p, d_last.p);

  // ================= CUDA-core decode path (BatchDecodeWithPagedKVCache) =================
  if (o.cuda_core) {
    Result r;
    try {
      DecodePlanInfo plan;
      size_t fsz = 0, isz = 0;
      const uint32_t group = Hq / Hkv;
      DISPATCH_GQA_GROUP_SIZE(group, GROUP_SIZE, {
        auto work_est = BatchDecodeWithPagedKVCacheWorkEstimationDispatched<
            GROUP_SIZE, kHeadDim, kPos, Variant, DecParams>;
        CK((DecodePlanWorkspaceSize<kHeadDim, kPos, Variant, DecParams>(
            fsz, isz, indptr.data(), B, Hq, P, /*enable_cuda_graph=*/false, st, work_est)));
        ws.ensure(fsz, isz);
        CK((DecodePlan<kHeadDim, kPos, Variant, DecParams>(
            ws.fws, ws.fsz, ws.iws, ws.pin, ws.isz, plan, indptr.data(), B, Hq, P,
            /*enable_cuda_graph=*/false, st, work_est)));
      });
      CK(cudaStreamSynchronize(st));

      DecParams p(q.p, /*q_rope_offset=*/nullptr, paged_kv, out.p, /*lse=*/nullptr,
                  /*maybe_alibi_slopes=*/nullptr, Hq, /*q_stride_n=*/Hq * D, /*q_stride_h=*/D,
                  /*window_left=*/-1, /*logits_soft_cap=*/0.f, sm_scale, /*rope_scale=*/1.f,
                  /*rope_theta=*/1e4f);
      p.request_indices = GetPtrFromBaseOffset<IdType>(ws.iws, plan.request_indices_offset);
      p.kv_tile_indices = GetPtrFromBaseOffset<IdType>(ws.iws, plan.kv_tile_indices_offset);
      p.o_indptr = GetPtrFromBaseOffset<IdType>(ws.iws, plan.o_indptr_offset);
      p.kv_chunk_size_ptr = GetPtrFromBaseOffset<IdType>(ws.iws, plan.kv_chunk_size_ptr_offset);
      DType* tmp_v = nullptr;
      float* tmp_s = nullptr;
      if (plan.split_kv) {
        tmp_v = GetPtrFromBaseOffset<DType>(ws.fws, plan.v_offset);
        tmp_s = GetPtrFromBaseOffset<float>(ws.fws, plan.s_offset);
      }
      p.padded_batch_size = plan.padded_batch_size;
      r.split_kv = plan.split_kv;
      r.ctas = (int64_t)plan.padded_batch_size * Hkv;

      auto launch = [&]() {
        CK((BatchDecodeWithPagedKVCacheDispatched<kHeadDim, kPos, Variant, DecParams>(
            p, tmp_v, tmp_s, o.pdl, st)));
      };
      CK(cudaMemsetAsync(out.p, 0xff, q_elems * sizeof(half), st));  // NaN sentinel
      launch();
      CK(cudaStreamSynchronize(st));
      CK(cudaGetLastError());
      verify(r);
      time_it(launch, o, flush, flush_bytes, st, r);
    } catch (const std::exception& e) {
      r.ok = false;
      r.err = e.what();
      cudaGetLastError();
    }
    print_json("cuda-core", c, r);
  }

  // ======== tensor-core path (decode via FA2 prefill kernel, use_tensor_cores=True) ========
  if (o.tensor_core) {
    Result r;
    try {
      PrefillPlanInfo plan;
      size_t fsz = 0, isz = 0;
      CK(PrefillPlanWorkspaceSize<IdType>(
          fsz, isz, qo_indptr.data(), indptr.data(), /*total_num_rows=*/B, B, Hq, Hkv, D, D, P,
          /*enable_cuda_graph=*/false, /*sizeof_dtype_o=*/2, /*window_left=*/-1,
          /*fixed_split_size=*/-1, /*disable_split_kv=*/false, /*num_colocated_ctas=*/0,
          /*uniform_q_len=*/0, st, /*kv_dtype_bytes=*/sizeof(DType)));
      ws.ensure(fsz, isz);
      CK(PrefillPlan<IdType>(ws.fws, ws.fsz, ws.iws, ws.pin, ws.isz, plan, qo_indptr.data(),
                             indptr.data(), B, B, Hq, Hkv, D, D, P, false, 2, -1, -1, false, 0, 0,
                             st, sizeof(DType)));
      CK(cudaStreamSynchronize(st));
      if (plan.cta_tile_q != 16) {
        throw std::runtime_error("unexpected cta_tile_q " + std::to_string(plan.cta_tile_q) +
                                 " (only 16 instantiated)");
      }

      PfParams p(q.p, paged_kv, /*maybe_custom_mask=*/nullptr, d_qo.p,
                 /*maybe_mask_indptr=*/nullptr, /*maybe_q_rope_offset=*/nullptr, out.p,
                 /*lse=*/nullptr, /*maybe_alibi_slopes=*/nullptr, Hq, /*q_stride_n=*/Hq * D,
                 /*q_stride_h=*/D, /*window_left=*/-1, /*logits_soft_cap=*/0.f, sm_scale,
                 /*rope_scale=*/1.f, /*rope_theta=*/1e4f);
      p.request_indices = GetPtrFromBaseOffset<IdType>(ws.iws, plan.request_indices_offset);
      p.qo_tile_indices = GetPtrFromBaseOffset<IdType>(ws.iws, plan.qo_tile_indices_offset);
      p.kv_tile_indices = GetPtrFromBaseOffset<IdType>(ws.iws, plan.kv_tile_indices_offset);
      p.o_indptr = GetPtrFromBaseOffset<IdType>(ws.iws, plan.o_indptr_offset);
      p.kv_chunk_size_ptr = GetPtrFromBaseOffset<IdType>(ws.iws, plan.kv_chunk_size_ptr_offset);
      DType* tmp_v = nullptr;
      float* tmp_s = nullptr;
      if (plan.split_kv) {
        p.merge_indptr = GetPtrFromBaseOffset<IdType>(ws.iws, plan.merge_indptr_offset);
        tmp_v = GetPtrFromBaseOffset<DType>(ws.fws, plan.v_offset);
        tmp_s = GetPtrFromBaseOffset<float>(ws.fws, plan.s_offset);
      }
      p.padded_batch_size = plan.padded_batch_size;
      p.max_total_num_rows = plan.total_num_rows;
      r.split_kv = plan.split_kv;
      r.ctas = (int64_t)plan.padded_batch_size * Hkv;

      auto launch = [&]() {
        CK((BatchPrefillWithPagedKVCacheDispatched</*CTA_TILE_Q=*/16, kHeadDim, kHeadDim, kPos,
                                                   /*USE_FP16_QK_REDUCTION=*/false,
                                                   MaskMode::kNone, Variant, PfParams>(
            p, tmp_v, tmp_s, o.pdl, st)));
      };
      CK(cudaMemsetAsync(out.p, 0xff, q_elems * sizeof(half), st));
      launch();
      CK(cudaStreamSynchronize(st));
      CK(cudaGetLastError());
      verify(r);
      time_it(launch, o, flush, flush_bytes, st, r);
    } catch (const std::exception& e) {
      r.ok = false;
      r.err = e.what();
      cudaGetLastError();
    }
    print_json("tensor-core", c, r);
  }
}

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--path=cuda-core|tensor-core|both] [--iters=N] [--warmup=N]\n"
               "          [--pdl=0|1] [--ragged] [--seed=N] [--check-rows=N]\n"
               "          B,Hq,Hkv,L[,page][,ragged] ...\n"
               "  head_dim=128, f16, NHD; Hq/Hkv in {1,4,8}; default page=16.\n",
               argv0);
}

}  // namespace fipeer

using namespace fipeer;

int main(int argc, char** argv) {
  Opts o;
  std::vector<std::string> specs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* key) -> const char* {
      size_t n = std::strlen(key);
      return a.compare(0, n, key) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* s = val("--path=")) {
      std::string p = s;
      o.cuda_core = (p == "cuda-core" || p == "both");
      o.tensor_core = (p == "tensor-core" || p == "both");
      if (!o.cuda_core && !o.tensor_core) {
        usage(argv[0]);
        return 2;
      }
    } else if (const char* s = val("--iters=")) {
      o.iters = std::max(1, std::atoi(s));
    } else if (const char* s = val("--warmup=")) {
      o.warmup = std::max(0, std::atoi(s));
    } else if (const char* s = val("--pdl=")) {
      o.pdl = std::atoi(s) != 0;
    } else if (const char* s = val("--seed=")) {
      o.seed = std::strtoull(s, nullptr, 10);
    } else if (const char* s = val("--check-rows=")) {
      o.check_rows = std::max(1, std::atoi(s));
    } else if (a == "--ragged") {
      o.ragged_all = true;
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      usage(argv[0]);
      return 2;
    } else {
      specs.push_back(a);
    }
  }
  if (specs.empty()) {
    usage(argv[0]);
    return 2;
  }

  try {
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const size_t flush_bytes = 256ull << 20;
    void* flush = nullptr;
    CK(cudaMalloc(&flush, flush_bytes));
    Workspace ws;
    for (const auto& s : specs) {
      Case c;
      if (!parse_case(s, o.ragged_all, c)) {
        std::fprintf(stderr, "bad case '%s'\n", s.c_str());
        g_all_ok = false;
        continue;
      }
      try {
        run_case(c, o, ws, flush, flush_bytes, st);
      } catch (const std::exception& e) {
        Result r;
        r.err = e.what();
        print_json("setup", c, r);
        cudaGetLastError();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fatal: %s\n", e.what());
    return 1;
  }
  return g_all_ok ? 0 : 1;
}
