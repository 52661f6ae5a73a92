"""Verdicts on the study's cells: contract failures (NaN, inf, a hidden NaN), the worst
error per implementation, "safe", the headline tables' cells and the answer's sentences.
"""

from collections import defaultdict

from softlab_report.accuracy_data import largest, outputs, total, variant_label
from softlab_report.output import fmt_ulp, join_names, md_table, unique
from softlab_report.special_values import CLOSE_ULPS, special_outcome

# "Safe": every result with an exact value >= the smallest normal within this many ULPs, and no
# NaN or inf where the exact answer is finite.
SAFE_ULP = 10.0


# Rows up to this length are "attention-sized" (a context's keys; the study's sizes 10 and
# 1000); longer rows are where the summation error of a sequential or few-lane sum dominates.
ROW_SIZE_LIMIT = 1000


def exact_is_nan(rows):
    """Every output NaN and every one matching the exact result (max_ulp 0: NaN against a
    number scores inf): the exact answer itself is NaN, i.e. the inputs hold a NaN."""
    return bool(rows) and total(rows, "nan_count") == outputs(rows) and \
        all(r.get("max_ulp") == 0 for r in rows)


def bad_outputs(rows, nan_family):
    """A short word for the contract failure of a family's cells, or None: "NaN"/"inf" where
    the exact answer is finite, or for the NaN family the share of outputs that are not NaN."""
    nan, inf = total(rows, "nan_count"), total(rows, "inf_count")
    if nan_family:
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
        failure = bad_outputs(rows, study.is_nan_family(family))
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


def headline_cell(rows, nan_family):
    """max over n of max_ulp_normal, or what went wrong; † flushed, ‡ a nonzero for an exact 0."""
    if not rows:
        return "—"
    failure = bad_outputs(rows, nan_family)
    if nan_family:
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
    rows = [[variant_label(*v)] + [headline_cell(study.rows(type_, v, f), study.is_nan_family(f))
                                   for f in families]
            for v in study.variants_of(type_)]
    return md_table(["implementation"] + families, rows)


def compact_table(study, types):
    families = [f for f in study.families if any(f in study.families_of(t) for t in types)]
    rows = [[t, variant_label(*v)] + [headline_cell(study.rows(t, v, f), study.is_nan_family(f))
                                      for f in families]
            for t in types for v in study.variants_of(t)]
    return md_table(["type", "implementation"] + families, rows)


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
        _, kinds = special_outcome(entry, study.vocabulary.precision_bits.get(type_))
        for kind in kinds:
            failures[(entry["implementation"], entry.get("isa", "-"))][kind].append(entry["input"])
    for family in study.families_of(type_, special=True):
        for v in study.variants_of(type_):
            rows = study.rows(type_, v, family)
            failure = bad_outputs(rows, study.is_nan_family(family))
            if failure:
                kind = "hides NaN" if study.is_nan_family(family) else failure
                failures[v][kind].append(f"{family} ({failure})" if kind == "hides NaN"
                                         else family)
            elif total(rows, "wrong_nonzero_count"):  # (NaN/inf already said so)
                failures[v]["weight on a masked entry"].append(family)
    return failures


# Differences from `expected` that are accuracy, not the special-value rules: mentioned, not
# counted against the contract.
ACCURACY_KINDS = {"flush": "flushing subnormal results to 0",
                  "far": f"errors beyond {CLOSE_ULPS} ULP"}


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


def data_checks(study):
    """What in the data looks wrong rather than measured: finite families whose exact answer
    is NaN (the generator produced NaN inputs)."""
    checks = []
    for type_ in study.types:
        for family in study.families_of(type_):
            if study.is_nan_family(family):
                continue
            cells = [study.rows(type_, v, family) for v in study.variants_of(type_)]
            if all(exact_is_nan(rows) for rows in cells if rows):
                checks.append(f"{type_} {family}: every exact result is NaN, so its inputs hold "
                              f"NaN (every kernel matches it; shown as \"exact NaN ⚠\")")
    return checks


def multi_n_families(study, type_):
    """The finite families run at more than one n (the special ones' answer is a limit)."""
    return [f for f in study.families_of(type_, special=False)
            if len({c["n"] for v in study.variants_of(type_) for c in study.rows(type_, v, f)}) > 1]


NARROW_LEGEND = (
    "Per implementation: the largest max_ulp_normal over the finite families (ULPs of the 16-bit "
    "type) and where; how many results are not correctly rounded (error above 0.5 ULP) out of "
    "all results of every family; and the families where it breaks the contract (NaN or inf "
    "where the exact answer is finite; on the NaN family, outputs that are not NaN).")


def narrow_storage_table(study, type_):
    """One row per variant: worst finite max ULP and where, results not correctly rounded, and
    the families where the contract fails."""
    rows = []
    for variant in study.variants_of(type_):
        worst, worst_row, failures = finite_verdict(study, type_, variant)
        cells = [r for f in study.families_of(type_) for r in study.rows(type_, variant, f)]
        special_failures = [(f, bad_outputs(study.rows(type_, variant, f), study.is_nan_family(f)))
                            for f in study.families_of(type_, special=True)]
        failures += [(f, word) for f, word in special_failures if word]
        not_rounded = total(cells, "not_correctly_rounded_count")
        rows.append([variant_label(*variant),
                     fmt_ulp(worst) if worst is not None else "—",
                     where(worst_row) if worst_row else "—",
                     f"{int(not_rounded)} of {outputs(cells)}",
                     "; ".join(f"{f}: {word}" for f, word in failures) or "none"])
    return md_table(["implementation", "max ULP (finite)", "where", "not correctly rounded",
                     "contract failures"], rows)
