#!/usr/bin/env python3
"""cuBLAS peer for fd-tune --bench: torch.matmul(x, W^T) measured the same
way (CUDA events, median; the L2 emptied before each run by reading 256 MB
(--flush read, default) or by a 256 MB memset, which leaves dirty lines the
timed GEMM must write back (--flush write)). Floors: the weight bytes over the
read bandwidth measured in the same run (or --floor-bw GB/s). --json writes a
result file (docs/measuring.md).

usage: gemm_cublas_bench.py [--m 1-16,24,32,48,64] [--reps 30] [--json F]
                            [--flush read|write] [--floor-bw GBPS] [--commit C]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "bench"))
import fd_result  # noqa: E402

try:
    import torch
except ImportError:
    print("SKIPPED: torch not available")
    sys.exit(0)

# LLaMA-2-7B: QKV, O, FFN-up, FFN-down as [N, K].
SHAPES = [("qkv", 12288, 4096), ("o", 4096, 4096), ("up", 11008, 4096),
          ("down", 4096, 11008)]


def parse_list(s):
    out = []
    for item in s.split(","):
        if "-" in item:
            a, b = item.split("-")
            out += list(range(int(a), int(b) + 1))
        else:
            out.append(int(item))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", default="1-16,24,32,48,64")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--json")
    ap.add_argument("--floor-bw", type=float, default=None,
                    help="GB/s of the floors (default: measured)")
    ap.add_argument("--flush", choices=["read", "write"], default="read")
    ap.add_argument("--commit", default="")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("SKIPPED: no GPU")
        return
    dev = torch.device("cuda")
    flush = torch.ones(128 << 20, dtype=torch.float16, device=dev)
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    rows = []
    bw = (args.floor_bw * 1e9 if args.floor_bw else
          fd_result.read_bandwidth(torch, flush=flush))
    print("device:", torch.cuda.get_device_name(), "torch", torch.__version__,
          "flush:", args.flush, "read bandwidth: %.0f GB/s" % (bw / 1e9))
    for dtype in (torch.float16, torch.bfloat16):
        for name, n, k in SHAPES:
            w = torch.randn(n, k, dtype=dtype, device=dev) / k ** 0.5
            floor_us = n * k * 2 / bw * 1e6
            print(f"\n{name} {dtype} [N,K]=[{n},{k}] floor {floor_us:.2f} us")
            for m in parse_list(args.m):
                x = torch.randn(m, k, dtype=dtype, device=dev)
                for _ in range(3):
                    torch.matmul(x, w.t())
                torch.cuda.synchronize()
                times = []
                for r in range(args.reps):
                    if args.flush == "read":
                        flush.sum()
                    else:
                        flush.fill_(r & 0xFF)
                    start.record()
                    torch.matmul(x, w.t())
                    stop.record()
                    stop.synchronize()
                    times.append(start.elapsed_time(stop) * 1e3)
                times.sort()
                us = times[len(times) // 2]
                print(f"M={m:4d} {us:9.2f} us {n*k*2/us/1e3:7.0f} GB/s "
                      f"{us/floor_us:6.3f} x floor")
                rows.append({"name": name, "dtype": str(dtype).replace(
                    "torch.float16", "f16").replace("torch.bfloat16", "bf16"),
                    "n": n, "k": k, "m": m, "us": us, "floor_us": floor_us})
    if args.json:
        fd_result.write(args.json,
                        fd_result.header(torch, "gemm_cublas_bench",
                                         args.flush, bw, args.commit),
                        rows, reps=args.reps)


if __name__ == "__main__":
    main()
