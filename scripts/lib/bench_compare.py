"""scripts/bench_compare A.json B.json: how each benchmark's median changed from run A to run B
(e.g. before and after a change), with the noise of the repetitions beside it, as Google
Benchmark's tools/compare.py does. A change counts when it exceeds the noise: |B/A - 1| greater
than twice the larger relative spread (cv) of the two runs' repetitions and greater than 2 %.
"""

import argparse
import math
import re
import sys

import bench_data


def verdict(ratio, noise):
    threshold = max(0.02, 2 * noise) if not math.isnan(noise) else 0.02
    if math.isnan(ratio):
        return "?"
    if ratio < 1 - threshold:
        return "faster"
    if ratio > 1 + threshold:
        return "slower"
    return "same (within noise)"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="softlab-bench JSON of run A")
    parser.add_argument("after", help="softlab-bench JSON of run B")
    parser.add_argument("--filter", default="", help="only names matching this regex")
    args = parser.parse_args()
    try:
        a = bench_data.load(args.before)["records"]
        b = bench_data.load(args.after)["records"]
    except bench_data.BenchInputError as e:
        print(f"bench_compare: {e}", file=sys.stderr)
        return 2
    pattern = re.compile(args.filter)
    common = sorted(n for n in set(a) & set(b) if pattern.search(n))
    if not common:
        print("bench_compare: the two runs share no benchmark (check --filter)", file=sys.stderr)
        return 1
    print(f"{'benchmark':<48} {'A ns/el':>10} {'B ns/el':>10} {'B/A':>7} {'noise':>7}  verdict")
    counts = {}
    for name in common:
        ra, rb = a[name], b[name]
        if ra["error"] or rb["error"]:
            print(f"{name:<48} error: {ra['error'] or rb['error']}")
            continue
        ratio = rb["ns"] / ra["ns"] if ra["ns"] > 0 else math.nan
        noise = max(ra["noise"], rb["noise"])
        word = verdict(ratio, noise)
        counts[word] = counts.get(word, 0) + 1
        print(f"{name:<48} {ra['ns']:>10.4g} {rb['ns']:>10.4g} {ratio:>7.3f} "
              f"{noise * 100:>6.1f}%  {word}")
    print("\n" + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    singles = [n for n in common if a[n]["repetitions"] < 2 or b[n]["repetitions"] < 2]
    if singles:
        print(f"note: {len(singles)} benchmarks have fewer than 2 repetitions in a run: no noise "
              "estimate (run with --benchmark_repetitions=5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
