"""Blanchard, Higham & Higham (2021) reproduced: their protocol's tables, the per-vector pairs
their figure plots, and the conclusion checked against what the paper reports.
"""

from collections import defaultdict

from softlab_report.accuracy_data import median
from softlab_report.output import fmt_sig, is_number, md_table, unique

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


def plotted_vectors(rows):
    """Their filter: the unshifted lse finite, and this result free of NaN/inf."""
    return [r for r in rows if r["their_lse_finite"] == 1 and r["overflow"] == 0]


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
