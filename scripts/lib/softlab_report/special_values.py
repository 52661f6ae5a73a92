"""The special-values table: what each kernel returns for all -inf, +inf, NaN and the other
special inputs of accuracy.json, against the contract's expected vector, in exact decimal
arithmetic (bin100's results have about 100 digits).
"""

import decimal
import math

from softlab_report.accuracy_data import InputError, variant_label
from softlab_report.output import fmt_ulp, md_table, unique

CLOSE_ULPS = 4  # "equal up to rounding" (≈) in the special-value table: within this many ULPs

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


def compare_values(expected, got, precision_bits, log_scale=False):
    """(mark, set of failure kinds, largest distance in units) of a computed vector against the
    expected one. ✓ equal (NaN equals NaN); ≈ within CLOSE_ULPS units; ✗ otherwise, with the
    kinds "NaN" (NaN where a number is expected), "hides NaN", "inf", "flush" (0 for a nonzero),
    "wrong" (a number for 0 or an infinity) and "far" (a nonzero number farther than CLOSE_ULPS
    units from a nonzero expected one: accuracy, not the contract's rules). The unit is the
    type's ULP at the expected value for softmax, u max(1, |expected|) for log_softmax and
    logsumexp (log_scale), as the study measures them. precision_bits is the type's p (the
    study's files carry it); None compares exactly."""
    if len(expected) != len(got):
        return "✗", {"wrong"}, None
    p = precision_bits
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


def special_outcome(entry, precision_bits):
    """(cell text, failure kinds) of one special_values entry, in a type of precision_bits."""
    softmax = entry.get("softmax")
    error = entry.get("error")
    if isinstance(softmax, str):  # the tool writes "error: ..." in place of the list
        error = error or softmax
    if error or not isinstance(softmax, list) or not softmax:
        return f"threw: {error or 'no output'} ✗", {"threw"}
    mark, kinds, distance = compare_values(entry.get("expected", []), softmax, precision_bits)
    return f"{compact_vector(softmax)} {mark_text(mark, kinds, distance, 'ULP')}", kinds


def log_mismatches(entry, precision_bits):
    """log_softmax and logsumexp outputs that differ from their expected values by more than
    CLOSE_ULPS units ("unsupported" and absent outputs are skipped)."""
    found = []
    outputs_ = (("log_softmax", entry.get("log_softmax"), entry.get("expected_log_softmax")),
                ("logsumexp", [entry.get("logsumexp")], [entry.get("expected_logsumexp")]))
    for name, got, expected in outputs_:
        if not isinstance(got, list) or not got or not isinstance(got[0], str) \
                or got[0] in ("", "unsupported") or not expected or expected[0] is None:
            continue
        mark, kinds, distance = compare_values(expected, got, precision_bits, log_scale=True)
        if mark == "✗":
            far = f", {fmt_ulp(float(distance))} u away" if "far" in kinds else ""
            found.append(f"{name} {compact_values(got)} (expected {compact_values(expected)}"
                         f"{far})")
    return found


def special_section(specials, type_, precision_bits):
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
            row.append(special_outcome(entry, precision_bits)[0] if entry else "—")
            for mismatch in (log_mismatches(entry, precision_bits) if entry else []):
                notes.append(f"{variant_label(*variant)} on {input_}: {mismatch}")
        rows.append(row)
    expected = ["expected"] + [compact_vector(next(s for s in entries if s["input"] == i)
                                              ["expected"]) for i in inputs]
    text = md_table(["implementation"] + inputs, [expected] + rows)
    if notes:
        text += ("\n\nlog_softmax / logsumexp differing from the expected value on these "
                 "inputs:\n\n" + "\n".join(f"- {n}" for n in notes))
    return text
