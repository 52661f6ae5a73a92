"""scripts/bench_report: softlab-bench's JSON (and the accuracy study's CSV, when present) to
report/bench.md with PNG plots in report/img/.

What a reader gets, in order: the machine and the run; softmax ns per element for every
implementation and peer at each n, as a ratio to the fastest peer; every softmax as a multiple of
the two-pass memory floor (roofline/read + the faster of roofline/copy and roofline/copy_nt,
measured in the same run); throughput against n with the roofline lines; the data-dependent
input sets against the default inputs; attention's prefill and decode against their ceilings
(roofline/fma_peak and the decode read floor) and the peers; and speed against accuracy, with the
Pareto front.
Figures are medians over the run's repetitions; the noise column is their relative spread.
"""

import argparse
import csv
import math
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import bench_data  # noqa: E402
from softlab_report.output import fmt_g as fmt, md_table, save_figure  # noqa: E402
from softlab_report.output import write_atomically as write_text  # noqa: E402

# The sizes the tables show (all sizes are in the plots).
TABLE_SIZES = (16, 77, 128, 1000, 4096, 32000, 262144, 1048576, 16777216)


def write_atomically(path, text_or_figure):
    """Text or a figure to path (NAME.tmp, then rename), and the path printed."""
    if isinstance(text_or_figure, str):
        write_text(path, text_or_figure)
    else:
        save_figure(text_or_figure, path)
    print(path)


def is_peer(impl, facts):
    """A peer library's code (the context's origin is not softlab), a registry entry or an
    extra variant of one. An <impl> the context does not describe counts as softlab's."""
    origin = facts.get(impl, {}).get("origin")
    return origin is not None and origin != "softlab"


def is_peer_entry(impl, facts):
    """A peer's registry entry, not an extra variant (e.g. an allocating call) of one: the
    peers the tables compare with."""
    return is_peer(impl, facts) and not facts.get(impl, {}).get("variant_of")


def select(records, **where):
    return [r for r in records.values()
            if not r["error"] and all(r.get(k) == v for k, v in where.items())]


def by_impl_and_n(records, op, type_, set_="uniform"):
    table = defaultdict(dict)
    for r in select(records, op=op, type=type_, set=set_):
        table[r["impl"]][r["n"]] = r
    return table


def impl_order(impls, facts):
    """softlab's own first (registry order is unknown here: alphabetical), then the peers."""
    return sorted(impls, key=lambda i: (is_peer(i, facts), i))


def memory_references(records, threads=1):
    """The memory references (roofline/<kind>/<n>) on `threads` threads; not fma_peak, which
    moves no memory and has no n."""
    return [r for r in select(records, op="roofline", threads=threads) if "n" in r]


def memory_floor(records, threads=1):
    """n -> ns per element of the two-pass floor: one read pass plus the faster copy (on
    `threads` threads: the references of that thread count)."""
    parts = defaultdict(dict)
    for r in memory_references(records, threads):
        parts[r["n"]][r["kind"]] = r["ns"]
    floor = {}
    for n, kinds in parts.items():
        copies = [kinds[k] for k in ("copy", "copy_nt") if k in kinds]
        if "read" in kinds and copies:
            floor[n] = kinds["read"] + min(copies)
    return floor


def fastest_peer(table, n, facts):
    candidates = [(rows[n]["ns"], impl) for impl, rows in table.items()
                  if is_peer_entry(impl, facts) and n in rows]
    return min(candidates) if candidates else (math.nan, None)


def ratio_table(table, sizes, facts, floor=None):
    """Rows: implementations; cells: ns/element (x fastest peer) [x memory floor]."""
    impls = impl_order(table, facts)
    header = ["implementation"] + [f"n = {n}" for n in sizes]
    rows = []
    for impl in impls:
        cells = [impl]
        for n in sizes:
            r = table[impl].get(n)
            if not r:
                cells.append("—")
                continue
            peer_ns, _ = fastest_peer(table, n, facts)
            cell = f"{fmt(r['ns'])}"
            if not math.isnan(peer_ns):
                cell += f" ({peer_ns / r['ns']:.2f}×)"
            if floor and n in floor:
                cell += f" [{r['ns'] / floor[n]:.1f}]"
            cells.append(cell)
        rows.append(cells)
    return md_table(header, rows)


def plot_throughput(records, type_, facts, floor_kinds, path, roofline_type):
    table = by_impl_and_n(records, "softmax", type_)
    if not table:
        return False
    fig, ax = plt.subplots(figsize=(9, 5.5))
    cmap = plt.get_cmap("tab20")
    for i, impl in enumerate(impl_order(table, facts)):
        points = sorted((n, 1 / r["ns"]) for n, r in table[impl].items() if r["ns"] > 0)
        style = "--" if is_peer(impl, facts) else "-"
        ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", ms=3,
                color=cmap(i % 20), label=impl)
    if type_ == roofline_type:
        for kind, colour in floor_kinds:
            points = sorted((r["n"], 1 / r["ns"]) for r in select(records, op="roofline",
                                                                      kind=kind) if r["ns"] > 0)
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], ":", color=colour,
                        lw=2, label=f"roofline/{kind}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (elements per row)")
    ax.set_ylabel("throughput (G elements / s, median)")
    ax.set_title(f"softmax, {type_}: throughput against n (higher is better; dashed: peers)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    write_atomically(path, fig)
    return True


def read_accuracy(path, type_):
    """(implementation label as softlab-bench names it) -> {family: max ULP over results >=
    the smallest normal} in type_, from the accuracy study's CSV (largest over n); and the
    families the speed chart shows: the first of kind "wide" (wide scores) and the first of
    size class "large" (long sums), as the CSV's family_kind and family_sizes say."""
    if not os.path.exists(path):
        return None, []
    result = defaultdict(dict)
    wide, large = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("family_kind") == "wide" and row["family"] not in wide:
                wide.append(row["family"])
            if row.get("family_sizes") == "large" and row["family"] not in large:
                large.append(row["family"])
            if row.get("type") != type_:
                continue
            impl = row["implementation"]
            if row.get("isa") not in ("-", "native", ""):
                impl += "@" + row["isa"]
            try:
                value = float(row["max_ulp_normal"])
            except (TypeError, ValueError):
                continue
            if int(row.get("nan_count") or 0):
                value = math.inf
            if math.isnan(value):
                continue
            family = row["family"]
            result[impl][family] = max(result[impl].get(family, 0.0), value)
    return result, wide[:1] + large[:1]


def pareto(points):
    """The points (x, y, label) no other point beats on both axes (lower is better)."""
    return [p for p in points
            if not any(q[0] <= p[0] and q[1] <= p[1] and (q[0], q[1]) != (p[0], p[1])
                       for q in points)]


def plot_speed_accuracy(records, accuracy, n, families, facts, type_, path):
    table = by_impl_and_n(records, "softmax", type_)
    fig, axes = plt.subplots(1, len(families), figsize=(6 * len(families), 5), squeeze=False)
    axes = axes[0]
    for ax, family in zip(axes, families):
        points = []
        for impl, rows in table.items():
            if n in rows and impl in accuracy and family in accuracy[impl]:
                ulp = accuracy[impl][family]
                points.append((rows[n]["ns"], min(ulp, 1e9) if math.isfinite(ulp) else 1e9,
                               impl))
        if not points:
            ax.set_visible(False)
            continue
        front = sorted(pareto(points))
        for x, y, label in points:
            ax.scatter(x, max(y, 0.1), color="tab:red" if is_peer(label, facts) else "tab:blue")
            ax.annotate(label, (x, max(y, 0.1)), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.plot([p[0] for p in front], [max(p[1], 0.1) for p in front], "k--", lw=1,
                label="Pareto front")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"ns per element at n = {n} (median)")
        ax.set_ylabel(f"max ULP on {family} (results ≥ FLT_MIN)")
        ax.set_title(f"{type_}: speed against accuracy on {family}\n(lower left is better; red: "
                     "peers)", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    write_atomically(path, fig)


def table_section(title, text, header, rows):
    """A "## title" section: the text, then the table; nothing when there are no rows."""
    return [f"## {title}", "", text, "", md_table(header, rows), ""] if rows else []


def shape_label(r):
    return f"{r['rows']}x{r['cols']}" if r["op"] == "scores" else str(r["n"])


def threads_section(records, facts):
    """One row per (op, type, implementation, shape) measured at more than one thread count:
    the times per element, the speedup over one thread, and the two-thread time against the
    two-thread memory floor measured at the same n (read + streaming copy, both split)."""
    by_shape = defaultdict(dict)
    for r in records.values():
        if r["op"] in ("scores", "vocab") and not r["error"]:
            by_shape[(r["op"], r["type"], r["impl"], shape_label(r), r["n"])][r["threads"]] = r
    floor2 = memory_floor(records, threads=2)
    rows = []
    for (op, type_, impl, label, n), runs in sorted(by_shape.items(),
                                                     key=lambda kv: (kv[0][0], kv[0][1],
                                                                     is_peer(kv[0][2], facts),
                                                                     kv[0][2], kv[0][4])):
        if 1 not in runs or len(runs) < 2:
            continue
        one = runs[1]["ns"]
        for threads in sorted(t for t in runs if t != 1):
            ns = runs[threads]["ns"]
            against_floor = (f"{ns / floor2[n]:.2f}" if threads == 2 and n in floor2 else "—")
            rows.append([op, type_, impl, label, fmt(one), f"{threads}: {fmt(ns)}",
                         f"{one / ns:.2f}×", against_floor])
    return table_section(
        "Threads",
        "Wall-clock ns per element (medians) on 1 and more threads, softlab's own thread count "
        "(softmax_options::threads; the output is the same bits at every count); speedup = the "
        "one-thread time over the threaded one; × floor: the two-thread time over the two-thread "
        "memory floor at the same n (one read plus one streaming copy, each split across two "
        "threads), 1 = as fast as two threads can move the bytes.",
        ["op", "type", "implementation", "shape", "t:1 ns/el", "t:N ns/el", "speedup",
         "× 2-thread floor"], rows)


def narrow_storage_section(records, context, facts):
    """Each 16-bit storage type's softmax time against float's, per implementation and n (the
    bytes halve: < 1 is the gain)."""
    narrow = bench_data.storage_bits(context)
    rows = []
    for type_ in narrow:
        table = by_impl_and_n(records, "softmax", type_)
        wide = by_impl_and_n(records, "softmax", "float")
        for impl in impl_order(table, facts):
            for n in sorted(table[impl]):
                if n not in wide.get(impl, {}):
                    continue
                ns, float_ns = table[impl][n]["ns"], wide[impl][n]["ns"]
                rows.append([type_, impl, str(n), fmt(ns), fmt(float_ns), f"{ns / float_ns:.2f}"])
    return table_section(
        "16-bit storage",
        "softmax of 16-bit scores to 16-bit weights against float to float, the same "
        "implementation and n: ns per element (medians) and their ratio (< 1: the 16-bit run is "
        "faster; half the bytes make < 1 possible where memory is the limit).",
        ["type", "implementation", "n", "16-bit ns/el", "float ns/el", "16-bit / float"], rows)


def masked_section(records, facts):
    """The fused scale + additive mask (masked/...) against the plain softmax at the same n."""
    rows = []
    for r in sorted((r for r in records.values() if r["op"] == "masked" and not r["error"]),
                    key=lambda r: (r["type"], is_peer(r["impl"], facts), r["impl"], r["n"])):
        plain = records.get(f"softmax/{r['type']}/{r['impl']}/{r['n']}")
        ratio = (f"{r['ns'] / plain['ns']:.2f}" if plain and not plain["error"] else "—")
        rows.append([r["type"], r["impl"], str(r["n"]), fmt(r["ns"]),
                     fmt(plain["ns"]) if plain else "—", ratio])
    return table_section(
        "Scale and mask",
        "softmax(scale x + mask) with an additive float mask, formed inside the passes, against "
        "the plain softmax of the same n: ns per element (medians) and their ratio (the mask is "
        "one more stream to read).",
        ["type", "implementation", "n", "scale + mask ns/el", "plain ns/el", "ratio"], rows)


def fixed(value, digits=2):
    """value with `digits` decimals; "—" for NaN and infinities (a missing or zero time)."""
    return f"{value:.{digits}f}" if math.isfinite(value) else "—"


def fma_peaks(records):
    """threads -> {isa: roofline/fma_peak@<isa>/t:<threads> record}."""
    peaks = defaultdict(dict)
    for r in select(records, op="roofline", kind="fma_peak"):
        peaks[r["threads"]][r["isa"]] = r
    return peaks


def arithmetic_peak(impl, threads, peaks, facts):
    """The fma_peak record an attention entry's GFLOP/s is set against: its own instruction set's
    (the context's isa) at that thread count; for an entry whose isa the run has no peak for (a
    peer's own dispatch, "native"; scalar code, "-"), the highest peak at that thread count: the
    widest instruction set. None when the run measured no peak at that thread count."""
    at = peaks.get(threads, {})
    isa = facts.get(impl, {}).get("isa")
    if isa in at:
        return at[isa]
    measured = [r for r in at.values() if math.isfinite(r["gflops"])]
    return max(measured, key=lambda r: r["gflops"]) if measured else None


def attention_shape(r):
    """The <shape> of an attention name: heads x q_len x kv_len x d (prefill), heads x kv_len x
    d (decode)."""
    dims = (r["heads"], r["q_len"], r["kv_len"], r["d"]) if r["phase"] == "prefill" else \
        (r["heads"], r["kv_len"], r["d"])
    return "x".join(map(str, dims))


def attention_section(records, facts):
    """One row per attention benchmark, grouped by (type, phase, shape, causal, threads), each
    group softlab's implementations first, then the peers: median GFLOP/s and ms per call, the
    fastest peer's time over this one, and the ceiling of the phase: prefill's GFLOP/s as a
    share of roofline/fma_peak@<isa> at the same thread count (causal runs also against the
    same implementation's dense run), decode's time over read_floor's (K and V read once)."""
    groups = defaultdict(dict)
    for r in select(records, op="attention"):
        key = (r["type"], r["phase"], r["heads"], r["q_len"], r["kv_len"], r["d"], r["causal"],
               r["threads"])
        groups[key][r["impl"]] = r
    peaks = fma_peaks(records)
    fallback = set()  # the peaks set against entries without one of their own
    prefill, decode = [], []
    for key in sorted(groups):
        type_, phase, heads, q_len, kv_len, d, causal, threads = key
        group = groups[key]
        floor = group.get(bench_data.READ_FLOOR)
        impls = impl_order([i for i in group if i != bench_data.READ_FLOOR], facts)
        peer_ns = min((group[i]["real_ns"] for i in impls if is_peer_entry(i, facts)),
                      default=math.nan)
        shape = attention_shape(group[impls[0]] if impls else floor)
        label = shape + (" causal" if causal else "")
        if phase == "decode" and floor:
            decode.append([type_, shape, str(threads), f"{bench_data.READ_FLOOR} (memory floor)",
                           fmt(floor["gflops"]), fmt(floor["real_ns"] / 1e6), fixed(1.0), "—"])
        for impl in impls:
            r = group[impl]
            cells = [type_, label, str(threads), impl, fmt(r["gflops"]), fmt(r["real_ns"] / 1e6)]
            against_peer = fixed(peer_ns / r["real_ns"])
            if phase == "decode":
                decode.append(cells + [fixed(r["real_ns"] / floor["real_ns"]) if floor else "—",
                                       against_peer])
                continue
            peak = arithmetic_peak(impl, threads, peaks, facts)
            if peak is not None and peak["isa"] != facts.get(impl, {}).get("isa"):
                fallback.add((threads, peak["isa"], peak["gflops"]))
            share = (f"{fixed(100 * r['gflops'] / peak['gflops'], 0)}%" if peak is not None
                     else "—")
            dense = groups.get((type_, phase, heads, q_len, kv_len, d, False, threads), {})
            against_dense = (fixed(r["real_ns"] / dense[impl]["real_ns"])
                             if causal and impl in dense else "—")
            prefill.append(cells + [share, against_peer, against_dense])
    if not prefill and not decode:
        return []
    lines = ["## Attention", "",
             "softlab-bench's attention/ benchmarks (bench/README.md): O = softmax(Q K^T / "
             "sqrt(d) [+ causal]) V over heads x q_len queries and kv_len keys of dimension d. "
             "GFLOP/s counts 4 d flops per kept score (2 d for q.k, 2 d for p v; a causal run "
             "keeps h L (L + 1) / 2 of the h L^2 scores and counts only those); ms: the median "
             "time of one call (wall-clock on more than one thread). Each group lists softlab's "
             "implementations, then the peers; fastest peer / this: the fastest peer's time "
             "divided by this one (> 1: faster than every peer; 1.00 on that peer).", ""]
    if prefill:
        run_peaks = "; ".join(f"fma_peak@{isa} {fmt(r['gflops'])} GFLOP/s at t:{threads}"
                              for threads in sorted(peaks)
                              for isa, r in sorted(peaks[threads].items()))
        used = "; ".join(f"fma_peak@{isa} ({fmt(gflops)} GFLOP/s) at t:{threads}"
                         for threads, isa, gflops in sorted(fallback))
        lines += ["### Prefill", "",
                  "% of fma_peak: GFLOP/s over the arithmetic roofline roofline/fma_peak@<isa> "
                  "at the same thread count, <isa> the implementation's own (its "
                  "softlab_impl:<impl> context entry)"
                  + (f"; an entry whose isa the run has no peak for (a peer's own dispatch, "
                     f"scalar code) is set against the run's highest: {used}" if used else "")
                  + f". The run's peaks: {run_peaks or 'none measured'}. causal / dense: a causal "
                  "run's time over the same implementation's dense run of the same shape and "
                  "threads (0.5 = it skips the masked half; 1 = it computes every score).", "",
                  md_table(["type", "shape", "threads", "implementation", "GFLOP/s", "ms",
                            "% of fma_peak", "fastest peer / this", "causal / dense"], prefill),
                  ""]
    if decode:
        lines += ["### Decode", "",
                  "One query per head. / read_floor: the time over that of read_floor at the "
                  "same type, shape and threads, which reads the bytes of K and V once with "
                  "roofline/read's loop (its row: the GFLOP/s decode would reach at that speed); "
                  "1.00 = at the memory floor.", "",
                  md_table(["type", "shape", "threads", "implementation", "GFLOP/s", "ms",
                            "/ read_floor", "fastest peer / this"], decode), ""]
    return lines


def input_set_table(records):
    rows = []
    for r in sorted(select(records, op="softmax"), key=lambda r: (r["type"], r["impl"], r["n"])):
        if r["set"] == "uniform":
            continue
        base = next(iter(select(records, op="softmax", type=r["type"], impl=r["impl"],
                                n=r["n"], set="uniform")), None)
        if base:
            rows.append((r["type"], r["impl"], r["n"], r["set"], fmt(r["ns"]),
                         f"{r['ns'] / base['ns']:.2f}"))
    return rows


def context_text(context, path):
    keys = ("date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "cpu_mhz",
            "cpu_mhz_source", "llc_bytes", "library_build_type", "softlab_bench_mode",
            "softlab_isas", "roofline_isa", "peers", "input_seed")
    lines = [f"- `{k}`: {context[k]}" for k in keys if k in context]
    caches = context.get("caches") or []
    if caches:
        lines.append("- caches: " + ", ".join(f"L{c.get('level')} {c.get('type', '')} "
                                              f"{c.get('size', 0) // 1024} KiB"
                                              for c in caches))
    lines.append(f"- data: `{path}`")
    return "\n".join(lines)


def build(args):
    try:
        data = bench_data.load(args.json)
    except bench_data.BenchInputError as e:
        print(f"bench_report: {e}", file=sys.stderr)
        return 2
    records, context, facts = data["records"], data["context"], data["implementations"]
    if not records:
        print(f"bench_report: {args.json}: no softlab-bench benchmark in it", file=sys.stderr)
        return 2
    img = os.path.join(args.out, "img")
    os.makedirs(img, exist_ok=True)
    floor = memory_floor(records)
    doc = ["# softlab: softmax speed report", ""]

    # The types in softlab-bench's order; the first is the one the answer, the roofline and the
    # accuracy chart speak of.
    types = [t for t, _ in data["types"]] or sorted({r["type"] for r in records.values()
                                                      if r["op"] != "roofline" and r["type"]})
    primary = types[0] if types else None
    roofline_type = context.get("roofline_type")
    float_table = by_impl_and_n(records, "softmax", primary)
    sizes = [n for n in TABLE_SIZES if any(n in rows for rows in float_table.values())]
    reps = sorted({r["repetitions"] for r in records.values() if r["repetitions"]})
    noise = sorted(r["noise"] for r in records.values() if not math.isnan(r["noise"]))
    doc.append("## The answer\n")
    if sizes:
        answer = []
        for n in sizes:
            peer_ns, peer = fastest_peer(float_table, n, facts)
            own = [(rows[n]["ns"], impl) for impl, rows in float_table.items()
                   if not is_peer(impl, facts) and n in rows]
            if not own:
                continue
            best_ns, best = min(own)
            text = f"n = {n}: fastest softlab implementation {best} at {fmt(best_ns)} ns/element"
            if peer:
                text += (f", fastest peer {peer} at {fmt(peer_ns)} ns/element "
                         f"({peer_ns / best_ns:.2f}× the peer's speed)")
            if n in floor:
                text += f"; the two-pass memory floor is {fmt(floor[n])} ns/element"
            answer.append("- " + text + ".")
        doc += answer
    doc.append("")
    doc.append(f"Medians over {', '.join(map(str, reps)) or '?'} repetition(s) per benchmark; "
               f"the relative spread (cv) of the repetitions has median "
               f"{fmt(100 * noise[len(noise) // 2], 2) if noise else '—'} % and maximum "
               f"{fmt(100 * noise[-1], 2) if noise else '—'} %.")
    doc += ["", "## The run", "", context_text(context, args.json), ""]

    errors = [r for r in records.values() if r["error"]]
    if errors:
        doc += ["Benchmarks that reported an error:", ""]
        doc += [f"- `{r['name']}`: {r['error']}" for r in errors]
        doc.append("")

    for type_ in types:
        table = by_impl_and_n(records, "softmax", type_)
        if not table:
            continue
        type_sizes = [n for n in TABLE_SIZES if any(n in rows for rows in table.values())]
        doc += [f"## softmax, {type_}", "",
                "Cell: ns per element (median); (×): the fastest peer's time divided by this "
                "one, so > 1 is faster than every peer" +
                ("; [ ]: this time as a multiple of the two-pass memory floor (1 = as fast as "
                 "memory allows)" if type_ == roofline_type else "") + ".", "",
                ratio_table(table, type_sizes, facts, floor if type_ == roofline_type else None),
                ""]
        if plot_throughput(records, type_, facts, (("read", "black"), ("copy", "grey"),
                                                   ("copy_nt", "tab:brown"),
                                                   ("memcpy", "tab:olive")),
                           os.path.join(img, f"bench_throughput_{type_}.png"), roofline_type):
            doc += [f"![softmax throughput, {type_}](img/bench_throughput_{type_}.png)", ""]

    if floor:
        roof = defaultdict(dict)
        for r in memory_references(records):
            roof[r["n"]][r["kind"]] = r
        rows = []
        for n in sorted(roof):
            cells = [n]
            for kind in ("read", "copy", "copy_nt", "memcpy"):
                r = roof[n].get(kind)
                cells.append(f"{fmt(r['bytes_per_second'] / 1e9)} GB/s" if r else "—")
            cells.append(fmt(floor.get(n)))
            rows.append(cells)
        doc += ["## The memory's limits (roofline references, float)", "",
                "Measured in the same run: a vectorized read pass, a copy with plain stores, a "
                "copy with non-temporal stores and memcpy; GB/s counts the bytes the operation "
                "must move (read + written). The two-pass floor is the ns per element of one "
                "read pass plus the faster copy: what any softmax that reads x twice and writes "
                "y once must take.", "",
                md_table(["n", "read", "copy", "copy_nt", "memcpy", "two-pass floor ns/el"],
                         rows), ""]

    for op in ("log_softmax", "logsumexp", "pairwise_attention", "rows"):
        table = by_impl_and_n(records, op, primary)
        if not table:
            continue
        op_sizes = sorted({n for rows in table.values() for n in rows})
        shown = [n for n in op_sizes if n in TABLE_SIZES] or op_sizes[:6]
        doc += [f"## {op}, {primary}", "", ratio_table(table, shown, facts), ""]

    doc += threads_section(records, facts)
    doc += narrow_storage_section(records, context, facts)
    doc += masked_section(records, facts)

    sets = input_set_table(records)
    if sets:
        doc += ["## Data-dependent inputs", "",
                "softmax on wide [-80, 80], near-underflow and half-masked inputs against the "
                "default uniform [-10, 10] at the same n (ratio > 1: slower on that input).", "",
                md_table(["type", "implementation", "n", "input set", "ns/el", "× default"],
                         sets), ""]
    doc += attention_section(records, facts)

    accuracy, chart_families = read_accuracy(args.accuracy, primary)
    if accuracy and float_table and chart_families:
        n = 4096 if any(4096 in rows for rows in float_table.values()) else sizes[-1]
        path = os.path.join(img, "bench_speed_accuracy.png")
        plot_speed_accuracy(records, accuracy, n, chart_families, facts, primary, path)
        if len(chart_families) == 2:
            on = (f"on wide scores ({chart_families[0]}) and on long sums ({chart_families[1]}, "
                  "n = 10^6)")
        else:
            on = f"on {chart_families[0]}"
        doc += ["## Speed against accuracy", "",
                f"Time at n = {n} (this run) against the largest error of the accuracy study "
                f"(`{args.accuracy}`) {on}: the Pareto front joins the implementations that "
                "nothing beats on both.", "",
                "![speed against accuracy](img/bench_speed_accuracy.png)", ""]
    else:
        doc += ["## Speed against accuracy", "",
                f"Not shown: no accuracy study at `{args.accuracy}` (run `softlab accuracy`).", ""]

    doc += ["## Reproduce", "",
            "```sh",
            "build/release/bench/softlab-bench --benchmark_repetitions=5 "
            "--benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true "
            "--benchmark_out=report/data/bench.json --benchmark_out_format=json",
            f"scripts/bench_report --json {args.json} --out {args.out}",
            "```", ""]
    write_atomically(os.path.join(args.out, "bench.md"), "\n".join(doc))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", default="report/data/bench.json",
                        help="softlab-bench's JSON (default: %(default)s)")
    parser.add_argument("--accuracy", default="report/data/accuracy.csv",
                        help="the accuracy study's CSV, for the speed-accuracy chart "
                             "(default: %(default)s)")
    parser.add_argument("--out", default="report", help="output directory (default: %(default)s)")
    return build(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
