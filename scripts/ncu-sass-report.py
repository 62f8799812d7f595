#!/usr/bin/env python3
"""Where a kernel's warps wait, per SASS instruction, from ncu's source page.

usage: ncu-sass-report.py FILE.csv [--top N] [--min-share P] [--regions N]

FILE.csv is what `ncu -i REPORT.ncu-rep --page source --csv --print-source
sass` prints for a report taken with `--section SourceCounters` (and, for
enough samples on a short kernel, `--warp-sampling-interval 0`): one block
per profiled launch, each a "Kernel Name" line, a header and a line per SASS
instruction. For the first launch of each kernel name it prints

  - the instructions, the warp-instructions executed and the stall samples;
  - the stall reasons' shares of the samples (long_sb: waiting on global
    memory; barrier; imc: kernel-parameter constant-cache misses; no_inst:
    instruction fetch; ...);
  - the instructions holding at least --min-share percent of the samples
    (default 1), or the --top N largest, with their two main reasons: where
    the critical path waits (docs/perf.md "Session 20" read a one-tile
    decode step this way);
  - with --regions N, the samples of each run of N consecutive
    instructions, to place prologue, loop and epilogue.

Exit 1 on a file that holds no kernel.
"""

import argparse
import csv
import sys
from collections import Counter, OrderedDict

SAMPLES = "Warp Stall Sampling (All Samples)"
EXECUTED = "Instructions Executed"


def load(path):
    """Kernel name -> list of launches, each a list of instruction rows."""
    kernels = OrderedDict()
    rows = header = None
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row:
                continue
            if row[0] == "Kernel Name":
                rows, header = [], None
                kernels.setdefault(row[1], []).append(rows)
            elif row[0] == "Address":
                header = row
            elif header is not None and rows is not None:
                rows.append(dict(zip(header, row)))
    return kernels


def number(row, key):
    try:
        return int(float(row.get(key) or 0))
    except ValueError:
        return 0


def opcode(source):
    words = source.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0] if words else ""


def report(name, launches, args, out):
    rows = launches[0]
    samples = sum(number(r, SAMPLES) for r in rows)
    executed = sum(number(r, EXECUTED) for r in rows)
    out.write(f"== {name}: {len(rows)} SASS instructions, {executed} "
              f"warp-instructions executed, {samples} samples "
              f"({len(launches)} launch{'es' if len(launches) > 1 else ''} "
              f"profiled, the first shown)\n")
    if not rows or samples == 0:
        out.write("  no stall samples (take the report with --section "
                  "SourceCounters)\n")
        return
    reasons = [k for k in rows[0]
               if k.startswith("stall_") and "Not Issued" not in k]
    totals = Counter()
    for r in rows:
        for k in reasons:
            totals[k] += number(r, k)
    out.write("  stalls: " + ", ".join(
        f"{k[len('stall_'):]} {100.0 * v / samples:.1f}%"
        for k, v in totals.most_common() if v) + "\n")
    ranked = sorted(range(len(rows)), key=lambda i: -number(rows[i], SAMPLES))
    shown = [i for i in ranked
             if 100.0 * number(rows[i], SAMPLES) / samples >= args.min_share]
    if args.top:
        shown = ranked[:args.top]
    for i in sorted(shown):
        r = rows[i]
        s = number(r, SAMPLES)
        main = sorted(((number(r, k), k[len("stall_"):]) for k in reasons),
                      reverse=True)[:2]
        why = ", ".join(f"{k} {v}" for v, k in main if v)
        out.write(f"  {i:5d} {100.0 * s / samples:5.1f}% "
                  f"{r.get('Source', '').strip()[:64]:64s} ({why})\n")
    if args.regions:
        n = args.regions
        for start in range(0, len(rows), n):
            part = rows[start:start + n]
            s = sum(number(r, SAMPLES) for r in part)
            ops = Counter(opcode(r.get("Source", "")) for r in part)
            top = ",".join(o for o, _ in ops.most_common(3))
            out.write(f"  [{start:5d}-{start + len(part) - 1:5d}] "
                      f"{100.0 * s / samples:5.1f}% executed "
                      f"{sum(number(r, EXECUTED) for r in part):8d} {top}\n")


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv")
    p.add_argument("--top", type=int, default=0,
                   help="show the N instructions with the most samples")
    p.add_argument("--min-share", type=float, default=1.0,
                   help="show instructions with at least this percent of "
                        "the samples (default 1)")
    p.add_argument("--regions", type=int, default=0,
                   help="samples per run of N consecutive instructions")
    args = p.parse_args()
    if args.top < 0 or args.regions < 0 or not 0 <= args.min_share <= 100:
        p.error("--top and --regions must be >= 0, --min-share in [0, 100]")
    try:
        kernels = load(args.csv)
    except OSError as e:
        sys.stderr.write(f"ncu-sass-report: cannot read {args.csv}: "
                         f"{e.strerror}\n")
        return 1
    if not kernels:
        sys.stderr.write(f"ncu-sass-report: {args.csv} holds no kernel (is it "
                         "ncu --page source --csv output?)\n")
        return 1
    for name, launches in kernels.items():
        report(name, launches, args, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
