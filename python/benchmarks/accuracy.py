"""Python users' softmax beside softlab's and the C++ peers: scipy.special.softmax and
torch.softmax, as called from Python, measured as cells of the accuracy study (softlab.study_cells:
the study's families, generator, seed, vector counts and metrics). Prints one table row per
family, dtype, n and callable; with --csv, writes the cells in the columns of the study's
accuracy.csv (origin "python"), which scripts/accuracy_report shows beside the C++ peers when
the file is report/data/python_accuracy.csv (scripts/study writes it there).

    PYTHONPATH=build/release/python /usr/bin/python3 python/benchmarks/accuracy.py \\
        [--max-n N] [--csv report/data/python_accuracy.csv]
"""

import argparse
import csv
import os
import sys
import warnings

import scipy.special
import torch

import softlab


def torch_softmax(row):
    return torch.softmax(torch.from_numpy(row), dim=-1).numpy()


CANDIDATES = {"scipy.special.softmax": scipy.special.softmax, "torch.softmax": torch_softmax}


def write_csv(path, rows):
    """rows (lists of fields) under the study's header, written atomically (path.tmp, then
    renamed)."""
    temporary = path + ".tmp"
    with open(temporary, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(softlab.study_csv_columns)
        writer.writerows(rows)
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int,
                        help="the largest n taken from the study's sizes (default: every one, "
                             "as `softlab accuracy` runs them)")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--seed", type=int, default=softlab.default_seed)
    parser.add_argument("--csv", help="also write the cells here, in accuracy.csv's columns")
    args = parser.parse_args()
    # SciPy warns on the families with -inf, +inf and NaN rows; its results are measured.
    warnings.simplefilter("ignore", RuntimeWarning)
    columns = softlab.study_csv_columns
    rows, errors = [], []
    for family in softlab.study_families():
        for dtype in args.dtypes.split(","):
            for n in family["study_sizes"].get(dtype, []):
                if args.max_n is not None and n > args.max_n:
                    continue
                for cell in softlab.study_cells(CANDIDATES, family["name"], n, dtype=dtype,
                                                seed=args.seed):
                    fields = dict(zip(columns, cell["fields"]))
                    if cell["error"]:
                        errors.append(f"{fields['implementation']} {dtype} {family['name']} "
                                      f"n={n}: {cell['error']}")
                    else:
                        rows.append(cell["fields"])
    shown = ("family", "type", "n", "implementation", "max_ulp", "max_ulp_normal", "nan_count",
             "wrong_zero_count")
    print("| " + " | ".join(shown) + " |")
    print("|" + "---|" * len(shown))
    for fields in rows:
        cell = dict(zip(columns, fields))
        print("| " + " | ".join(cell[c] for c in shown) + " |")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if args.csv:
        write_csv(args.csv, rows)
        print(f"wrote {len(rows)} cells to {args.csv}")


if __name__ == "__main__":
    main()
