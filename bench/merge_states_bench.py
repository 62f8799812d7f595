#!/usr/bin/env python3
"""fd's merge_states kernel against the same merge written in torch (what a
serving engine without a fused kernel runs: max, exp, weighted sum, log), and
against the floor (the bytes read and written over the read bandwidth
measured in the same run: a 2 GiB f16 sum). Each side is captured into a
CUDA graph and the replay timed with CUDA events (the Python calls that
build the arguments take longer than the kernel), L2 emptied by reading
256 MB before each replay, median of --reps.

usage: merge_states_bench.py BUNDLE [--entry merge2_f16_d128] [--b 1,16,64,256]
       [--reps 100] [--json F] [--commit C]
(GPU host, PYTHONPATH=python FD_RUNTIME_LIB=.../libfd_runtime.so.1)."""

import argparse
import os
import sys

import torch

import fd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fd_result  # noqa: E402


def median_us(fn, reps, flush):
    times = []
    for _ in range(reps):
        flush.sum()
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e3)
    times.sort()
    return times[len(times) // 2]


def graphed(fn):
    """fn captured into a CUDA graph, so that the time is the GPU's and not
    the Python host's (building the arguments takes longer than the merge)."""
    fn()  # warm up (loads the kernel, torch's allocator)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        with torch.cuda.graph(g, stream=s):
            fn()
    torch.cuda.synchronize()
    return g.replay


def torch_merge(outs, lses, out, lse):
    l = torch.stack(lses)                        # [N, B, Hq]
    m = l.max(dim=0).values
    w = torch.exp(l - m)
    total = w.sum(dim=0)
    acc = sum(wi[..., None] * o.float() for wi, o in zip(w, outs))
    out.copy_(acc / total[..., None])
    lse.copy_(m + torch.log(total))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--entry", default="merge2_f16_d128")
    ap.add_argument("--b", default="1,16,64,256")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--json")
    ap.add_argument("--commit", default="")
    args = ap.parse_args()
    bundle = fd.Bundle(args.bundle)
    exe = fd.Executable(bundle)
    e = bundle[args.entry]
    n, hq, d = e.num_states, e.num_q_heads, e.head_dim
    flush = torch.empty(128 * 2 ** 20, dtype=torch.float16, device="cuda")
    bw = fd_result.read_bandwidth(torch, flush=flush)
    print("device: %s, read bandwidth %.0f GB/s (2 GiB f16 sum)"
          % (torch.cuda.get_device_name(), bw / 1e9))
    records = []
    for b in (int(x) for x in args.b.split(",")):
        g = torch.Generator(device="cuda").manual_seed(b)
        outs = [torch.randn(b, hq, d, device="cuda", generator=g).half()
                for _ in range(n)]
        lses = [torch.randn(b, hq, device="cuda", generator=g) * 4
                for _ in range(n)]
        out = torch.empty_like(outs[0])
        lse = torch.empty_like(lses[0]) if e.has_lse else None
        tlse = torch.empty_like(lses[0])
        nbytes = (n + 1) * b * hq * (d * 2 + 4)
        fd_us = median_us(graphed(lambda: exe.merge_states(
            args.entry, outs, lses, out, lse)), args.reps, flush)
        torch_us = median_us(graphed(lambda: torch_merge(outs, lses, out,
                                                         tlse)),
                             args.reps, flush)
        floor = nbytes / bw * 1e6
        rec = {"case": "B=%d N=%d %d/%d" % (b, n, hq, d), "b": b,
               "num_states": n, "hq": hq, "d": d, "bytes": nbytes,
               "floor_us": round(floor, 3), "fd_us": round(fd_us, 3),
               "torch_us": round(torch_us, 3)}
        records.append(rec)
        print("%-22s %8.1f KB  floor %6.2f us  fd %6.2f us  torch %7.2f us"
              % (rec["case"], nbytes / 1e3, floor, fd_us, torch_us))
    if args.json:
        fd_result.write(args.json,
                        fd_result.header(torch, "merge_states_bench", "read",
                                         bw, args.commit),
                        records, reps=args.reps)

if __name__ == "__main__":
    main()
