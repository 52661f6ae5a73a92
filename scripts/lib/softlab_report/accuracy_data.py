"""Reading and checking the accuracy study's files, and the study's cells indexed.

accuracy.csv is required; accuracy.json, accuracy_elements.csv, blanchard.csv and
blanchard_summary.csv are optional (a missing or malformed one is named in the report). Every
error names the file, and the line and column where there is one.
"""

import csv
import json
import math
import os
import statistics
import sys
from collections import defaultdict

from softlab_report.output import is_number, unique

# The kinds of family the study writes (softlab_accuracy/families.hpp, family_kind): "finite"
# and "wide" hold finite scores only; the others test the contract's special-value rules:
# "masks" (-inf entries), "pos_inf" (a +inf), "nan" (a NaN: every exact output is NaN).
FINITE_KIND = "finite"
SPECIAL_KINDS = ("masks", "pos_inf", "nan")
NAN_KIND = "nan"

# The columns the report cannot do without; the others may be absent (older runs).
# The columns the report cannot do without; the others may be absent (older runs).
ACCURACY_REQUIRED = ("implementation", "type", "isa", "family", "n", "vectors", "max_ulp",
                     "max_ulp_normal", "nan_count", "inf_count", "wrong_zero_count")
ACCURACY_TEXT = ("implementation", "origin", "type", "isa", "family", "worst_x", "worst_y",
                 "worst_exact", "seed", "family_kind", "family_sizes", "type_ieee_storage")
ELEMENT_COLUMNS = ("implementation", "type", "isa", "family", "distance_below_max", "ulp", "kappa")
BLANCHARD_COLUMNS = ("source", "index", "type", "algorithm", "theorem", "bound",
                     "error_their_reference", "error_exact", "max_ulp", "overflow",
                     "their_lse_finite")
SUMMARY_COLUMNS = ("source", "type", "algorithm", "theorem", "vectors", "overflows", "measured",
                   "max_error_their_reference", "median_error_their_reference", "max_error_exact",
                   "median_error_exact", "max_ulp", "median_ulp", "max_error_exact_over_bound")


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
    # A family's kind and a type's precision are facts of the name: one value per name.
    for key, column in (("family", "family_kind"), ("family", "family_sizes"),
                        ("type", "type_precision_bits"), ("type", "type_ieee_storage")):
        seen = {}
        for line_number, row in enumerate(rows, start=2):
            if column not in row:
                break
            first = seen.setdefault(row[key], (row[column], line_number))
            if first[0] != row[column]:
                raise InputError(f"{path}: line {line_number}, column {column}: {row[column]!r} "
                                 f"for {key} {row[key]}, but {first[0]!r} on line {first[1]}")
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


def variant_label(implementation, isa):
    """xsimd on avx2 is "xsimd (avx2)"; scalar ("-") and peers ("native") are just the name."""
    return implementation if isa in ("", "-", "native") else f"{implementation} ({isa})"


class Vocabulary:
    """What the study's files say about their own names: each family's kind and size class,
    each type's precision and storage. From the CSV's columns (family_kind, family_sizes,
    type_precision_bits, type_ieee_storage) and, for what the CSV lacks, accuracy.json's
    "families" and "types". A family the data does not classify counts as finite; a type
    without a precision is compared exactly in the special-value table."""

    def __init__(self, cells=(), document=None):
        self.family_kind, self.family_sizes = {}, {}
        self.precision_bits, self.ieee_storage, self.storage_bits = {}, {}, {}
        for entry in (document or {}).get("families") or []:
            if isinstance(entry, dict) and entry.get("name"):
                self._add_family(entry["name"], entry.get("kind"), entry.get("sizes"))
        for entry in (document or {}).get("types") or []:
            if isinstance(entry, dict) and entry.get("name"):
                self._add_type(entry["name"], entry.get("precision_bits"),
                               entry.get("ieee_storage"))
                if is_number(entry.get("storage_bits")):
                    self.storage_bits.setdefault(entry["name"], int(entry["storage_bits"]))
        for c in cells:
            self._add_family(c["family"], c.get("family_kind"), c.get("family_sizes"))
            self._add_type(c["type"], c.get("type_precision_bits"), c.get("type_ieee_storage"))

    def _add_family(self, family, kind, sizes):
        if kind:
            self.family_kind.setdefault(family, kind)
        if sizes:
            self.family_sizes.setdefault(family, sizes)

    def _add_type(self, type_, bits, ieee):
        if is_number(bits):
            self.precision_bits.setdefault(type_, int(bits))
        if ieee is not None and ieee != "":
            self.ieee_storage.setdefault(type_, ieee in (True, "true", 1, 1.0))

    def kind(self, family):
        return self.family_kind.get(family, FINITE_KIND)

    def is_special(self, family):
        return self.kind(family) in SPECIAL_KINDS

    def is_nan_family(self, family):
        return self.kind(family) == NAN_KIND

    def main_types(self, types):
        """The types stored as IEEE interchange bits (the hardware's float and double), in the
        data's order: the headline tables show them in full, the special values first."""
        return [t for t in types if self.ieee_storage.get(t)]

    def narrow_storage_types(self, types):
        """The types stored as 16-bit IEEE-style bits (bfloat16, float16), in the data's order:
        accuracy.json's "types" gives each its storage_bits."""
        return [t for t in types if self.storage_bits.get(t) == 16]

    def primary_type(self, types):
        """The type the answer speaks of: the first main type, else the first type."""
        main = self.main_types(types)
        return main[0] if main else (types[0] if types else None)


class Study:
    """accuracy.csv indexed by (type, variant, family); a variant is (implementation, isa)."""

    def __init__(self, cells, family_order, vocabulary=None):
        self.cells = cells
        self.vocabulary = vocabulary or Vocabulary(cells)
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
                and (special is None or self.vocabulary.is_special(f) == special)]

    def is_nan_family(self, family):
        return self.vocabulary.is_nan_family(family)


def outputs(rows):
    return sum(r["n"] * r["vectors"] for r in rows)
