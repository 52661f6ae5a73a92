#!/usr/bin/python3
"""Turns the accuracy study's files into a Markdown report with PNG plots.

    scripts/accuracy_report [--data DIR] [--out DIR]

reads DIR/accuracy.csv (required), accuracy.json, accuracy_elements.csv, blanchard.csv and
blanchard_summary.csv (all written by the `softlab` tool; every one but accuracy.csv optional)
and writes OUT/accuracy.md and OUT/img/*.png, each atomically (NAME.tmp, then rename).

Nothing here knows the list of implementations, families or types: rows, columns and figures
come from the data. What the report does know is the contract's vocabulary: which families
test the special-value rules rather than accuracy (SPECIAL_FAMILIES), the thresholds of
"safe", each type's precision (for "equal up to rounding" in the special-value table) and the
figures Blanchard, Higham & Higham (2021) report, against which their protocol is checked.

Standard library, numpy and matplotlib (Agg) only: Debian's python3-numpy, python3-matplotlib.
"""

import argparse
import csv
import decimal
import json
import math
import os
import statistics
import sys
from collections import defaultdict

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.colors import LogNorm  # noqa: E402

# --- What the report assumes ---------------------------------------------------------------------

# "Safe": every result with an exact value >= the smallest normal within this many ULPs, and no
# NaN or inf where the exact answer is finite.
SAFE_ULP = 10.0

# Families that test the contract's special-value rules (-inf masks, +inf, NaN) rather than
# accuracy. They classify; they do not select what is shown: a family missing here is treated
# as finite, and one missing from the data simply does not appear.
SPECIAL_FAMILIES = ("fully_masked", "one_pos_inf", "one_nan", "half_masked", "causal_mask")
# Families where every exact output is NaN: there a number is the failure, NaN the answer.
NAN_FAMILIES = ("one_nan",)

# Precision p (bits) of each type, for "equal up to rounding" (a few ULPs) in the special-value
# table. A type missing here is compared exactly.
PRECISION_BITS = {"float": 24, "double": 53, "long-double": 64, "bin50": 168, "bin100": 334,
                  "fp16sim": 11, "bf16sim": 8}
CLOSE_ULPS = 4

# The floors of the log scales: errors of 0 are drawn there.
ELEMENT_ULP_FLOOR = 0.01
HEATMAP_ULP_FLOOR = 0.5
HEATMAP_ULP_CAP = 1e6
BLANCHARD_ERROR_FLOOR = 0.01

# Blanchard, Higham & Higham (2021), section 6: 475 of their 2500 MNIST vectors overflow the
# unshifted logsumexp in fp16; the shifted algorithm overflows on none.
PAPER_OVERFLOW_TYPE = "fp16sim"
PAPER_BASIC_OVERFLOWS = 475
PAPER_VECTORS = 2500
PAPER_SHIFTED_OVERFLOWS = 0
# Their four algorithms, as the softlab tool names them.
THEIR_BASIC, THEIR_BASIC_ALT = "theirs:basic", "theirs:basic_alt"
THEIR_SHIFTED, THEIR_SHIFTED_ALT = "theirs:shifted", "theirs:shifted_alt"
# The shifted algorithm is "as accurate" as the unshifted one when its median error is at most
# this factor times the unshifted one's.
ACCURACY_RATIO = 1.5

# The columns the report cannot do without; the others may be absent (older runs).
ACCURACY_REQUIRED = ("implementation", "type", "isa", "family", "n", "vectors", "max_ulp",
                     "max_ulp_normal", "nan_count", "inf_count", "wrong_zero_count")
ACCURACY_TEXT = ("implementation", "origin", "type", "isa", "family", "worst_x", "worst_y",
                 "worst_exact", "seed")
ELEMENT_COLUMNS = ("implementation", "type", "isa", "family", "distance_below_max", "ulp", "kappa")
BLANCHARD_COLUMNS = ("source", "index", "type", "algorithm", "theorem", "bound",
                     "error_their_reference", "error_exact", "max_ulp", "overflow",
                     "their_lse_finite")
SUMMARY_COLUMNS = ("source", "type", "algorithm", "theorem", "vectors", "overflows", "measured",
                   "max_error_their_reference", "median_error_their_reference", "max_error_exact",
                   "median_error_exact", "max_ulp", "median_ulp", "max_error_exact_over_bound")

# --- Reading -------------------------------------------------------------------------------------

class InputError(Exception):
    """A missing or malformed input file; the message names the file."""


def parse_number(text):
    """A CSV metric: a float (nan and inf included), or None for "", "unsupported" and "-"."""
    text = text.strip()
    if text in ("", "unsupported", "-"):
        return None
    return float(text)  # float() reads "nan", "inf", "-inf" too


def read_csv(path, required, text_columns=()):
    """The rows of a CSV as dicts: text columns as str, the others parsed by parse_number.

    Raises InputError naming the file (and line) when it is missing, lacks a required column,
    has a ragged row or a value that is not a number."""
    if not os.path.exists(path):
        raise InputError(f"{path}: file missing")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise InputError(f"{path}: empty file (no header line)")
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = []
        for line_number, fields in enumerate(reader, start=2):
            if not fields:
                continue
            if len(fields) != len(header):
                raise InputError(f"{path}: line {line_number} has {len(fields)} fields, "
                                 f"the header {len(header)}")
            row = {}
            for column, value in zip(header, fields):
                if column in text_columns:
                    row[column] = value
                    continue
                try:
                    row[column] = parse_number(value)
                except ValueError:
                    raise InputError(f"{path}: line {line_number}, column {column}: "
                                     f"{value!r} is not a number") from None
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no data rows")
    return rows


def read_accuracy_cells(path):
    rows = read_csv(path, ACCURACY_REQUIRED, ACCURACY_TEXT)
    for line_number, row in enumerate(rows, start=2):
        for column in ("n", "vectors"):
            value = row[column]
            if value is None or not math.isfinite(value) or value != int(value) or value < 0:
                raise InputError(f"{path}: line {line_number}, column {column}: "
                                 f"not a count ({value!r})")
            row[column] = int(value)
    return rows


def read_json(path):
    if not os.path.exists(path):
        raise InputError(f"{path}: file missing")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the top level is not an object")
    for key, kind in (("meta", dict), ("notes", list), ("errors", list), ("families", list),
                      ("special_values", list)):
        if not isinstance(data.get(key, kind()), kind):
            raise InputError(f"{path}: \"{key}\" is not a {kind.__name__}")
    for i, entry in enumerate(data.get("special_values", [])):
        missing = [k for k in ("type", "implementation", "input", "expected", "softmax")
                   if not isinstance(entry, dict) or k not in entry]
        if missing:
            raise InputError(f"{path}: special_values[{i}] lacks {', '.join(missing)}")
    return data


def load_optional(loader, path, problems):
    """loader(path), or None with the reason recorded in problems[path] (shown in the report)."""
    try:
        return loader(path)
    except InputError as e:
        reason = str(e)
        if not os.path.exists(path):
            reason = f"not run (file {path} missing)"
        else:
            print(f"accuracy_report: warning: {e}", file=sys.stderr)
            reason = f"not shown: {e}"
        problems[path] = reason
        return None


# --- Small helpers -------------------------------------------------------------------------------

def is_number(v):
    return v is not None and not math.isnan(v)


def unique(items):
    """The distinct items in first-met order."""
    return list(dict.fromkeys(items))


def largest(rows, column):
    """(value, row) of the largest non-NaN value of column (inf counts), or (None, None)."""
    best, best_row = None, None
    for row in rows:
        v = row.get(column)
        if is_number(v) and (best is None or v > best):
            best, best_row = v, row
    return best, best_row


def total(rows, column):
    return sum(int(row.get(column) or 0) for row in rows)


def median(values):
    values = [v for v in values if is_number(v)]
    return statistics.median(values) if values else None


def join_names(names):
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def fmt_sig(v):
    """v to 3 significant digits without trailing zeros; plain notation from 10^-3 to 10^6."""
    if v is None:
        return "—"
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e6:
        mantissa, exponent = f"{v:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    rounded = float(f"{v:.3g}")
    if abs(rounded) >= 1000:
        return f"{rounded:.0f}"  # 12345 -> 12300, not 1.23e+04
    return f"{rounded:.3g}"


def fmt_ulp(v):
    """The headline format: one decimal below 10, else three significant digits."""
    if is_number(v) and math.isfinite(v) and abs(v) < 10:
        return f"{v:.1f}"
    return fmt_sig(v)


def md_escape(text):
    return str(text).replace("|", "\\|")


def md_table(header, rows):
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |",
             "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def variant_label(implementation, isa):
    """xsimd on avx2 is "xsimd (avx2)"; scalar ("-") and peers ("native") are just the name."""
    return implementation if isa in ("", "-", "native") else f"{implementation} ({isa})"


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def save_figure(fig, path):
    tmp = path + ".tmp"
    fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


# --- The study's cells ---------------------------------------------------------------------------

class Study:
    """accuracy.csv indexed by (type, variant, family); a variant is (implementation, isa)."""

    def __init__(self, cells, family_order):
        self.cells = cells
        self.types = unique(c["type"] for c in cells)
        self.variants = unique((c["implementation"], c["isa"]) for c in cells)
        present = unique(c["family"] for c in cells)
        # The JSON's order (shared families first, as the study runs them), then any other.
        self.families = [f for f in family_order if f in present]
        self.families += [f for f in present if f not in self.families]
        self._index = defaultdict(list)
        for c in cells:
            self._index[(c["type"], (c["implementation"], c["isa"]), c["family"])].append(c)

    def rows(self, type_, variant, family):
        return self._index.get((type_, variant, family), [])

    def variants_of(self, type_):
        return [v for v in self.variants
                if any(self.rows(type_, v, f) for f in self.families)]

    def families_of(self, type_, special=None):
        """The type's families; special=True/False keeps only the special/finite ones."""
        return [f for f in self.families
                if any(self.rows(type_, v, f) for v in self.variants)
                and (special is None or (f in SPECIAL_FAMILIES) == special)]


def outputs(rows):
    return sum(r["n"] * r["vectors"] for r in rows)


def exact_is_nan(rows):
    """Every output NaN and every one matching the exact result (max_ulp 0: NaN against a
    number scores inf): the exact answer itself is NaN, i.e. the inputs hold a NaN."""
    return bool(rows) and total(rows, "nan_count") == outputs(rows) and \
        all(r.get("max_ulp") == 0 for r in rows)


def bad_outputs(rows, family):
    """A short word for the contract failure of a family's cells, or None: "NaN"/"inf" where
    the exact answer is finite, or for the NaN family the share of outputs that are not NaN."""
    nan, inf = total(rows, "nan_count"), total(rows, "inf_count")
    if family in NAN_FAMILIES:
        count = outputs(rows)
        return None if nan == count else f"{count - nan} of {count} not NaN"
    if exact_is_nan(rows):  # not the kernel's doing (see data_checks)
        return None
    if nan:
        return "NaN"
    if inf:
        return "inf"
    return None


def finite_verdict(study, type_, variant, sizes=lambda n: True):
    """A variant over the type's finite families, at the sizes n that `sizes` accepts: (worst
    max_ulp_normal, its row, [(family, failure word)]) where the failures are NaN/inf outputs."""
    worst, worst_row, failures = None, None, []
    for family in study.families_of(type_, special=False):
        rows = [r for r in study.rows(type_, variant, family) if sizes(r["n"])]
        if not rows:
            continue
        failure = bad_outputs(rows, family)
        if failure:
            failures.append((family, failure))
            continue  # its ULPs are infinite by the NaN/inf: listed as a failure instead
        value, row = largest(rows, "max_ulp_normal")
        if value is not None and (worst is None or value > worst):
            worst, worst_row = value, row
    return worst, worst_row, failures


def is_safe(verdict):
    worst, _, failures = verdict
    return not failures and (worst is None or worst <= SAFE_ULP)


def where(row):
    return f"{row['family']}, n = {row['n']}"


def headline_cell(rows, family):
    """max over n of max_ulp_normal, or what went wrong; † flushed, ‡ a nonzero for an exact 0."""
    if not rows:
        return "—"
    failure = bad_outputs(rows, family)
    if family in NAN_FAMILIES:
        text = "✗ " + failure if failure else "NaN ✓"
    elif exact_is_nan(rows):
        text = "exact NaN ⚠"
    elif failure:
        text = failure
    else:
        value, _ = largest(rows, "max_ulp_normal")
        if value is None:  # no exact result >= the smallest normal: all results instead
            text = f"({fmt_ulp(largest(rows, 'max_ulp')[0])})"
        else:
            text = fmt_ulp(value)
    if total(rows, "wrong_zero_count"):
        text += " †"
    if total(rows, "wrong_nonzero_count"):
        text += " ‡"
    return text


HEADLINE_LEGEND = (
    "Cell: the largest max_ulp_normal over the sizes n (ULPs of the type, over the results whose "
    "exact value is at least the smallest normal); (x): no such result, the max ULP over all "
    "results; NaN / inf: NaN or infinite outputs where the exact answer is finite; on the NaN "
    "family, \"NaN ✓\" when every output is NaN; exact NaN ⚠: the exact results themselves are "
    "NaN (see the data checks); † some results flushed to 0 (wrong_zero_count "
    "> 0); ‡ a nonzero result where the exact one is 0 (wrong_nonzero_count > 0); — not run.")


def headline_table(study, type_):
    families = study.families_of(type_)
    rows = [[variant_label(*v)] + [headline_cell(study.rows(type_, v, f), f) for f in families]
            for v in study.variants_of(type_)]
    return md_table(["implementation"] + families, rows)


def compact_table(study, types):
    families = [f for f in study.families if any(f in study.families_of(t) for t in types)]
    rows = [[t, variant_label(*v)] + [headline_cell(study.rows(t, v, f), f) for f in families]
            for t in types for v in study.variants_of(t)]
    return md_table(["type", "implementation"] + families, rows)


# --- Special values ------------------------------------------------------------------------------

decimal.getcontext().prec = 120  # bin100's results have about 100 digits


def to_decimal(text):
    text = str(text).strip().lower()
    if "nan" in text:
        return decimal.Decimal("nan")
    if text in ("inf", "+inf", "infinity"):
        return decimal.Decimal("inf")
    if text in ("-inf", "-infinity"):
        return decimal.Decimal("-inf")
    try:
        return decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise InputError(f"accuracy.json: special value {text!r} is not a number") from None


def error_unit(e, p, log_scale):
    """The unit of a difference from the expected e (finite; nonzero unless log_scale): the
    ULP of a p-bit type at e's exponent, 2^(floor(log2|e|) + 1 - p), or for logarithms
    u max(1, |e|) with u = 2^-p (reference::log_error_units)."""
    two = decimal.Decimal(2)
    if log_scale:
        return two ** -p * max(decimal.Decimal(1), abs(e))
    exponent = math.floor(abs(e).ln() / two.ln())  # Decimal: no underflow below 1e-308
    return two ** (exponent + 1 - p)


def compare_values(expected, got, type_, log_scale=False):
    """(mark, set of failure kinds, largest distance in units) of a computed vector against the
    expected one. ✓ equal (NaN equals NaN); ≈ within CLOSE_ULPS units; ✗ otherwise, with the
    kinds "NaN" (NaN where a number is expected), "hides NaN", "inf", "flush" (0 for a nonzero),
    "wrong" (a number for 0 or an infinity) and "far" (a nonzero number farther than CLOSE_ULPS
    units from a nonzero expected one: accuracy, not the contract's rules). The unit is the
    type's ULP at the expected value for softmax, u max(1, |expected|) for log_softmax and
    logsumexp (log_scale), as the study measures them. A type missing from PRECISION_BITS is compared exactly."""
    if len(expected) != len(got):
        return "✗", {"wrong"}, None
    p = PRECISION_BITS.get(type_)
    kinds, distance = set(), decimal.Decimal(0)
    for e_text, g_text in zip(expected, got):
        e, g = to_decimal(e_text), to_decimal(g_text)
        if e.is_nan() or g.is_nan():
            if not (e.is_nan() and g.is_nan()):
                kinds.add("hides NaN" if e.is_nan() else "NaN")
        elif e == g:
            continue
        elif g.is_infinite():
            kinds.add("inf")
        elif g == 0 and not log_scale and e.is_finite():
            kinds.add("flush")
        elif p is None or e.is_infinite() or (e == 0 and not log_scale):
            kinds.add("wrong")
        else:
            distance = max(distance, abs(g - e) / error_unit(e, p, log_scale))
    if distance > CLOSE_ULPS:
        kinds.add("far")
    if kinds:
        return "✗", kinds, distance
    return ("≈" if distance > 0 else "✓"), kinds, distance


def compact_number(d):
    """A Decimal in at most 3 significant digits, trailing zeros dropped: 0.5, 1, 1.93e-22."""
    if d.is_nan():
        return "NaN"
    if d.is_infinite():
        return "inf" if d > 0 else "-inf"
    # Through float where it fits: Decimal's format keeps trailing zeros (1.00, -50.0).
    fits = d == 0 or decimal.Decimal("1e-300") < abs(d) < decimal.Decimal("1e300")
    text = f"{float(d):.3g}" if fits else f"{d:.2e}"
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


def compact_vector(values):
    """[0, 1, 0, 0]; NaN×4 or -inf×4 when every entry is the same non-number."""
    shown = [compact_number(to_decimal(text)) for text in values]
    if len(shown) > 1 and len(set(shown)) == 1 and shown[0] in ("NaN", "inf", "-inf"):
        return f"{shown[0]}×{len(shown)}"
    return "[" + ", ".join(shown) + "]"


def compact_values(values):
    """compact_vector, or the one number of a scalar (logsumexp)."""
    return compact_vector(values) if len(values) != 1 else compact_number(to_decimal(values[0]))


def mark_text(mark, kinds, distance, unit):
    """✓, ≈, ✗; a ✗ for a distance says how far."""
    if "far" in kinds:
        return f"{mark} ({fmt_ulp(float(distance))} {unit})"
    return mark


def special_outcome(entry):
    """(cell text, failure kinds) of one special_values entry."""
    softmax = entry.get("softmax")
    error = entry.get("error")
    if isinstance(softmax, str):  # the tool writes "error: ..." in place of the list
        error = error or softmax
    if error or not isinstance(softmax, list) or not softmax:
        return f"threw: {error or 'no output'} ✗", {"threw"}
    mark, kinds, distance = compare_values(entry.get("expected", []), softmax, entry.get("type"))
    return f"{compact_vector(softmax)} {mark_text(mark, kinds, distance, 'ULP')}", kinds


def log_mismatches(entry):
    """log_softmax and logsumexp outputs that differ from their expected values by more than
    CLOSE_ULPS units ("unsupported" and absent outputs are skipped)."""
    found = []
    outputs_ = (("log_softmax", entry.get("log_softmax"), entry.get("expected_log_softmax")),
                ("logsumexp", [entry.get("logsumexp")], [entry.get("expected_logsumexp")]))
    for name, got, expected in outputs_:
        if not isinstance(got, list) or not got or not isinstance(got[0], str) \
                or got[0] in ("", "unsupported") or not expected or expected[0] is None:
            continue
        mark, kinds, distance = compare_values(expected, got, entry.get("type"), log_scale=True)
        if mark == "✗":
            far = f", {fmt_ulp(float(distance))} u away" if "far" in kinds else ""
            found.append(f"{name} {compact_values(got)} (expected {compact_values(expected)}"
                         f"{far})")
    return found


def special_section(specials, type_):
    entries = [s for s in specials if s.get("type") == type_]
    if not entries:
        return None
    inputs = unique(s["input"] for s in entries)
    variants = unique((s["implementation"], s.get("isa", "-")) for s in entries)
    by_key = {(s["implementation"], s.get("isa", "-"), s["input"]): s for s in entries}
    rows, notes = [], []
    for variant in variants:
        row = [variant_label(*variant)]
        for input_ in inputs:
            entry = by_key.get((*variant, input_))
            row.append(special_outcome(entry)[0] if entry else "—")
            for mismatch in (log_mismatches(entry) if entry else []):
                notes.append(f"{variant_label(*variant)} on {input_}: {mismatch}")
        rows.append(row)
    expected = ["expected"] + [compact_vector(next(s for s in entries if s["input"] == i)
                                              ["expected"]) for i in inputs]
    text = md_table(["implementation"] + inputs, [expected] + rows)
    if notes:
        text += ("\n\nlog_softmax / logsumexp differing from the expected value on these "
                 "inputs:\n\n" + "\n".join(f"- {n}" for n in notes))
    return text


# --- The answer ----------------------------------------------------------------------------------

# Rows up to this length are "attention-sized" (a context's keys; the study's sizes 10 and
# 1000); longer rows are where the summation error of a sequential or few-lane sum dominates.
ROW_SIZE_LIMIT = 1000


def answer_safe(study, type_):
    """Sentence (a): who is safe on every finite family at attention sizes, and the best at
    long sums, where no ULP threshold independent of n can hold for a float sum."""
    families = study.families_of(type_, special=False)
    if not families:
        return f"In {type_}, no finite family was run, so no implementation is rated safe."
    variants = study.variants_of(type_)
    short = {v: finite_verdict(study, type_, v, lambda n: n <= ROW_SIZE_LIMIT) for v in variants}
    long = {v: finite_verdict(study, type_, v, lambda n: n > ROW_SIZE_LIMIT) for v in variants}
    safe = [v for v in variants if is_safe(short[v])]
    text = (f"In {type_}, on every finite family at n ≤ {ROW_SIZE_LIMIT} (safe: ≤ {SAFE_ULP:g} "
            f"ULP on results ≥ the smallest normal, no NaN or inf where the exact answer is "
            f"finite), ")
    if safe:
        text += f"{join_names(variant_label(*v) for v in safe)} {'are' if len(safe) > 1 else 'is'} safe"
    else:
        ranked = [v for v in variants if not short[v][2] and short[v][0] is not None]
        if ranked:
            best = min(ranked, key=lambda v: short[v][0])
            text += (f"no implementation is safe (closest: {variant_label(*best)}, "
                     f"{fmt_ulp(short[best][0])} ULP on {where(short[best][1])})")
        else:
            text += "no implementation is safe"
    ranked_long = [v for v in variants if not long[v][2] and long[v][0] is not None]
    if ranked_long:
        best = min(ranked_long, key=lambda v: long[v][0])
        worst = max(ranked_long, key=lambda v: long[v][0])
        text += (f"; on longer rows (the sum's rounding grows with n) the best is "
                 f"{variant_label(*best)} at {fmt_ulp(long[best][0])} ULP "
                 f"({where(long[best][1])}), the worst {variant_label(*worst)} at "
                 f"{fmt_ulp(long[worst][0])} ULP ({where(long[worst][1])})")
    return text + "."


def answer_losses(study, type_):
    """Sentence (b): the largest losses at attention sizes, by implementation and family."""
    if not study.families_of(type_, special=False):
        return "Losses on wide scores and long sums are therefore not measured either."
    small = lambda n: n <= ROW_SIZE_LIMIT  # noqa: E731
    verdicts = [(v, finite_verdict(study, type_, v, small)) for v in study.variants_of(type_)]
    losses = sorted(((v, value, row) for v, (value, row, _) in verdicts
                     if value is not None and value > SAFE_ULP), key=lambda x: -x[1])
    failing = [(v, failures) for v, (_, _, failures) in verdicts if failures]
    if not losses and not failing:
        return (f"None loses accuracy at those sizes: every {type_} result stays within "
                f"{SAFE_ULP:g} ULP.")
    parts = [f"{variant_label(*v)} {fmt_ulp(value)} ULP ({where(row)}"
             f"{', results flushed to 0' if row.get('wrong_zero_count') else ''})"
             for v, value, row in losses[:4]]
    text = "The largest losses there: " + "; ".join(parts) if parts else ""
    if failing:
        nan_text = "; ".join(f"{variant_label(*v)} returns "
                             + join_names(unique(word for _, word in failures)) + " on "
                             + join_names(family for family, _ in failures)
                             for v, failures in failing)
        text += ("; " if text else "") + nan_text
    return text + " (every cell in the tables below)."


def special_failures(study, specials, type_):
    """Per variant: {kind: [special inputs and families]} of its contract failures in type_."""
    failures = defaultdict(lambda: defaultdict(list))
    for entry in specials or []:
        if entry.get("type") != type_:
            continue
        _, kinds = special_outcome(entry)
        for kind in kinds:
            failures[(entry["implementation"], entry.get("isa", "-"))][kind].append(entry["input"])
    for family in study.families_of(type_, special=True):
        for v in study.variants_of(type_):
            rows = study.rows(type_, v, family)
            failure = bad_outputs(rows, family)
            if failure:
                kind = "hides NaN" if family in NAN_FAMILIES else failure
                failures[v][kind].append(f"{family} ({failure})" if kind == "hides NaN"
                                         else family)
            elif total(rows, "wrong_nonzero_count"):  # (NaN/inf already said so)
                failures[v]["weight on a masked entry"].append(family)
    return failures


# Differences from `expected` that are accuracy, not the special-value rules: mentioned, not
# counted against the contract.
ACCURACY_KINDS = {"flush": "flushing subnormal results to 0",
                  "far": f"errors beyond {CLOSE_ULPS} ULP"}
KIND_PHRASES = {"NaN": "returns NaN on", "hides NaN": "hides a NaN on", "inf": "returns ±inf on",
                "wrong": "returns other values on", "threw": "throws on",
                "weight on a masked entry": "gives weight to a masked entry on"}


# The kinds of contract failure, as the answer counts them (how many inputs and families).
KIND_SHORT = {"NaN": "NaN on", "hides NaN": "hides a NaN", "inf": "±inf on",
              "wrong": "other values on", "threw": "throws on",
              "weight on a masked entry": "weights a masked entry"}


def answer_specials(study, specials, type_):
    variants = unique(study.variants_of(type_)
                      + [(s["implementation"], s.get("isa", "-")) for s in specials or []
                         if s.get("type") == type_])
    failures = special_failures(study, specials, type_)
    ok, broken = [], []
    caveats = defaultdict(list)  # caveat text -> the implementations it applies to
    for v in variants:
        kinds = failures.get(v, {})
        serious = [k for k in kinds if k not in ACCURACY_KINDS]
        if serious:
            broken.append(f"{variant_label(*v)} ("
                          + ", ".join(f"{KIND_SHORT.get(k, k)} {len(kinds[k])}×" for k in serious)
                          + ")")
        else:
            ok.append(variant_label(*v))
            notes = [ACCURACY_KINDS[k] for k in ACCURACY_KINDS if k in kinds]
            if notes:
                caveats[join_names(notes)].append(variant_label(*v))
    text = (f"On masks, +inf and NaN in {type_} (the special-values table and the mask "
            f"families; the contract: 0 for a masked entry, all 0 for a fully masked row, NaN "
            f"everywhere for a NaN input)")
    if ok:
        text += f", {join_names(ok)} return the contract's answer"
        if caveats:
            text += " (" + "; ".join(f"{join_names(names)} up to {caveat}"
                                     for caveat, names in caveats.items()) + ")"
    else:
        text += ", no implementation returns the contract's answer everywhere"
    if broken:
        text += ((", while " if ok else ": ") + "; ".join(broken)
                 + " (count: special inputs and families where it happens)")
    return text + "."


# --- Plots ---------------------------------------------------------------------------------------

def variant_colours(variants):
    cmap = plt.get_cmap("tab10" if len(variants) <= 10 else "tab20")
    return {v: cmap(i % cmap.N) for i, v in enumerate(variants)}


def heatmap_cell(rows, family):
    """(value, label, kind) of one heatmap cell: kind "ulp" (value: max ULP, floored), "bad"
    (NaN/inf outputs where the answer is finite, a number for a NaN) or "none"."""
    if not rows:
        return np.nan, "", "none"
    if exact_is_nan(rows) and family not in NAN_FAMILIES:
        return np.nan, "exact NaN", "none"
    failure = bad_outputs(rows, family)
    worst, _ = largest(rows, "max_ulp")
    if failure:
        return np.nan, "hid NaN" if family in NAN_FAMILIES else failure, "bad"
    if worst is None or math.isinf(worst):
        return np.nan, "inf", "bad"
    return max(worst, HEATMAP_ULP_FLOOR), fmt_ulp(worst), "ulp"


def plot_heatmap(study, type_, path):
    """Implementation x family, colour = max over n of max_ulp on a log scale (floored at
    HEATMAP_ULP_FLOOR, the darkest colour from HEATMAP_ULP_CAP up); NaN/inf outputs where the
    answer is finite black, cells not run grey."""
    variants, families = study.variants_of(type_), study.families_of(type_)
    cells = [[heatmap_cell(study.rows(type_, v, f), f) for f in families] for v in variants]
    values = np.array([[c[0] for c in row] for row in cells], dtype=float)
    bad = np.array([[c[2] == "bad" for c in row] for row in cells])
    finite = values[np.isfinite(values)]
    # A single result of 1 where the exact one is 0 scores ~10^44 ULP (the ULP is floored at the
    # subnormal spacing): capped, so that it does not wash out the ordinary range.
    vmax = min(HEATMAP_ULP_CAP, max(10.0, float(finite.max()) if finite.size else 10.0))
    cmap = plt.get_cmap("YlOrRd").copy()
    cmap.set_over("#3d0013")
    cmap.set_bad("lightgrey")
    norm = LogNorm(vmin=HEATMAP_ULP_FLOOR, vmax=vmax)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(families) + 2.5),
                                    max(2.5, 0.42 * len(variants) + 1.8)))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    ax.imshow(np.ma.masked_where(~bad, np.ones_like(values)),
              cmap=matplotlib.colors.ListedColormap(["black"]), aspect="auto")
    for i, row in enumerate(cells):
        for j, (value, label, kind) in enumerate(row):
            if not label:
                continue
            r, g, b, _ = cmap(norm(value)) if kind == "ulp" else (0, 0, 0, 1)
            dark = kind == "bad" or (kind == "ulp" and 0.299 * r + 0.587 * g + 0.114 * b < 0.5)
            ax.text(j, i, label, ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")
    ax.set_xticks(range(len(families)), families, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(variants)), [variant_label(*v) for v in variants], fontsize=8)
    ax.set_title(f"{type_}: max ULP over every n (black: NaN/inf outputs, grey: not run)",
                 fontsize=9)
    bar = fig.colorbar(image, ax=ax, extend="max" if finite.size and finite.max() > vmax
                       else "neither", pad=0.01)
    bar.set_label(f"max ULP (log scale, floored at {HEATMAP_ULP_FLOOR:g})", fontsize=8)
    save_figure(fig, path)


def log_axes(ax, x=False):
    """Log y (and x) axes, call once the limits are final. On ranges of more than two decades,
    powers of ten and no minor ticks (those dominate the drawing time and add nothing); on
    shorter ones, plain labels at 1, 2 and 5 times the powers of ten (else there are none)."""
    ticker = matplotlib.ticker
    ax.set_yscale("log")
    axes = [(ax.yaxis, ax.get_ylim())]
    if x:
        ax.set_xscale("log")
        axes.append((ax.xaxis, ax.get_xlim()))
    for axis, (low, high) in axes:
        if low > 0 and math.log10(high / low) > 2:
            axis.set_minor_locator(ticker.NullLocator())
        else:
            axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: fmt_sig(v)))
            axis.set_minor_formatter(ticker.NullFormatter())
    ax.tick_params(which="both", labelsize=7)


def subplot_grid(count, width=4.6, height=3.4, max_columns=3):
    columns = min(count, max_columns)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             squeeze=False)
    flat = list(axes.flat)
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def finish_figure(fig, axes, title, path, legend=False, markerscale=1.0):
    """Title on top, the legend of every label in the axes below, laid out and saved. The
    space for both is reserved in inches, so that it holds for one row of plots or six."""
    height = fig.get_size_inches()[1]
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
    bottom = 0.0
    if legend:
        handles = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, handle)
        columns = min(len(handles), 5)
        if handles:
            bottom = (0.25 * math.ceil(len(handles) / columns) + 0.15) / height
            fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=columns,
                       fontsize=8, markerscale=markerscale, frameon=False,
                       bbox_to_anchor=(0.5, 0))
    fig.tight_layout(rect=(0, bottom, 1, 1 - 0.35 / height))
    save_figure(fig, path)


def plot_elements(elements, type_, colours, path):
    """ulp against distance below the max, one subplot per family, one colour per variant."""
    rows = [e for e in elements if e["type"] == type_]
    families = unique(e["family"] for e in rows)
    fig, axes = subplot_grid(len(families))
    for ax, family in zip(axes, families):
        in_family = [e for e in rows if e["family"] == family]
        hidden = 0
        for variant in unique((e["implementation"], e["isa"]) for e in in_family):
            points = [(e["distance_below_max"], e["ulp"]) for e in in_family
                      if (e["implementation"], e["isa"]) == variant]
            kept = [(x, y) for x, y in points
                    if is_number(x) and is_number(y) and math.isfinite(y)]
            hidden += len(points) - len(kept)
            if kept:
                x, y = np.array(kept).T
                ax.scatter(x, np.maximum(y, ELEMENT_ULP_FLOOR), s=3, alpha=0.45, linewidths=0,
                           color=colours.get(variant), label=variant_label(*variant))
        log_axes(ax)
        ax.set_xlabel("distance below the max, max x - x_i", fontsize=8)
        ax.set_ylabel(f"ULP error (floored at {ELEMENT_ULP_FLOOR:g})", fontsize=8)
        ax.set_title(family + (f" ({hidden} NaN/inf not shown)" if hidden else ""), fontsize=9)
        ax.axhline(SAFE_ULP, color="grey", linewidth=0.6, linestyle="--")
    finish_figure(fig, axes, f"{type_}: per-element error of one vector", path, legend=True,
                  markerscale=4)


def multi_n_families(study, type_):
    """The finite families run at more than one n (the special ones' answer is a limit)."""
    return [f for f in study.families_of(type_, special=False)
            if len({c["n"] for v in study.variants_of(type_) for c in study.rows(type_, v, f)}) > 1]


def plot_error_vs_n(study, type_, families, colours, path):
    fig, axes = subplot_grid(len(families))
    for ax, family in zip(axes, families):
        for v in study.variants_of(type_):
            points = sorted((c["n"], c["max_ulp"]) for c in study.rows(type_, v, family)
                            if is_number(c["max_ulp"]) and math.isfinite(c["max_ulp"])
                            and not exact_is_nan([c]))
            if points:
                n, ulp = np.array(points).T
                ax.plot(n, np.maximum(ulp, ELEMENT_ULP_FLOOR), marker="o", markersize=3,
                        linewidth=1, color=colours.get(v), label=variant_label(*v))
        log_axes(ax, x=True)
        ax.set_xlabel("n", fontsize=8)
        ax.set_ylabel("max ULP", fontsize=8)
        ax.set_title(family, fontsize=9)
    finish_figure(fig, axes, f"{type_}: max ULP against n (cells with NaN/inf left out; "
                  f"floored at {ELEMENT_ULP_FLOOR:g})", path,
                  legend=True)


def log_log_identity(ax, xs, ys, limits=None):
    """Log axes and the y = x line, across the data's range or ((x0, x1), (y0, y1))."""
    if limits:
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
        low, high = min(limits[0][0], limits[1][0]), max(limits[0][1], limits[1][1])
    else:
        finite = [v for v in list(xs) + list(ys) if v > 0 and math.isfinite(v)]
        low, high = (min(finite) / 1.5, max(finite) * 1.5) if finite else (None, None)
    if low is not None:
        ax.plot([low, high], [low, high], color="grey", linewidth=0.8, linestyle="--",
                label="y = x", scalex=not limits, scaley=not limits)
    log_axes(ax, x=True)


def plotted_vectors(rows):
    """Their filter: the unshifted lse finite, and this result free of NaN/inf."""
    return [r for r in rows if r["their_lse_finite"] == 1 and r["overflow"] == 0]


def plot_blanchard_bounds(rows, type_, path):
    """Their figure: error (their protocol) against the theorem's bound, per theorem."""
    theirs = [r for r in rows if r["type"] == type_ and r["source"] == "mnist"
              and r["algorithm"].startswith("theirs:")]
    theorems = unique(r["theorem"] for r in theirs)
    fig, axes = subplot_grid(len(theorems), width=3.8, height=3.4, max_columns=4)
    for ax, theorem in zip(axes, theorems):
        kept = plotted_vectors(r for r in theirs if r["theorem"] == theorem)
        xs = [r["bound"] for r in kept]
        ys = [max(r["error_their_reference"], BLANCHARD_ERROR_FLOOR) for r in kept]
        ax.scatter(xs, ys, s=4, alpha=0.4, linewidths=0)
        # The bounds' range across, and up to the largest bound so that y = x shows.
        limits = (((min(xs) / 1.5, max(xs) * 1.5), (min(ys) / 1.5, max(max(ys), max(xs)) * 1.5))
                  if xs else None)
        log_log_identity(ax, xs, ys, limits)
        algorithms = join_names(unique(r["algorithm"] for r in kept))
        ax.set_title(f"Thm {theorem} ({algorithms}), {len(kept)} vectors", fontsize=8)
        ax.set_xlabel("bound (units of u)", fontsize=8)
        ax.set_ylabel("error, their reference (units of u)", fontsize=8)
    finish_figure(fig, axes, f"{type_}, MNIST: error against their bound (their protocol: "
                  f"reference = unshifted float32; floored at {BLANCHARD_ERROR_FLOOR:g} u)", path)


def paired_errors(rows, type_, x_algorithm, y_algorithm, column):
    """Per MNIST vector where both results pass their filter: (x's error, y's error)."""
    by_algorithm = defaultdict(dict)
    for r in rows:
        if r["type"] == type_ and r["source"] == "mnist" and \
                r["algorithm"] in (x_algorithm, y_algorithm):
            by_algorithm[r["algorithm"]][r["index"]] = r
    pairs = []
    for index, x_row in by_algorithm[x_algorithm].items():
        y_row = by_algorithm[y_algorithm].get(index)
        if y_row and len(plotted_vectors([x_row, y_row])) == 2 and \
                is_number(x_row[column]) and is_number(y_row[column]):
            pairs.append((x_row[column], y_row[column]))
    return pairs


PAIRS = ((THEIR_BASIC, THEIR_SHIFTED), (THEIR_SHIFTED, THEIR_SHIFTED_ALT))
REFERENCES = (("error_their_reference", "their reference (unshifted float32)"),
              ("error_exact", "exact reference (MPFR)"))


def plot_blanchard_pairs(rows, type_, path):
    fig, axes = plt.subplots(len(REFERENCES), len(PAIRS), figsize=(4.2 * len(PAIRS),
                                                                   3.8 * len(REFERENCES)),
                             squeeze=False)
    for (column, reference), axes_row in zip(REFERENCES, axes):
        for (x_algorithm, y_algorithm), ax in zip(PAIRS, axes_row):
            pairs = paired_errors(rows, type_, x_algorithm, y_algorithm, column)
            xs = [max(x, BLANCHARD_ERROR_FLOOR) for x, _ in pairs]
            ys = [max(y, BLANCHARD_ERROR_FLOOR) for _, y in pairs]
            ax.scatter(xs, ys, s=4, alpha=0.4, linewidths=0)
            log_log_identity(ax, xs, ys)
            ax.set_xlabel(f"{x_algorithm} error (u)", fontsize=8)
            ax.set_ylabel(f"{y_algorithm} error (u)", fontsize=8)
            ax.set_title(f"{reference}, {len(pairs)} vectors", fontsize=8)
    finish_figure(fig, list(axes.flat), f"{type_}, MNIST: per-vector errors (floored at "
                  f"{BLANCHARD_ERROR_FLOOR:g} u)", path)


# --- Blanchard, Higham & Higham (2021) -------------------------------------------------------------

def summary_table(summary, source):
    rows = []
    for r in summary:
        if r["source"] != source:
            continue
        rows.append([r["type"], r["algorithm"], r["theorem"] or "—",
                     f"{int(r['overflows'])}/{int(r['vectors'])}",
                     fmt_sig(r["max_error_their_reference"]),
                     fmt_sig(r["median_error_their_reference"]),
                     fmt_sig(r["max_error_exact"]), fmt_sig(r["median_error_exact"]),
                     fmt_sig(r["max_ulp"]), fmt_sig(r["max_error_exact_over_bound"])])
    if not rows:
        return None
    header = ["type", "algorithm", "Thm", "overflows/vectors",
              "max error, their protocol (reference = unshifted float32)",
              "median error, their protocol", "max error, exact reference",
              "median error, exact reference", "max ULP", "max error (exact) / bound"]
    # The summary writes nan where their reference does not apply (float, double).
    rows = [[c if c != "nan" else "—" for c in row] for row in rows]
    return md_table(header, rows)


def low_precision_types(rows):
    """The types where their reference applies (error_their_reference is a number)."""
    return unique(r["type"] for r in rows if r["source"] == "mnist"
                  and is_number(r["error_their_reference"]))


def ratio_text(a, b):
    if a is None or b is None:
        return "n/a"
    if b == 0:
        return "inf" if a > 0 else "1"
    return f"{a / b:.2f}"


def compare_medians(rows, type_, x_algorithm, y_algorithm, column):
    """(median x, median y, max x, max y, vectors) on the vectors where both pass the filter."""
    pairs = paired_errors(rows, type_, x_algorithm, y_algorithm, column)
    if not pairs:
        return None
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    return median(xs), median(ys), max(xs), max(ys), len(pairs)


def overflow_counts(rows, type_):
    """(vectors, vectors whose unshifted lse overflows, theirs:shifted results with NaN/inf)."""
    basic = [r for r in rows if r["type"] == type_ and r["source"] == "mnist"
             and r["algorithm"] == THEIR_BASIC]
    shifted = [r for r in rows if r["type"] == type_ and r["source"] == "mnist"
               and r["algorithm"] == THEIR_SHIFTED]
    return (len(basic), sum(1 for r in basic if r["their_lse_finite"] == 0),
            sum(1 for r in shifted if r["overflow"] == 1))


def verdict_word(holds):
    return "confirms" if holds else "does not confirm"


def exact_clause(rows, type_):
    """The shifted-against-unshifted medians once more, against the exact softmax."""
    exact = compare_medians(rows, type_, THEIR_BASIC, THEIR_SHIFTED, "error_exact")
    if not exact:
        return ""
    med_b, med_s = exact[0], exact[1]
    return (f"; against the exact softmax, medians {fmt_sig(med_s)} and {fmt_sig(med_b)} u, "
            f"ratio {ratio_text(med_s, med_b)}")


def blanchard_conclusion(rows, type_):
    """The paragraph on one low-precision type: shift, division-free, overflow, each checked."""
    sentences = []
    column = "error_their_reference"
    shift = compare_medians(rows, type_, THEIR_BASIC, THEIR_SHIFTED, column)
    if shift:
        med_b, med_s, max_b, max_s, count = shift
        holds = med_s <= ACCURACY_RATIO * med_b if med_b else med_s == 0
        sentences.append(
            f"On the {count} vectors where both are finite, the shifted softmax's median error "
            f"is {fmt_sig(med_s)} u against {fmt_sig(med_b)} u unshifted (ratio "
            f"{ratio_text(med_s, med_b)}; max {fmt_sig(max_s)} against {fmt_sig(max_b)}"
            f"{exact_clause(rows, type_)}): this {verdict_word(holds)} that shifting costs no "
            f"accuracy (median within a factor {ACCURACY_RATIO:g})")
    alt_ratios = []
    for base, alt in ((THEIR_BASIC, THEIR_BASIC_ALT), (THEIR_SHIFTED, THEIR_SHIFTED_ALT)):
        result = compare_medians(rows, type_, base, alt, column)
        if result:
            med_base, med_alt, max_base, max_alt, _ = result
            alt_ratios.append((alt, base, med_alt, med_base, max_alt, max_base))
    if alt_ratios:
        worse = all(m_alt > m_base for _, _, m_alt, m_base, _, _ in alt_ratios)
        details = "; ".join(f"{alt} median {fmt_sig(m_alt)} u against {base} {fmt_sig(m_base)} "
                            f"(max {fmt_sig(x_alt)} against {fmt_sig(x_base)})"
                            for alt, base, m_alt, m_base, x_alt, x_base in alt_ratios)
        sentences.append(f"Division-free: {details}: this {verdict_word(worse)} that the "
                         f"division-free formula is less accurate (a larger median in every pair)")
    vectors, basic_overflows, shifted_overflows = overflow_counts(rows, type_)
    if vectors:
        text = (f"The unshifted logsumexp overflows on {basic_overflows} of {vectors} vectors, "
                f"the shifted softmax on {shifted_overflows}")
        if type_ == PAPER_OVERFLOW_TYPE:
            holds = (basic_overflows == PAPER_BASIC_OVERFLOWS and vectors == PAPER_VECTORS
                     and shifted_overflows == PAPER_SHIFTED_OVERFLOWS)
            text += (f": this {verdict_word(holds)} the paper's {PAPER_BASIC_OVERFLOWS} of "
                     f"{PAPER_VECTORS} and {PAPER_SHIFTED_OVERFLOWS}")
        sentences.append(text)
    if not sentences:
        return None
    return f"**{type_}** (their protocol). " + ". ".join(sentences) + "."


# --- The report ----------------------------------------------------------------------------------

class Report:
    """Collects the Markdown and writes the figures into OUT/img."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.img_dir = os.path.join(out_dir, "img")
        os.makedirs(self.img_dir, exist_ok=True)
        self.parts = []
        self.written = []

    def add(self, text):
        self.parts.append(text.rstrip() + "\n")

    def figure(self, name, caption, draw):
        """Draws with draw(path) and links it; a failed plot is reported, not fatal."""
        path = os.path.join(self.img_dir, name)
        try:
            draw(path)
        except Exception as e:  # noqa: BLE001  (one bad plot must not lose the report)
            print(f"accuracy_report: warning: {name}: {e}", file=sys.stderr)
            self.add(f"*{caption}: plot failed ({e}).*")
            return
        self.written.append(path)
        self.add(f"![{caption}](img/{name})")

    def save(self):
        path = os.path.join(self.out_dir, "accuracy.md")
        write_atomically(path, "\n".join(self.parts))
        self.written.append(path)


def missing_text(problems, path):
    return problems.get(path, f"not run (file {path} missing)")


def section_answer(report, study, specials, primary):
    report.add("## The answer\n")
    report.add(" ".join([answer_safe(study, primary), answer_losses(study, primary),
                         answer_specials(study, specials, primary)]))


def data_checks(study):
    """What in the data looks wrong rather than measured: finite families whose exact answer
    is NaN (the generator produced NaN inputs)."""
    checks = []
    for type_ in study.types:
        for family in study.families_of(type_):
            if family in NAN_FAMILIES:
                continue
            cells = [study.rows(type_, v, family) for v in study.variants_of(type_)]
            if all(exact_is_nan(rows) for rows in cells if rows):
                checks.append(f"{type_} {family}: every exact result is NaN, so its inputs hold "
                              f"NaN (every kernel matches it; shown as \"exact NaN ⚠\")")
    return checks


def section_measured(report, document, paths, problems, study):
    report.add("## How this was measured\n")
    if document is None:
        report.add(missing_text(problems, paths["json"]) + ".")
    else:
        describe_run(report, document)
    checks = data_checks(study)
    if checks:
        report.add("**Data checks** (inputs that look wrong):\n\n"
                   + "\n".join(f"- {c}" for c in checks))


def describe_run(report, document):
    """The run's metadata, families, notes and errors, from accuracy.json."""
    meta = document.get("meta", {})

    def m(key):
        return str(meta.get(key, "unknown"))

    libraries = ", ".join(f"{k} {meta[k]}" for k in ("boost", "mpfr", "gmp", "xsimd") if k in meta)
    report.add(
        f"Run on {m('date')} on {m('hostname')} ({m('cpu')}, {m('threads')} threads), softlab "
        f"{m('softlab_version')} built with {m('compiler')}, {m('build_type')} "
        f"(`{m('build_flags')}`); libraries: {libraries}; peers: {m('peers')}. Reference: "
        f"{m('reference')}. Base seed {m('seed')} ({m('seed_rule')}). Command: "
        f"`{m('command_line')}`. The run took {m('elapsed_seconds')} s, of which "
        f"{m('reference_seconds')} s computing the exact reference.")
    families = document.get("families") or []
    if families:
        report.add("Families:\n\n" + "\n".join(f"- `{f.get('name')}`: {f.get('reason', '')}"
                                                for f in families))
    notes = document.get("notes") or []
    if notes:
        report.add("Notes:\n\n" + "\n".join(f"- {n}" for n in notes))
    errors = document.get("errors") or []
    if errors:
        report.add("**Errors** (cells left out of the tables):\n\n"
                   + "\n".join(f"- {e}" for e in errors))


def section_headline(report, study):
    report.add("## Headline tables\n")
    report.add(HEADLINE_LEGEND)
    main_types = [t for t in ("float", "double") if t in study.types]
    for type_ in main_types:
        report.add(f"### {type_}\n")
        report.add(headline_table(study, type_))
    others = [t for t in study.types if t not in main_types]
    if others:
        report.add(f"### Other types ({', '.join(others)})\n")
        report.add(compact_table(study, others))


def section_heatmaps(report, study):
    report.add("## Heatmaps\n")
    report.add(f"Colour: the largest max_ulp over the sizes n, on a log scale floored at "
               f"{HEATMAP_ULP_FLOOR:g} ULP (all results, subnormal ones included, unlike the "
               f"headline tables).")
    for type_ in study.types:
        report.figure(f"heatmap_{type_}.png", f"max ULP, {type_}",
                      lambda path, t=type_: plot_heatmap(study, t, path))


def section_elements(report, elements, colours, paths, problems):
    report.add("## Error against the distance below the max\n")
    if elements is None:
        report.add(missing_text(problems, paths["elements"]) + ".")
        return
    report.add(
        "Every element of one vector per (type, family): its ULP error against max x - x_i. "
        "Max-subtracting kernels lose accuracy as the distance grows (x - max rounds before exp "
        f"amplifies the rounding); the dashed line is {SAFE_ULP:g} ULP.")
    for type_ in unique(e["type"] for e in elements):
        report.figure(f"elements_{type_}.png", f"ULP error against distance below the max, "
                      f"{type_}", lambda path, t=type_: plot_elements(elements, t, colours, path))


def section_error_vs_n(report, study, colours):
    report.add("## Error against n\n")
    drawn = False
    for type_ in study.types:
        families = multi_n_families(study, type_)
        if families:
            drawn = True
            report.figure(f"error_vs_n_{type_}.png", f"max ULP against n, {type_}",
                          lambda path, t=type_, f=families:
                          plot_error_vs_n(study, t, f, colours, path))
    if not drawn:
        report.add("No family ran at more than one n.")
    single = unique(f for t in study.types for f in study.families_of(t, special=False)
                    if f not in multi_n_families(study, t))
    if single:
        report.add(f"Run at a single n (in the tables only): {', '.join(single)}.")


def section_condition(report, study, primary):
    report.add("## Condition\n")
    report.add(
        "kappa_i = |x_i| + sum_j g_j |x_j| is softmax's componentwise relative condition number "
        "(g the exact softmax), so error / (u kappa_i) near 1 means the error is what rounding the "
        "inputs alone would cause, and far above 1 that the algorithm adds its own "
        f"({primary}, finite families, results >= the smallest normal; cells with NaN/inf "
        "outputs left out).")
    rows = []
    for v in study.variants_of(primary):
        cells, left_out = [], 0
        for family in study.families_of(primary, special=False):
            family_cells = study.rows(primary, v, family)
            if bad_outputs(family_cells, family):
                left_out += len(family_cells)
            else:
                cells += family_cells
        value, row = largest(cells, "max_error_over_u_kappa")
        rows.append([variant_label(*v), fmt_sig(value), where(row) if row else "—",
                     fmt_sig(median(c.get("max_error_over_u_kappa") for c in cells)),
                     str(left_out)])
    report.add(md_table(["implementation", "max error / (u kappa)", "at", "median over cells",
                         "cells left out"], rows))


def section_blanchard(report, rows, summary, paths, problems):
    report.add("## Blanchard, Higham & Higham (2021) reproduction\n")
    report.add(
        "Their protocol, reproduced as-is: each of their MNIST logit vectors (n = 10) is "
        "rounded to the low precision, their four algorithms run in simulated arithmetic, and "
        "the error max|y - g| / (u max|g|) is taken against *their* reference, the unshifted "
        "algorithm in float32 on the rounded inputs. Beside it, the same metric against the "
        "exact MPFR softmax, and every registry kernel.")
    if summary is None:
        report.add(missing_text(problems, paths["summary"]) + ".")
    else:
        report.add("### MNIST (their data)\n")
        report.add(summary_table(summary, "mnist") or "No MNIST rows.")
    if rows is None:
        report.add(missing_text(problems, paths["blanchard"]) + ".")
    else:
        report.add("### Their figure, replicated\n")
        report.add("Only the vectors they plot: the unshifted logsumexp finite and the result "
                   "free of NaN/inf; dashed: y = x.")
        types = low_precision_types(rows)
        for type_ in types:
            report.figure(f"blanchard_bounds_{type_}.png", f"error against bound, {type_}",
                          lambda path, t=type_: plot_blanchard_bounds(rows, t, path))
            report.figure(f"blanchard_pairs_{type_}.png", f"shifted against basic, {type_}",
                          lambda path, t=type_: plot_blanchard_pairs(rows, t, path))
        report.add("### Conclusion\n")
        paragraphs = [p for p in (blanchard_conclusion(rows, t) for t in types) if p]
        report.add("\n\n".join(paragraphs) if paragraphs else
                   "No low-precision MNIST rows to conclude from.")
    if summary is not None:
        report.add("### The extreme families (n = 10)\n")
        report.add(summary_table(summary, "families") or "No family rows.")


def section_specials(report, document, paths, problems):
    report.add("## Special values\n")
    if document is None:
        report.add(missing_text(problems, paths["json"]) + ".")
        return
    specials = document.get("special_values") or []
    if not specials:
        report.add(f"not run (no special_values in {paths['json']}).")
        return
    report.add(f"The softmax each kernel returns; ✓ equal to `expected` (NaN equals NaN), ≈ "
               f"equal within {CLOSE_ULPS} ULPs of the type, ✗ different.")
    types = unique(s.get("type") for s in specials)
    for type_ in sorted(types, key=lambda t: (t != "float", t != "double", types.index(t))):
        table = special_section(specials, type_)
        if table:
            report.add(f"### {type_}\n")
            report.add(table)


def section_reproduce(report, document, data_dir, out_dir):
    command = (document or {}).get("meta", {}).get("command_line")
    report.add("## Reproduce\n")
    report.add((f"`{command}`, `softlab blanchard --out {data_dir}` (the Blanchard files), then "
                if command else "") +
               f"`scripts/accuracy_report --data {data_dir} --out {out_dir}`.")


def build_report(data_dir, out_dir):
    paths = {"csv": os.path.join(data_dir, "accuracy.csv"),
             "json": os.path.join(data_dir, "accuracy.json"),
             "elements": os.path.join(data_dir, "accuracy_elements.csv"),
             "blanchard": os.path.join(data_dir, "blanchard.csv"),
             "summary": os.path.join(data_dir, "blanchard_summary.csv")}
    cells = read_accuracy_cells(paths["csv"])  # required: InputError ends the run
    problems = {}
    document = load_optional(read_json, paths["json"], problems)
    elements = load_optional(lambda p: read_csv(p, ELEMENT_COLUMNS, ELEMENT_COLUMNS[:4]),
                             paths["elements"], problems)
    blanchard = load_optional(lambda p: read_csv(p, BLANCHARD_COLUMNS,
                                                 ("source", "type", "algorithm", "theorem")),
                              paths["blanchard"], problems)
    summary = load_optional(lambda p: read_csv(p, SUMMARY_COLUMNS,
                                               ("source", "type", "algorithm", "theorem")),
                            paths["summary"], problems)

    family_order = [f.get("name") for f in (document or {}).get("families") or []]
    study = Study(cells, family_order)
    specials = (document or {}).get("special_values") or []
    primary = "float" if "float" in study.types else study.types[0]
    colours = variant_colours(unique(study.variants + [(e["implementation"], e["isa"])
                                                       for e in elements or []]))

    report = Report(out_dir)
    report.add("# softlab: softmax accuracy report")
    section_answer(report, study, specials, primary)
    section_measured(report, document, paths, problems, study)
    section_headline(report, study)
    section_heatmaps(report, study)
    section_elements(report, elements, colours, paths, problems)
    section_error_vs_n(report, study, colours)
    section_condition(report, study, primary)
    section_blanchard(report, blanchard, summary, paths, problems)
    section_specials(report, document, paths, problems)
    section_reproduce(report, document, data_dir, out_dir)
    report.save()
    return report.written


def main():
    parser = argparse.ArgumentParser(
        description="Write OUT/accuracy.md and OUT/img/*.png from the accuracy study's files.")
    parser.add_argument("--data", default=os.path.join("report", "data"),
                        help="directory of accuracy.csv and the other inputs (default: report/data)")
    parser.add_argument("--out", default="report",
                        help="directory of accuracy.md; plots go to OUT/img (default: report)")
    args = parser.parse_args()
    try:
        written = build_report(args.data, args.out)
    except InputError as e:
        sys.exit(f"accuracy_report: {e}")
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
