"""What every report script writes with: atomic files, Markdown tables, number formats.

Shared by accuracy_report, bench_report, index_report and bench_compare, so that a table or a
figure of one report looks like one of another and no file is ever seen half written.
"""

import math
import os


def is_number(v):
    return v is not None and not math.isnan(v)


def unique(items):
    """The distinct items in first-met order."""
    return list(dict.fromkeys(items))


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
    """A Markdown table; cells are str()-ed and their | escaped."""
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |",
             "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_atomically(path, text):
    """text to path.tmp, then renamed over path: a reader never sees a partial file."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def save_figure(fig, path):
    """fig as PNG to path, atomically, and closed (pyplot keeps every open figure alive)."""
    import matplotlib.pyplot as plt  # only the reports that draw need matplotlib

    tmp = path + ".tmp"
    fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def fmt_g(v, digits=3):
    """v in %g with `digits` significant digits; "—" for None and NaN (the benchmark tables)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:.{digits}g}"
