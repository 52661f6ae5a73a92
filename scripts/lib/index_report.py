"""report/index.md: the recommendation that opens the study's report. Which implementation to
pick for speed, for accuracy and for safety on masks and special values, each with the measured
evidence beside it and a link to the full section (accuracy.md, bench.md). Every figure comes
from this run's files: report/data/accuracy.csv and report/data/bench.json.
"""

import argparse
import csv
import math
import os
import sys
from collections import defaultdict

import bench_data
from softlab_report.output import write_atomically

ROW_SIZE_LIMIT = 1000  # attention-sized rows, as accuracy.md's answer counts them
# The family kinds the study writes (accuracy.csv's family_kind): -inf entries and a +inf test
# the mask rules, a NaN entry the NaN rule; the others are finite scores.
MASK_KINDS = ("masks", "pos_inf")
NAN_KIND = "nan"


def label(row):
    isa = row.get("isa", "-")
    return row["implementation"] + ("" if isa in ("-", "native", "") else "@" + isa)


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def primary_type(rows):
    """The type the page speaks of: the first stored as IEEE bits (the study's first, float),
    else the first type of the file."""
    ieee = [r["type"] for r in rows if r.get("type_ieee_storage") == "true"]
    return ieee[0] if ieee else (rows[0]["type"] if rows else None)


def accuracy_verdicts(path, type_):
    """label -> {"worst": (ulp, family, n) over finite families at n <= ROW_SIZE_LIMIT,
    "long_sum": ulp over the long-sum families (size class "large"), "safe_masks": bool,
    "problems": [text]} in type_."""
    verdicts = defaultdict(lambda: {"worst": (-1.0, "", 0), "long_sum": math.nan,
                                    "safe_masks": True, "problems": [], "flushed": 0})
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["type"] != type_:
                continue
            v = verdicts[label(row)]
            family, n = row["family"], int(row["n"])
            nan, outputs = int(row["nan_count"]), n * int(row["vectors"])
            kind = row.get("family_kind")
            if kind == NAN_KIND:
                if nan != outputs:
                    v["safe_masks"] = False
                    v["problems"].append(f"hides a NaN ({outputs - nan} of {outputs} outputs "
                                         "not NaN)")
                continue
            if kind in MASK_KINDS:
                if nan or int(row["inf_count"]) or int(row["wrong_nonzero_count"]):
                    v["safe_masks"] = False
                    v["problems"].append(f"{family}: NaN/inf or weight on a masked entry")
                continue
            v["flushed"] += int(row["wrong_zero_count"])  # subnormal results set to 0
            ulp = number(row["max_ulp_normal"])
            if nan or int(row["inf_count"]):
                ulp = math.inf
            if row.get("family_sizes") == "large":
                v["long_sum"] = ulp if math.isnan(v["long_sum"]) else max(v["long_sum"], ulp)
            elif n <= ROW_SIZE_LIMIT and not math.isnan(ulp) and ulp > v["worst"][0]:
                v["worst"] = (ulp, family, n)
    return verdicts


def speed(path, type_, n=4096):
    """label -> ns per element of softmax/<type_>/<label>/<n> (median)."""
    data = bench_data.load(path)
    times = {r["impl"]: r["ns"] for r in data["records"].values()
             if r["op"] == "softmax" and r["type"] == type_ and r["set"] == "uniform"
             and r["n"] == n and not r["error"]}
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="report/data")
    parser.add_argument("--out", default="report")
    args = parser.parse_args()
    accuracy_path = os.path.join(args.data, "accuracy.csv")
    bench_path = os.path.join(args.data, "bench.json")
    if not os.path.exists(accuracy_path):
        print(f"index_report: {accuracy_path} missing (run softlab accuracy)", file=sys.stderr)
        return 2
    with open(accuracy_path, newline="", encoding="utf-8") as f:
        type_ = primary_type(list(csv.DictReader(f)))
    verdicts = accuracy_verdicts(accuracy_path, type_)
    times = {}
    if os.path.exists(bench_path):
        try:
            times = speed(bench_path, type_)
        except bench_data.BenchInputError as e:
            print(f"index_report: {e}", file=sys.stderr)
            return 2

    lines = ["# softlab: which softmax to pick", "",
             f"Measured on this machine by `scripts/study`; {type_}, the most common case. The "
             "details: [accuracy](accuracy.md), [speed](bench.md).", ""]
    # Accuracy: the smallest worst-case error over finite families at attention sizes.
    # Only implementations that keep the contract on masks and NaN are recommended for accuracy.
    ranked = sorted(((v["worst"][0], name) for name, v in verdicts.items()
                     if v["worst"][0] >= 0 and v["safe_masks"]), key=lambda x: x[0])
    if ranked:
        ulp, name = ranked[0]
        _, family, n = verdicts[name]["worst"]
        lines.append(f"- **For accuracy: `{name}`**: its largest error over every finite family at "
                     f"n ≤ {ROW_SIZE_LIMIT} is {ulp:.3g} ULP ({family}, n = {n}); at n = 10^6 "
                     + (f"{verdicts[name]['long_sum']:.3g} ULP"
                        if not math.isnan(verdicts[name]["long_sum"]) else "not run")
                     + (f" (over results ≥ FLT_MIN: it sets {verdicts[name]['flushed']} smaller "
                        "results to 0)" if verdicts[name]["flushed"] else "")
                     + f". Runner-up: `{ranked[1][1]}` "
                     f"({ranked[1][0]:.3g} ULP)." if len(ranked) > 1 else "")
    safe = sorted(name for name, v in verdicts.items() if v["safe_masks"])
    unsafe = {name: v["problems"] for name, v in verdicts.items() if not v["safe_masks"]}
    if times:
        fastest = sorted((t, name) for name, t in times.items() if not math.isnan(t))
        t, name = fastest[0]
        note = ("" if name in safe else
                " — but it fails the contract on masks or NaN (below)")
        lines.append(f"- **For speed: `{name}`** at {t:.3g} ns per element at n = 4096 "
                     f"(median of the benchmark run){note}. Next: " +
                     ", ".join(f"`{nm}` {tt:.3g}" for tt, nm in fastest[1:4]) + ".")
        safe_fast = [(tt, nm) for tt, nm in fastest if nm in safe]
        if safe_fast and safe_fast[0][1] != name:
            lines.append(f"- **For speed with the contract kept:** `{safe_fast[0][1]}` at "
                         f"{safe_fast[0][0]:.3g} ns per element.")
    else:
        lines.append("- For speed: no benchmark run in report/data/bench.json.")
    lines.append(f"- **For safety on masks, +inf and NaN:** {', '.join(f'`{s}`' for s in safe)} "
                 "return 0 for masked entries, all 0 for a fully masked row and NaN for a NaN "
                 "input. Not: " + "; ".join(f"`{n}` ({p[0]})" for n, p in sorted(unsafe.items()))
                 + ".")
    lines += ["", "Reports: [accuracy.md](accuracy.md) (every implementation, family and type "
              "against the exact MPFR softmax; Blanchard, Higham & Higham reproduced), "
              "[bench.md](bench.md) (speed, roofline, speed against accuracy).", ""]
    path = os.path.join(args.out, "index.md")
    write_atomically(path, "\n".join(line for line in lines if line is not None))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
