#!/usr/bin/env python3
"""Times torch scaled_dot_product_attention for fd-bench's decode cases.

Reads a JSON list of cases ({"B", "Hq", "Hkv", "L", "D", "dtype"}) from the
file named by argv[1]; writes one JSON object per line to stdout:
{"case": i, "backend": "flash"|"cudnn", "median_us": .., "min_us": ..,
 "max_us": .., "error": null|"why"}. Timing matches fd-bench: CUDA events
around the call only, L2 flushed before each run by reading (default) or
writing 512 MiB (argv[3]: "read" | "write"), median.
Every sequence has length L (fd-bench's cases are uniform), so SDPA over the
full [B, Hkv, L, D] cache is the same attention as fd's.
"""
import json
import sys


def main():
    cases = json.load(open(sys.argv[1]))
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    mode = sys.argv[3] if len(sys.argv) > 3 else "read"
    try:
        import torch
        from torch.nn.attention import SDPBackend, sdpa_kernel
        import torch.nn.functional as F
    except Exception as e:  # no torch: every result says why
        for i, _ in enumerate(cases):
            for backend in ("flash", "cudnn"):
                print(json.dumps({"case": i, "backend": backend,
                                  "error": f"torch unavailable: {e}"}))
        return
    backends = {"flash": SDPBackend.FLASH_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION}
    flush = torch.ones(128 << 20, dtype=torch.int32, device="cuda")

    def flush_read():
        if mode == "write":
            flush.fill_(1)
        else:
            flush.sum()
    for i, c in enumerate(cases):
        dtype = torch.float16 if c["dtype"] == "f16" else torch.bfloat16
        B, Hq, Hkv, L, D = c["B"], c["Hq"], c["Hkv"], c["L"], c["D"]
        q = torch.randn(B, Hq, 1, D, device="cuda", dtype=dtype)
        k = torch.randn(B, Hkv, L, D, device="cuda", dtype=dtype)
        v = torch.randn(B, Hkv, L, D, device="cuda", dtype=dtype)
        for name, backend in backends.items():
            result = {"case": i, "backend": name, "error": None}
            try:
                def call():
                    with sdpa_kernel([backend]):
                        return F.scaled_dot_product_attention(
                            q, k, v, enable_gqa=(Hq != Hkv))
                for _ in range(3):
                    call()
                torch.cuda.synchronize()
                times = []
                start = torch.cuda.Event(enable_timing=True)
                stop = torch.cuda.Event(enable_timing=True)
                for r in range(runs):
                    flush_read()
                    start.record()
                    call()
                    stop.record()
                    stop.synchronize()
                    times.append(start.elapsed_time(stop) * 1000.0)
                times.sort()
                result.update(median_us=times[len(times) // 2],
                              min_us=times[0], max_us=times[-1])
            except Exception as e:
                result["error"] = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            print(json.dumps(result), flush=True)
        del q, k, v
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
