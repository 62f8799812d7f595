#!/usr/bin/env python3
"""Result files (docs/measuring.md) -> the markdown tables of docs/perf.md
and PNG plots.

usage: perf-report.py FILE... [--plots DIR] [--out FILE | --update FILE]

Each FILE is a result file of fd-bench, fd-tune, gemm_cublas_bench or
merge_states_bench (schema "fd-result"; fd-bench's files from before the
schema, whose list is "cases", are read too), or the JSON lines of
bench/peers/flashinfer_decode. For each it prints a header line (tool,
device, date, commit, floor bandwidth) and a table:

  fd-bench           case | floor us | fd us (x floor) | best peer us | fd speed
                     vs peer, then the geometric mean of the speeds; the peers
                     are the SDPA backends and, for paged cases, FlashInfer's
                     paths where its JSON lines are among the files
  fd-tune            entry M | dispatched kernel | us | x floor [| cuBLAS us
                     from a gemm_cublas_bench file of the same shapes, or from
                     fd-tune's own cublas variant]
  merge_states_bench case | KB | floor us | fd us (x floor) | torch us | speed
  flashinfer_decode  case | path | us

--plots DIR writes, per file, PNGs (python3-matplotlib): fd-bench: x floor
against L for every case family (B, heads, D, dtype, page) with fd and each
peer as a line, and fd's speed over the best peer per case; fd-tune: us
against M per entry beside cuBLAS. Exit 1 on a file it cannot read.
"""

import argparse
import json
import math
import os
import sys

SCHEMA = "fd-result"
BEGIN = "<!-- perf-report: begin -->"
END = "<!-- perf-report: end -->"


class ReportError(Exception):
    pass


def load(path):
    """(header dict, records list) of a result file or a JSON-lines peer
    stream."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ReportError("%s: %s" % (path, e.strerror))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        # JSON lines (flashinfer_decode): one record per line, no header.
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ReportError("%s:%d: not JSON: %s" % (path, n, e.msg))
        return {"tool": "flashinfer_decode"}, records
    if isinstance(doc, list):
        raise ReportError("%s: a bare list, not a result file (written "
                          "before the schema; re-run the tool)" % path)
    if not isinstance(doc, dict):
        raise ReportError("%s: expected a JSON object" % path)
    if "schema" in doc and doc["schema"] != SCHEMA:
        raise ReportError("%s: schema '%s', expected '%s'"
                          % (path, doc["schema"], SCHEMA))
    records = doc.get("records", doc.get("cases"))
    if not isinstance(records, list):
        raise ReportError("%s: no 'records' list" % path)
    return doc, records


def header_line(path, h):
    parts = [h.get("tool", "?")]
    for key in ("device", "chip", "date"):
        if h.get(key):
            parts.append(str(h[key]))
    if h.get("commit"):
        parts.append("commit " + h["commit"])
    if h.get("read_floor_GBps"):
        parts.append("read floor %.0f GB/s" % h["read_floor_GBps"])
    if h.get("flush"):
        parts.append(h["flush"] + " flush")
    if h.get("converted_from"):
        parts.append("converted from " + h["converted_from"])
    return "`%s`: %s" % (os.path.basename(path), ", ".join(parts))


def length_name(n):
    return "%dK" % (n // 1024) if n >= 1024 and n % 1024 == 0 else str(n)


def bench_case_name(r):
    name = "B=%d %d/%d L=%s" % (r["B"], r["Hq"], r["Hkv"],
                               length_name(r["L"]))
    extra = []
    if r.get("D", 128) != 128:
        extra.append("D=%d" % r["D"])
    if r.get("dtype", "f16") != "f16":
        extra.append(r["dtype"])
    if r.get("page"):
        extra.append("page %d%s" % (r["page"], " CSR" if r.get("csr") else ""))
    if r.get("ragged"):
        extra.append("ragged")
    return name + (" " + " ".join(extra) if extra else "")


def bench_family(r):
    return ("B=%d %d/%d D=%d %s%s%s"
            % (r["B"], r["Hq"], r["Hkv"], r.get("D", 128),
               r.get("dtype", "f16"),
               " page %d" % r["page"] if r.get("page") else "",
               " ragged" if r.get("ragged") else ""))


def timed(results):
    return [m for m in results if m.get("median_us") is not None]


def fd_result(results):
    """The runtime's choice (chosen), else the first fd variant."""
    fd = [m for m in timed(results) if m["name"].startswith("fd:")]
    chosen = [m for m in fd if m.get("chosen")]
    return (chosen or fd or [None])[0]


def case_key(r):
    return (r.get("B"), r.get("Hq"), r.get("Hkv"), r.get("L"),
            r.get("page", 0) or 0, bool(r.get("ragged")))


def peer_results(r, flashinfer):
    """The case's peers: its SDPA backends and, given FlashInfer's records
    of the same shape (paged only: FlashInfer reads pages), each of its
    paths."""
    peers = [m for m in timed(r["results"]) if m["name"].startswith("sdpa-")]
    if r.get("page"):
        for fi in flashinfer.get(case_key(r), []):
            peers.append({"name": "flashinfer-" + fi.get("path", "?"),
                          "median_us": fi["us"]})
    return peers


def best_peer(r, flashinfer=None):
    peers = peer_results(r, flashinfer or {})
    return min(peers, key=lambda m: m["median_us"]) if peers else None


def bench_table(records, flashinfer):
    lines = ["| case | floor us | fd us (x floor) | best peer us | fd speed "
             "vs peer |", "|---|---|---|---|---|"]
    speeds = []
    for r in records:
        fd, peer = fd_result(r["results"]), best_peer(r, flashinfer)
        fd_text = ("%.2f (%.2fx)" % (fd["median_us"],
                                     fd["median_us"] / r["floor_us"])
                   if fd else "n/a")
        peer_text = ("%.2f (%s)" % (peer["median_us"], peer["name"])
                     if peer else "n/a")
        speed = ""
        if fd and peer:
            s = peer["median_us"] / fd["median_us"]
            speeds.append(s)
            speed = "%.2f" % s
        lines.append("| %s | %.1f | %s | %s | %s |"
                     % (bench_case_name(r), r["floor_us"], fd_text, peer_text,
                        speed))
    if speeds:
        geo = math.exp(sum(math.log(s) for s in speeds) / len(speeds))
        lines.append("")
        lines.append("Geometric mean of fd's speed over the best peer: "
                     "**%.2f** (%d case%s)"
                     % (geo, len(speeds), "" if len(speeds) == 1 else "s"))
    return lines


def tune_table(records, cublas):
    """cublas: {(n, k, dtype, m): us} from gemm_cublas_bench files."""
    with_cublas = bool(cublas) or any("cublas" in r.get("variants", {})
                                      for r in records)
    head = "| entry | M | dispatched | us | x floor |"
    rule = "|---|---|---|---|---|"
    if with_cublas:
        head += " cuBLAS us | fd speed vs cuBLAS |"
        rule += "---|---|"
    lines = [head, rule]
    for r in records:
        row = ("| %s | %d | %s | %.2f | %.2f |"
               % (r["entry"], r["m"], r["dispatched"], r["us"],
                  r["us"] / r["floor_us"]))
        if with_cublas:
            c = cublas.get((r["n"], r["k"], r["dtype"], r["m"]),
                           r.get("variants", {}).get("cublas"))
            row += (" %.2f | %.2f |" % (c, c / r["us"]) if c else " n/a | |")
        lines.append(row)
    return lines


def merge_table(records):
    lines = ["| case | KB | floor us | fd us (x floor) | torch us | fd speed "
             "vs torch |", "|---|---|---|---|---|---|"]
    for r in records:
        lines.append("| %s | %.0f | %.2f | %.2f (%.1fx) | %.2f | %.1f |"
                     % (r["case"], r["bytes"] / 1e3, r["floor_us"],
                        r["fd_us"], r["fd_us"] / r["floor_us"],
                        r["torch_us"], r["torch_us"] / r["fd_us"]))
    return lines


def flashinfer_table(records):
    lines = ["| case | path | us |", "|---|---|---|"]
    for r in records:
        case = r.get("case") or "B=%s %s/%s L=%s page %s%s" % (
            r.get("B"), r.get("Hq"), r.get("Hkv"), r.get("L"), r.get("page"),
            " ragged" if r.get("ragged") else "")
        us = r.get("us", r.get("median_us"))
        lines.append("| %s | %s | %s |"
                     % (case, r.get("path", ""),
                        "%.2f" % us if isinstance(us, (int, float))
                        else r.get("error", "n/a")))
    return lines


def plot_bench(records, flashinfer, stem, plt):
    families = {}
    for r in records:
        families.setdefault(bench_family(r), []).append(r)
    written = []
    # x floor against L: one panel per family with more than one length.
    multi = {f: rs for f, rs in families.items() if len(rs) > 1}
    if multi:
        n = len(multi)
        cols = min(3, n)
        rows = (n + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows),
                                 squeeze=False)
        for ax, (family, rs) in zip(axes.flat, sorted(multi.items())):
            rs = sorted(rs, key=lambda r: r["L"])
            names = {"fd"} | {m["name"] for r in rs for m in timed(r["results"])
                              if m["name"].startswith("sdpa-")}
            for name in sorted(names):
                xs, ys = [], []
                for r in rs:
                    m = (fd_result(r["results"]) if name == "fd" else
                         next((m for m in timed(r["results"])
                               if m["name"] == name), None))
                    if m:
                        xs.append(r["L"])
                        ys.append(m["median_us"] / r["floor_us"])
                ax.plot(xs, ys, marker="o", label=name,
                        linewidth=2.5 if name == "fd" else 1.2)
            ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
            ax.set_xscale("log", base=2)
            ax.set_title(family, fontsize=9)
            ax.set_xlabel("L (tokens)")
            ax.set_ylabel("x floor")
            ax.legend(fontsize=7)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        fig.tight_layout()
        path = stem + "-xfloor.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    # fd's speed over the best peer, per case.
    pairs = [(bench_case_name(r), best_peer(r, flashinfer),
              fd_result(r["results"])) for r in records]
    pairs = [(n, p["median_us"] / f["median_us"]) for n, p, f in pairs
             if p and f]
    if pairs:
        fig, ax = plt.subplots(figsize=(7, 0.32 * len(pairs) + 1.2))
        names = [n for n, _ in pairs]
        values = [v for _, v in pairs]
        ax.barh(range(len(pairs)), values,
                color=["tab:green" if v >= 1 else "tab:red" for v in values])
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_yticks(range(len(pairs)))
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("fd speed over the best peer (>1: fd faster)")
        fig.tight_layout()
        path = stem + "-speed.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def plot_tune(records, cublas, stem, plt):
    entries = {}
    for r in records:
        entries.setdefault(r["entry"], []).append(r)
    cols = min(4, len(entries))
    rows = (len(entries) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.4 * rows),
                             squeeze=False)
    for ax in list(axes.flat)[len(entries):]:
        ax.axis("off")
    for ax, (entry, rs) in zip(axes.flat, sorted(entries.items())):
        rs = sorted(rs, key=lambda r: r["m"])
        ax.plot([r["m"] for r in rs], [r["us"] for r in rs], marker="o",
                label="fd (dispatched)", linewidth=2.5)
        cs = [(r["m"], cublas.get((r["n"], r["k"], r["dtype"], r["m"]),
                                  r.get("variants", {}).get("cublas")))
              for r in rs]
        cs = [(m, c) for m, c in cs if c]
        if cs:
            ax.plot([m for m, _ in cs], [c for _, c in cs], marker="s",
                    label="cuBLAS")
        ax.plot([r["m"] for r in rs], [r["floor_us"] for r in rs],
                color="grey", linestyle=":", label="floor")
        ax.set_title(entry, fontsize=9)
        ax.set_xlabel("M")
        ax.set_ylabel("us")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = stem + "-gemm.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [path]


def main(argv):
    ap = argparse.ArgumentParser(
        description="Result files -> docs/perf.md tables and PNG plots.")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--plots", metavar="DIR",
                    help="write PNG plots here (python3-matplotlib)")
    ap.add_argument("--out", metavar="FILE",
                    help="write the markdown here instead of stdout")
    ap.add_argument("--update", metavar="FILE",
                    help="replace the text between the lines '%s' and "
                         "'%s' of FILE (docs/perf.md's current tables)"
                         % (BEGIN, END))
    args = ap.parse_args(argv)
    plt = None
    if args.plots:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("perf-report: --plots needs matplotlib (Debian: "
                  "python3-matplotlib)", file=sys.stderr)
            return 1
        os.makedirs(args.plots, exist_ok=True)
    try:
        loaded = [(p,) + load(p) for p in args.files]
    except ReportError as e:
        print("perf-report: %s" % e, file=sys.stderr)
        return 1
    cublas, flashinfer = {}, {}
    for _, h, records in loaded:
        if h.get("tool") == "flashinfer_decode":
            for r in records:
                if isinstance(r.get("us"), (int, float)) and r.get("ok", True):
                    flashinfer.setdefault(case_key(r), []).append(r)
        if h.get("tool") == "gemm_cublas_bench":
            for r in records:
                cublas[(r["n"], r["k"], r.get("dtype", "f16"), r["m"])] = \
                    r["us"]
    out = []
    for path, h, records in loaded:
        tool = h.get("tool")
        out.append(header_line(path, h))
        out.append("")
        stem = os.path.join(args.plots or "",
                            os.path.splitext(os.path.basename(path))[0])
        try:
            if tool == "fd-bench":
                out += bench_table(records, flashinfer)
                if plt:
                    for png in plot_bench(records, flashinfer, stem, plt):
                        out += ["", "![%s](%s)" % (os.path.basename(png), png)]
            elif tool == "fd-tune":
                out += tune_table(records, cublas)
                if plt:
                    for png in plot_tune(records, cublas, stem, plt):
                        out += ["", "![%s](%s)" % (os.path.basename(png), png)]
            elif tool == "gemm_cublas_bench":
                out.append("(cuBLAS times, shown beside fd-tune's)")
            elif tool == "merge_states_bench":
                out += merge_table(records)
            elif tool == "flashinfer_decode":
                out += flashinfer_table(records)
            else:
                print("perf-report: %s: unknown tool '%s'" % (path, tool),
                      file=sys.stderr)
                return 1
        except (KeyError, TypeError, ZeroDivisionError) as e:
            print("perf-report: %s: a record lacks or mangles %s"
                  % (path, e), file=sys.stderr)
            return 1
        out.append("")
    text = "\n".join(out)
    if args.update:
        try:
            with open(args.update) as f:
                doc = f.read()
        except OSError as e:
            print("perf-report: %s: %s" % (args.update, e.strerror),
                  file=sys.stderr)
            return 1
        a, b = doc.find(BEGIN), doc.find(END)
        if a < 0 or b < a:
            print("perf-report: %s has no '%s' ... '%s' block"
                  % (args.update, BEGIN, END), file=sys.stderr)
            return 1
        command = ["scripts/perf-report.py", "--update", args.update]
        if args.plots:
            command += ["--plots", args.plots]
        command += args.files
        block = ("%s\n<!-- rendered by: %s -->\n\n%s\n" %
                 (BEGIN, " ".join(command), text.rstrip("\n") + "\n"))
        with open(args.update, "w") as f:
            f.write(doc[:a] + block + doc[b:])
        return 0
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
