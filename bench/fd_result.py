"""The result file every fd benchmark writes (docs/measuring.md, "Result
files"): a header saying where and how the numbers were taken, then the
tool's records. The Python side of include/fd/Harness/ResultFile.h."""

import ctypes
import json
import subprocess
import time

SCHEMA = "fd-result"
VERSION = 1


def read_bandwidth(torch, gib=2, reps=20, flush=None):
    """Bytes per second of torch's f16 sum over ``gib`` GiB (median of
    ``reps``): the floors' bandwidth, measured in the run."""
    x = torch.empty(gib << 29, dtype=torch.float16, device="cuda").normal_()
    times = []
    for _ in range(reps):
        if flush is not None:
            flush.sum()
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        x.sum()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e-3)
    times.sort()
    del x
    return (gib << 30) / times[len(times) // 2]


def driver_version():
    """cuDriverGetVersion (e.g. 13000), 0 where libcuda cannot say."""
    try:
        v = ctypes.c_int(0)
        if ctypes.CDLL("libcuda.so.1").cuDriverGetVersion(ctypes.byref(v)):
            return 0
        return v.value
    except OSError:
        return 0


def header(torch, tool, flush, read_bytes_per_s, commit=""):
    """The header fields for a run on torch's current CUDA device."""
    if not commit:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                capture_output=True,
                                text=True).stdout.strip() or "unknown"
    major, minor = torch.cuda.get_device_capability()
    return {"schema": SCHEMA, "version": VERSION, "tool": tool,
            "device": torch.cuda.get_device_name(),
            "chip": "sm_%d%d" % (major, minor),
            "driver": driver_version(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": commit, "flush": flush,
            "read_floor_GBps": round(read_bytes_per_s / 1e9, 2)}


def write(path, head, records, **extra):
    """Writes ``head``, ``extra`` top-level fields and ``records``."""
    doc = dict(head)
    doc.update(extra)
    doc["records"] = records
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
