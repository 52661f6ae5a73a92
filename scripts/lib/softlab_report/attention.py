"""The attention section of the accuracy report, from DATA/attention.csv and attention.json
(`softlab accuracy --attention`).

Nothing here lists implementations, families or types: the rows come from the data, and so do
each family's description and kind, each type's precision, whether an implementation has a
stated bound (meets_contract) and which softmax it runs (softmax). The one rule this module
knows is the registry's naming rule: the materialized form of softmax S is "materialized:S"
(softlab/attention_registry.hpp); the question "does a fused implementation lose accuracy
against materializing the logits?" is answered for every other softlab entry against it.
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from softlab_report.accuracy_data import median, read_csv  # noqa: E402
from softlab_report.output import fmt_sig, is_number, md_table, save_figure, unique  # noqa: E402

ATTENTION_REQUIRED = ("implementation", "type", "isa", "family", "meets_contract",
                      "max_componentwise_u", "median_componentwise_u", "max_ratio_to_bound",
                      "over_bound_count", "nan_count", "masked_rows", "masked_rows_zero",
                      "masked_rows_nan")
ATTENTION_TEXT = ("implementation", "origin", "meets_contract", "softmax", "type", "isa",
                  "family", "family_kind", "family_description", "causal", "mask",
                  "worst_computed", "worst_exact", "shape", "seed")
MATERIALIZED_PREFIX = "materialized:"
# Errors of 0 are drawn at this floor of the log scale (in u of the type).
COMPONENTWISE_FLOOR = 1e-3


def read_attention_cells(path):
    rows = read_csv(path, ATTENTION_REQUIRED, ATTENTION_TEXT)
    for row in rows:
        row["bounded"] = row["meets_contract"] == "true"
    return rows


def label(row):
    """implementation@isa for a vectorized softlab entry; the name alone otherwise."""
    return row["implementation"] if row["isa"] in ("", "-", "native") else \
        f"{row['implementation']}@{row['isa']}"


class AttentionStudy:
    """attention.csv indexed by (type, label, family)."""

    def __init__(self, cells, document=None):
        self.cells = cells
        self.document = document or {}
        order = [t.get("name") for t in self.document.get("types") or []]
        present = unique(c["type"] for c in cells)
        self.types = [t for t in order if t in present] + [t for t in present if t not in order]
        self.labels = unique(label(c) for c in cells)
        family_order = [f.get("name") for f in self.document.get("families") or []]
        present = unique(c["family"] for c in cells)
        self.families = [f for f in family_order if f in present] + \
            [f for f in present if f not in family_order]
        self.index = {(c["type"], label(c), c["family"]): c for c in cells}
        self.description = {}
        for c in cells:
            self.description.setdefault(c["family"], c.get("family_description", ""))

    def cell(self, type_, label_, family):
        return self.index.get((type_, label_, family))

    def of_type(self, type_):
        return [c for c in self.cells if c["type"] == type_]

    def labels_of(self, type_):
        return [v for v in self.labels if any(self.cell(type_, v, f) for f in self.families)]


def fmt_u(v):
    return "—" if v is None else fmt_sig(v)


def componentwise_table(study, type_):
    """Label x family: the max componentwise error in u (the median in parentheses)."""
    rows = []
    for v in study.labels_of(type_):
        row = [v]
        for f in study.families:
            c = study.cell(type_, v, f)
            row.append("" if c is None else
                       f"{fmt_u(c['max_componentwise_u'])} ({fmt_u(c['median_componentwise_u'])})")
        rows.append(row)
    return md_table(["implementation"] + study.families, rows)


def ratio_table(study, type_):
    """Label x family: the max error / allowed (bounded implementations only)."""
    rows = []
    for v in study.labels_of(type_):
        cells = [study.cell(type_, v, f) for f in study.families]
        if not any(c and c["bounded"] for c in cells):
            continue
        rows.append([v] + ["" if c is None else
                           fmt_sig(c["max_ratio_to_bound"]) +
                           (f" **{int(c['over_bound_count'])} over**"
                            if (c["over_bound_count"] or 0) > 0 else "")
                           for c in cells])
    return md_table(["implementation"] + study.families, rows) if rows else ""


def other_metrics_table(study, type_):
    """Per label over the families: ULPs (no cancellation), NaN outputs, logsumexp error."""
    rows = []
    for v in study.labels_of(type_):
        cells = [c for c in (study.cell(type_, v, f) for f in study.families) if c]
        ulps = [c.get("max_ulp") for c in cells if (c.get("ulp_elements") or 0) > 0]
        lse = [c.get("max_logsumexp_error") for c in cells]
        lse_ratio = [c.get("max_logsumexp_ratio") for c in cells]
        rows.append([v,
                     fmt_sig(max((u for u in ulps if is_number(u)), default=None)),
                     fmt_sig(median(c.get("median_ulp") for c in cells
                                    if (c.get("ulp_elements") or 0) > 0)),
                     str(sum(int(c.get("nan_count") or 0) for c in cells)),
                     fmt_sig(max((x for x in lse if is_number(x)), default=None))
                     if any(is_number(x) for x in lse) else "unsupported",
                     fmt_sig(max((x for x in lse_ratio if is_number(x)), default=None))])
    return md_table(["implementation", "max ULP", "median ULP", "NaN outputs (exact not NaN)",
                     "max logsumexp error", "logsumexp error / allowed"], rows)


def masked_rows_text(cells):
    """What an implementation returned on fully masked rows, over the given cells."""
    total = sum(int(c.get("masked_rows") or 0) for c in cells)
    if total == 0:
        return None
    zero = sum(int(c.get("masked_rows_zero") or 0) for c in cells)
    nan = sum(int(c.get("masked_rows_nan") or 0) for c in cells)
    parts = []
    if zero:
        parts.append(f"0 on {zero}/{total}")
    if nan:
        parts.append(f"NaN on {nan}/{total}")
    if total - zero - nan > 0:
        parts.append(f"other on {total - zero - nan}/{total}")
    return ", ".join(parts)


def masked_rows_table(study):
    rows = []
    for v in study.labels:
        texts = [masked_rows_text([c for c in study.of_type(t) if label(c) == v])
                 for t in study.types]
        if any(texts):
            rows.append([v] + [t or "—" for t in texts])
    return md_table(["implementation"] + study.types, rows) if rows else ""


def bound_answer(study):
    """The sentence on the stated bound, from the bounded cells."""
    bounded = [c for c in study.cells if c["bounded"]]
    if not bounded:
        return "No implementation with a stated bound was measured."
    over = [c for c in bounded if (c["over_bound_count"] or 0) > 0]
    elements = sum(int(c.get("elements") or 0) for c in bounded)
    if over:
        listed = "; ".join(f"{label(c)} {c['type']} {c['family']}: {int(c['over_bound_count'])} "
                           f"elements (max error / allowed {fmt_sig(c['max_ratio_to_bound'])})"
                           for c in over)
        return (f"**Finding: the stated bound was exceeded** in {len(over)} of {len(bounded)} "
                f"cells: {listed}.")
    worst = max(bounded, key=lambda c: c["max_ratio_to_bound"]
                if is_number(c["max_ratio_to_bound"]) else -1)
    return (f"Every implementation with a stated bound stayed within it on all {elements} "
            f"measured output elements; the closest was {label(worst)} on {worst['type']} "
            f"{worst['family']} at {fmt_sig(worst['max_ratio_to_bound'])} of the bound.")


def ratio_of(a, b):
    if not (is_number(a) and is_number(b)) or b == 0:
        return None
    return a / b


def widest_label(study, implementation, isa=None):
    """The label of an implementation with the given ISA when it ran on it, else its last (the
    widest ISA: the study runs them narrowest first)."""
    labels = unique(label(c) for c in study.cells if c["implementation"] == implementation)
    same = [v for v in labels if isa and v.endswith("@" + isa)]
    return (same or labels)[-1]


def fused_pairs(study):
    """(implementation, materialized) label pairs: every softlab entry with a bound that is not
    materialized:S against every materialized entry, materialized:S of the softmax S it names
    first; each implementation once, on its widest ISA (the materialized entry on the same ISA
    when it has it)."""
    names = unique(c["implementation"] for c in study.cells)
    materialized_names = [n for n in names if n.startswith(MATERIALIZED_PREFIX)]
    pairs = []
    for name in names:
        first = next(c for c in study.cells if c["implementation"] == name)
        if name.startswith(MATERIALIZED_PREFIX) or not first["bounded"]:
            continue
        v = widest_label(study, name)
        isa = next(c["isa"] for c in study.cells if label(c) == v)
        own = MATERIALIZED_PREFIX + first.get("softmax", "")
        for other in sorted(materialized_names, key=lambda n: n != own):
            pairs.append((v, widest_label(study, other, isa)))
    return pairs


def comparison(study, fused, materialized, type_):
    """Over the families where both ran: the ratios of the medians and of the maxima."""
    medians, maxima = [], []
    for f in study.families:
        a, b = study.cell(type_, fused, f), study.cell(type_, materialized, f)
        if not a or not b:
            continue
        m = ratio_of(a["median_componentwise_u"], b["median_componentwise_u"])
        x = ratio_of(a["max_componentwise_u"], b["max_componentwise_u"])
        if m is not None:
            medians.append(m)
        if x is not None:
            maxima.append(x)
    return medians, maxima


def fmt_times(v):
    return "—" if v is None else f"{fmt_sig(v)}x"


def fmt_range(values):
    if not values:
        return "—"
    low, high = min(values), max(values)
    return fmt_times(low) if fmt_sig(low) == fmt_sig(high) else \
        f"{fmt_times(low)} – {fmt_times(high)}"


def comparison_section(study):
    """The table and the sentences comparing each implementation with the materialized ones,
    from the data."""
    pairs = fused_pairs(study)
    rows, sentences = [], []
    for fused in unique(f for f, _ in pairs):
        against = [m for f, m in pairs if f == fused]
        per_type = {}  # type -> [(materialized, median of median ratios, median of max ratios)]
        for materialized in against:
            for t in study.types:
                medians, maxima = comparison(study, fused, materialized, t)
                if not medians and not maxima:
                    continue
                rows.append([fused, materialized, t, str(len(medians)),
                             fmt_times(median(medians)), fmt_range(medians),
                             fmt_times(median(maxima)), fmt_range(maxima)])
                per_type.setdefault(t, []).append((materialized, median(medians),
                                                   median(maxima)))
        if not per_type:
            continue
        own = against[0]
        parts = [f"{fmt_times(m)} (median error) and {fmt_times(x)} (max error) in {t}"
                 for t, entries in per_type.items() for name, m, x in entries if name == own]
        text = (f"{fused}'s componentwise error over {own}'s (the materialized entry of the "
                f"softmax it names), the median over the families of the per-family ratio: "
                f"{'; '.join(parts)}: {verdict_of(study, fused, own)}.")
        if len(against) > 1:
            spans = []
            for t, entries in per_type.items():
                m = [e[1] for e in entries if e[1] is not None]
                x = [e[2] for e in entries if e[2] is not None]
                spans.append(f"{fmt_range(m)} (median) and {fmt_range(x)} (max) in {t}")
            text += (f" Over all {len(against)} materialized entries the same ratios are "
                     f"{'; '.join(spans)}.")
        sentences.append(text)
    if not rows:
        return "", ""
    table = md_table(["implementation", "against", "type", "families", "median error ratio",
                      "range", "max error ratio", "range"], rows)
    return table, " ".join(sentences)


def verdict_of(study, fused, materialized):
    """Per type: as accurate (both median ratios within [0.5, 2]), more or less accurate."""
    by_verdict = {}
    for t in study.types:
        medians, maxima = comparison(study, fused, materialized, t)
        ratios = [r for r in (median(medians), median(maxima)) if r is not None]
        if not ratios:
            continue
        if all(0.5 <= r <= 2 for r in ratios):
            verdict = f"as accurate as {materialized} (within a factor 2)"
        elif all(r <= 2 for r in ratios):
            verdict = f"more accurate than {materialized}"
        elif all(r >= 0.5 for r in ratios):
            verdict = f"less accurate than {materialized}"
        else:
            verdict = f"neither uniformly more nor less accurate than {materialized}"
        by_verdict.setdefault(verdict, []).append(t)
    return "; ".join(f"{fused} is {verdict} in {', '.join(types)}"
                     for verdict, types in by_verdict.items())


def masked_answer(study):
    """Who returns what on fully masked rows, in one sentence."""
    by_text = {}
    for v in study.labels:
        text = masked_rows_text([c for c in study.cells if label(c) == v])
        if text:
            by_text.setdefault(text, []).append(v)
    if not by_text:
        return ""
    if len(by_text) == 1:
        text, names = next(iter(by_text.items()))
        return (f"On fully masked rows (exact O = 0, the contract's answer) every implementation "
                f"measured ({len(names)}) returned {text} rows, over every type.")
    parts = [f"{', '.join(names)}: {text} rows" for text, names in by_text.items()]
    return ("On fully masked rows (exact O = 0, the contract's answer), over every type: "
            + "; ".join(parts) + ".")


def plot_componentwise(study, path, column="max_componentwise_u", ylabel=None):
    """One panel per type: family on x, the column on a log scale, one marker per label."""
    types = study.types
    fig, axes = plt.subplots(1, len(types), figsize=(5.2 * len(types), 4.6), sharey=True,
                             squeeze=False)
    cmap = plt.get_cmap("tab20")
    colours = {v: cmap(i % cmap.N) for i, v in enumerate(study.labels)}
    markers = "os^vD<>ph*"
    for ax, t in zip(axes[0], types):
        labels = study.labels_of(t)
        width = 0.8 / max(1, len(labels))
        for i, v in enumerate(labels):
            xs, ys, bad = [], [], []
            for j, f in enumerate(study.families):
                c = study.cell(t, v, f)
                if c is None or not is_number(c.get(column)):
                    continue
                x = j - 0.4 + (i + 0.5) * width
                value = c[column]
                if math.isinf(value):
                    bad.append(x)
                    continue
                xs.append(x)
                ys.append(max(value, COMPONENTWISE_FLOOR))
            ax.scatter(xs, ys, s=18, color=colours[v], marker=markers[i % len(markers)],
                       label=v, zorder=3)
            if bad:
                ax.scatter(bad, [1e6] * len(bad), s=30, color=colours[v], marker="x", zorder=3)
        ax.set_yscale("log")
        ax.set_xticks(range(len(study.families)), study.families, rotation=45, ha="right",
                      fontsize=8)
        ax.set_title(t)
        ax.grid(True, which="major", axis="y", alpha=0.3)
        if column == "max_ratio_to_bound":
            ax.axhline(1, color="black", linestyle="--", linewidth=0.8)
    axes[0][0].set_ylabel(ylabel or "max componentwise error / u of the type")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def describe(document):
    meta = (document or {}).get("meta") or {}
    if not meta:
        return ""
    return (f"Run on {meta.get('date', 'unknown')} on {meta.get('cpu', 'unknown')} "
            f"({meta.get('threads', '?')} threads), {meta.get('build_type', '?')} build; peers: "
            f"{meta.get('peers', 'none')}; base seed {meta.get('seed', '?')} "
            f"({meta.get('seed_rule', '')}). Command: `{meta.get('command_line', '?')}`; "
            f"{meta.get('elapsed_seconds', '?')} s, of which {meta.get('reference_seconds', '?')} "
            f"s the exact reference ({meta.get('reference', '')}).")


def section(report, cells, document, missing):
    """Adds "## Attention" to the report (a Report of accuracy_page)."""
    report.add("## Attention\n")
    if cells is None:
        report.add(f"{missing}. Run `softlab accuracy --attention` (scripts/study does).")
        return
    study = AttentionStudy(cells, document)
    report.add(
        "O = softmax(scale Q K^T + mask) V for every attention implementation of the registry "
        "(vectorized ones once per instruction set, as name@isa) and every attention peer, on "
        "each storage type; sampled query rows against the exact row of "
        "softlab_reference/attention.hpp. The error of O_c is componentwise: |O_hat_c - O_c| / "
        "sum_j p_j |v_jc|, in units u = 2^-p of the storage type; an implementation that meets "
        "the contract is also held to its stated bound (error / allowed <= 1). "
        + describe(document))
    report.add("### The answer\n")
    table, sentence = comparison_section(study)
    masked = masked_rows_table(study)
    report.add(" ".join(s for s in (bound_answer(study), sentence, masked_answer(study)) if s))
    notes = (document or {}).get("notes") or []
    errors = (document or {}).get("errors") or []
    if notes:
        report.add("**Notes** (elements over a stated bound):\n\n"
                   + "\n".join(f"- {n}" for n in notes))
    if errors:
        report.add("**Errors** (cells left out of the tables):\n\n"
                   + "\n".join(f"- {e}" for e in errors))
    report.add("### Families\n")
    families = (document or {}).get("families") or []
    shape = {f.get("name"): f.get("shape", "") for f in families}
    report.add("\n".join(f"- `{f}` ({shape.get(f) or '?'}): {study.description.get(f, '')}"
                         for f in study.families))
    report.add("### Componentwise error by family\n")
    report.add(f"Max componentwise error in u of the type, the median in parentheses (the "
               f"plot: errors below {COMPONENTWISE_FLOOR:g} u drawn at {COMPONENTWISE_FLOOR:g}, "
               f"NaN outputs as x at the top).")
    for t in study.types:
        report.add(f"#### {t}\n")
        report.add(componentwise_table(study, t))
    report.figure("attention_componentwise.png", "max componentwise error / u, per type",
                  lambda path: plot_componentwise(study, path))
    report.add("### Against the stated bound\n")
    report.add("The largest error / allowed of each cell (implementations with a bound).")
    for t in study.types:
        ratios = ratio_table(study, t)
        if ratios:
            report.add(f"#### {t}\n")
            report.add(ratios)
    report.figure("attention_ratio_to_bound.png", "max error / allowed, per type",
                  lambda path: plot_componentwise(study, path, "max_ratio_to_bound",
                                                  "max error / stated bound"))
    report.add("### ULPs, NaN and logsumexp\n")
    report.add("ULPs of the storage type where O is not a cancellation (|O_c| >= 0.5 sum_j p_j "
               "|v_jc|); NaN outputs where the exact result is not NaN; the absolute logsumexp "
               "error, and its ratio to the stated bound.")
    for t in study.types:
        report.add(f"#### {t}\n")
        report.add(other_metrics_table(study, t))
    if table:
        report.add("### Against the materialized implementations\n")
        report.add("The ratio of the componentwise error of each implementation that does not "
                   "materialize the logits (or does so in another precision) to that of each "
                   "materialized entry, materialized:S of the softmax S it names first (per "
                   "family, then the median and the range over the families).")
        report.add(table)
    if masked:
        report.add("### Fully masked rows\n")
        report.add("What each implementation returns for a query row whose keys are all "
                   "masked (the contract: O = 0).")
        report.add(masked)
