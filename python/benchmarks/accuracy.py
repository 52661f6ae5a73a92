"""Python users' softmax beside softlab's and the C++ peers: scipy.special.softmax and
torch.softmax, as called from Python, against the exact softmax on the accuracy study's families
(the study's own generator and seed, softlab.family_vectors), measured by softlab.check (the
study's metric). One table row per family, dtype, n and implementation; then JSON.

    PYTHONPATH=build/release/python /usr/bin/python3 python/benchmarks/accuracy.py [--max-n N]
"""

import argparse
import json
import warnings

import scipy.special
import torch

import softlab


def torch_softmax(row):
    return torch.softmax(torch.from_numpy(row), dim=-1).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=100000,
                        help="the largest n taken from the study's sizes")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--seed", type=int, default=softlab.default_seed)
    args = parser.parse_args()
    # SciPy warns on the families with -inf, +inf and NaN rows; its results are measured.
    warnings.simplefilter("ignore", RuntimeWarning)
    candidates = {"scipy.special.softmax": scipy.special.softmax, "torch.softmax": torch_softmax}
    results = []
    for family in softlab.study_families():
        for dtype in args.dtypes.split(","):
            for n in family["study_sizes"].get(dtype, []):
                if n > args.max_n:
                    continue
                x = softlab.family_vectors(family["name"], n, dtype=dtype, seed=args.seed)
                for row in softlab.check(x, candidates=candidates, dtype=dtype):
                    if row["error"] and row["error"].startswith("unsupported"):
                        continue
                    results.append(dict(row, family=family["name"], kind=family["kind"], n=n,
                                        vectors=x.shape[0]))
    print("| family | dtype | n | implementation | isa | origin | max ULP | max ULP (normal) "
          "| NaN | wrong 0 |")
    print("|---|---|---:|---|---|---|---:|---:|---:|---:|")

    def number(v):
        return "-" if v is None else f"{v:.3g}"

    for r in results:
        if r["error"]:
            print(f"| {r['family']} | {r['dtype']} | {r['n']} | {r['name']} | {r['isa']} | "
                  f"{r['origin']} | error: {r['error']} | | | |")
            continue
        print(f"| {r['family']} | {r['dtype']} | {r['n']} | {r['name']} | {r['isa']} | "
              f"{r['origin']} | {number(r['max_ulps'])} | {number(r['max_ulps_normal'])} | "
              f"{r['nan_count']} | {r['wrong_zero_count']} |")
    print(json.dumps({"seed": args.seed, "results": results}, indent=1, default=str))


if __name__ == "__main__":
    main()
