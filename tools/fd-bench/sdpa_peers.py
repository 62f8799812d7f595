#!/usr/bin/env python3
"""Times torch scaled_dot_product_attention for fd-bench's decode cases.

Reads a JSON list of cases ({"B", "Hq", "Hkv", "L", "D", "dtype"}) from the
file named by argv[1]; writes one JSON object per line to stdout:
{"case": i, "backend": "flash"|"cudnn", "median_us": .., "min_us": ..,
 "max_us": .., "error": null|"why"}. Timing matches fd-bench: CUDA events
around the call only, L2 flushed (a 512 MiB write) before each run, median.
Every sequence has length L (fd-bench's cases are uniform), so SDPA over the
full [B, Hkv, L, D] cache is the same attention as fd's.
"""
import json
import sys


def main():
    cases = json.load(open(sys.argv[1]))
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
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
    flush = torch.empty(512 << 20, dtype=torch.uint8, device="cuda")
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
                    flush.fill_(r & 0xff)
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
