"""The accuracy report's figures: heatmaps, error against the distance below the max and
against n, and Blanchard et al.'s figure replicated. Every one is written with save_figure
(NAME.tmp, then rename).
"""

import math

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.colors import LogNorm  # noqa: E402

from softlab_report.accuracy_data import largest, variant_label  # noqa: E402
from softlab_report.blanchard import (THEIR_BASIC, THEIR_SHIFTED, THEIR_SHIFTED_ALT,  # noqa: E402
                                      paired_errors, plotted_vectors)
from softlab_report.output import (fmt_sig, fmt_ulp, is_number, join_names,  # noqa: E402
                                   save_figure, unique)
from softlab_report.verdicts import SAFE_ULP, bad_outputs, exact_is_nan  # noqa: E402

# The floors of the log scales: errors of 0 are drawn there.
ELEMENT_ULP_FLOOR = 0.01
HEATMAP_ULP_FLOOR = 0.5
HEATMAP_ULP_CAP = 1e6
BLANCHARD_ERROR_FLOOR = 0.01


def variant_colours(variants):
    cmap = plt.get_cmap("tab10" if len(variants) <= 10 else "tab20")
    return {v: cmap(i % cmap.N) for i, v in enumerate(variants)}


def heatmap_cell(rows, nan_family):
    """(value, label, kind) of one heatmap cell: kind "ulp" (value: max ULP, floored), "bad"
    (NaN/inf outputs where the answer is finite, a number for a NaN) or "none"."""
    if not rows:
        return np.nan, "", "none"
    if exact_is_nan(rows) and not nan_family:
        return np.nan, "exact NaN", "none"
    failure = bad_outputs(rows, nan_family)
    worst, _ = largest(rows, "max_ulp")
    if failure:
        return np.nan, "hid NaN" if nan_family else failure, "bad"
    if worst is None or math.isinf(worst):
        return np.nan, "inf", "bad"
    return max(worst, HEATMAP_ULP_FLOOR), fmt_ulp(worst), "ulp"


def plot_heatmap(study, type_, path):
    """Implementation x family, colour = max over n of max_ulp on a log scale (floored at
    HEATMAP_ULP_FLOOR, the darkest colour from HEATMAP_ULP_CAP up); NaN/inf outputs where the
    answer is finite black, cells not run grey."""
    variants, families = study.variants_of(type_), study.families_of(type_)
    cells = [[heatmap_cell(study.rows(type_, v, f), study.is_nan_family(f)) for f in families]
             for v in variants]
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
