#!/usr/bin/env python3
"""Compare engine outputs of the shared benchmark (one JSON object per line) and print
Markdown tables: times, tapegrad/PyTorch ratios, and whether the check sums agree.

    cargo run --release --example bench -- --threads 1 > tapegrad.jsonl
    python3 ../shared/bench/pytorch_bench.py --threads 1 > pytorch.jsonl
    python3 benches/compare.py tapegrad.jsonl pytorch.jsonl

Any number of files, from any engines and thread counts; records are matched by
(threads, case). When a case was run several times (several files of the same engine and
thread count), each time shown is the median of the runs' medians, and the runs' range
follows in brackets. Standard library only. The ratio is tapegrad time / PyTorch time
(above 1: tapegrad is slower).
"""
import json
import statistics
import sys

TOLERANCE = 1e-4  # the contract: check sums agree with PyTorch's to about 1e-4 relative


TIMES = ("fwd_ms", "fwdbwd_ms", "step_ms", "ms", "images_per_s", "gflops")


def load(paths):
    """(engine, threads, case) -> the first run's record, with every time replaced by the
    median over runs and a `runs` entry holding each time's list."""
    runs = {}
    for path in paths:
        with open(path) as fh:
            for line in fh:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    runs.setdefault((r["engine"], r["threads"], r["case"]), []).append(r)
    records = {}
    for key, rs in runs.items():
        r = dict(rs[0])
        r["runs"] = {t: [x[t] for x in rs] for t in TIMES if all(t in x for x in rs)}
        for t, values in r["runs"].items():
            r[t] = statistics.median(values)
        records[key] = r
    return records


def rel(a, b):
    if isinstance(a, list) or isinstance(b, list):
        return 0.0 if a == b else float("inf")
    return abs(a - b) / max(abs(b), 1e-12)


def fmt(ms):
    return "n/a" if ms is None else (f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}")


def spread(r, key):
    values = r["runs"].get(key, [])
    if len(values) < 2:
        return ""
    return f" [{fmt(min(values))}–{fmt(max(values))}]"


def ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}"


def main():
    records = load(sys.argv[1:])
    ours = {(t, c): r for (e, t, c), r in records.items() if e == "tapegrad" and c != "_info"}
    theirs = {(t, c): r for (e, t, c), r in records.items() if e == "pytorch" and c != "_info"}
    keys = sorted(ours, key=lambda k: (k[0], list(ours).index(k)))

    print("| case | threads | tapegrad fwd ms | tapegrad fwd+bwd ms | PyTorch fwd ms | PyTorch fwd+bwd ms "
          "| ratio fwd | ratio fwd+bwd | checks |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for key in keys:
        a, b = ours[key], theirs.get(key)
        if a["kind"] != "conv":
            continue
        if a["status"] != "ok":
            print(f"| {key[1]} | {key[0]} | {a['status']}: {a.get('note', '')} | | | | | | |")
            continue
        bf = b["fwd_ms"] if b else None
        bb = b["fwdbwd_ms"] if b else None
        check = "no reference"
        if b:
            diff = max(rel(a["check"][k], b["check"][k]) for k in b["check"])
            worst = max(worst, diff)
            check = f"agree ({diff:.1e})" if diff <= TOLERANCE else f"DIFFER ({diff:.1e})"
        print(f"| {key[1]} | {key[0]} | {fmt(a['fwd_ms'])}{spread(a, 'fwd_ms')} | {fmt(a['fwdbwd_ms'])}"
              f"{spread(a, 'fwdbwd_ms')} | {fmt(bf)}{spread(b, 'fwd_ms') if b else ''} "
              f"| {fmt(bb)}{spread(b, 'fwdbwd_ms') if b else ''} "
              f"| {ratio(a['fwd_ms'], bf)} | {ratio(a['fwdbwd_ms'], bb)} | {check} |")

    print()
    print("| case | threads | tapegrad ms | PyTorch ms | ratio | tapegrad rate | PyTorch rate | checks |")
    print("|---|---|---|---|---|---|---|---|")
    for key in keys:
        a, b = ours[key], theirs.get(key)
        if a["kind"] == "conv" or a["status"] != "ok":
            continue
        ms_key = "step_ms" if a["kind"] == "train" else "ms"
        rate_key = "images_per_s" if a["kind"] == "train" else "gflops"
        unit = "images/s" if a["kind"] == "train" else "GFLOP/s"
        check = "no reference"
        if b:
            diff = max(rel(a["check"][k], b["check"][k]) for k in b["check"])
            worst = max(worst, diff)
            check = f"agree ({diff:.1e})" if diff <= TOLERANCE else f"DIFFER ({diff:.1e})"
        print(f"| {key[1]} | {key[0]} | {fmt(a[ms_key])}{spread(a, ms_key)} "
              f"| {fmt(b[ms_key] if b else None)}{spread(b, ms_key) if b else ''} "
              f"| {ratio(a[ms_key], b[ms_key] if b else None)} | {a[rate_key]:,.0f} {unit} "
              f"| {(b[rate_key] if b else 0):,.0f} {unit} | {check} |")
    print()
    print(f"largest relative check-sum difference: {worst:.2e} (tolerance {TOLERANCE:g})")


if __name__ == "__main__":
    main()
