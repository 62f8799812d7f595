// Copy probe behind docs/perf.md "Session 8": does the destination layout of
// a cp.async ring change what the L2 serves? Build and run on the GPU host:
//   nvcc -O3 -arch=sm_90 bench/probes/cp_async_ring.cu -o probe && ./probe
// (ncu --metrics lts__t_sectors_srcunit_tex_op_read.sum ./probe for sectors).
// Streams K and V ([rows][256 B]) through a cp.async ring of 64-row tiles,
// 128 threads, 1 CTA/SM, as fd's tensor-core kernel does; destination
// layouts: 0 = padded rows (272 B), 1 = dense (256 B), 2 = XOR swizzle.
#include <cstdio>
#include <cstdint>
#include <cuda_runtime.h>
template <int LAYOUT, int ZFILL>
__global__ void __launch_bounds__(128, 1) stream(const uint4 *k, const uint4 *v, long rowsPerCta, float *sink) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int STAGES = 4, TILE = 64;
  int tid = threadIdx.x;
  long base = blockIdx.x * rowsPerCta;
  int stride = LAYOUT == 0 ? 272 : 256;
  unsigned sbase = (unsigned)__cvta_generic_to_shared(smem);
  auto issue = [&](long t) {
    int slot = t % STAGES;
    for (int kv = 0; kv < 2; ++kv) {
      const uint4 *src = kv ? v : k;
      for (int i = 0; i < 8; ++i) {
        int c = tid + i * 128, r = c / 16, col = c % 16;
        int scol = LAYOUT == 2 ? (col ^ (r % 8)) : col;
        unsigned dst = sbase + ((kv * STAGES + slot) * TILE + r) * (LAYOUT == 0 ? 272 : 256) + scol * 16;
        long row = base + t * TILE + r;
        bool ok = t * TILE + r < rowsPerCta;
        const uint4 *g = src + (ok ? row : base) * 16 + col;
        if (ZFILL)
          asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(g), "r"(ok ? 16 : 0));
        else
          asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(dst), "l"(g));
      }
    }
    asm volatile("cp.async.commit_group;");
  };
  long tiles = rowsPerCta / TILE;
  float acc = 0;
  for (int s = 0; s < STAGES - 1; ++s) issue(s);
  for (long t = 0; t < tiles; ++t) {
    asm volatile("cp.async.wait_group 2;");
    __syncthreads();
    issue(t + STAGES - 1);
    int slot = t % STAGES;
    acc += *(float *)(smem + (slot * TILE + tid % 64) * stride + (tid / 64) * 4);
  }
  asm volatile("cp.async.wait_group 0;");
  if (acc == 1234.5f) sink[0] = acc;
  (void)stride;
}
int main() {
  long rows = 1L << 21; // 2M rows x 256 B = 512 MB each for K and V
  uint4 *k, *v; float *sink; void *flush;
  cudaMalloc(&k, rows * 256); cudaMalloc(&v, rows * 256); cudaMalloc(&sink, 4); cudaMalloc(&flush, 256 << 20);
  cudaMemset(k, 0, rows * 256); cudaMemset(v, 0, rows * 256);
  int ctas = 128; long per = rows / ctas;
  auto run = [&](auto kern, const char *name) {
    int smemBytes = 2 * 4 * 64 * 272;
    cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smemBytes);
    cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    float best = 1e9;
    for (int r = 0; r < 10; ++r) {
      cudaMemset(flush, r, 256 << 20);
      cudaEventRecord(a); kern<<<ctas, 128, smemBytes>>>(k, v, per, sink); cudaEventRecord(b);
      cudaEventSynchronize(b); float ms; cudaEventElapsedTime(&ms, a, b); if (ms < best) best = ms;
    }
    printf("%-22s %8.1f us  %6.0f GB/s  (%s)\n", name, best * 1e3, 2.0 * rows * 256 / (best * 1e-3) / 1e9, cudaGetErrorString(cudaGetLastError()));
  };
  run(stream<0, 1>, "padded zfill");
  run(stream<0, 0>, "padded");
  run(stream<1, 1>, "dense zfill");
  run(stream<1, 0>, "dense");
  run(stream<2, 1>, "xor zfill");
  run(stream<2, 0>, "xor");
}
