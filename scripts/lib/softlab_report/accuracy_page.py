"""The accuracy report's page: OUT/accuracy.md assembled section by section, its figures in
OUT/img, every file written atomically (NAME.tmp, then rename).

    scripts/accuracy_report [--data DIR] [--out DIR]

reads DIR/accuracy.csv (required), accuracy.json, accuracy_elements.csv, blanchard.csv,
blanchard_summary.csv, attention.csv and attention.json (all written by the `softlab` tool; every
one but accuracy.csv optional), and python_accuracy.csv (optional: Python callables such as
scipy.special.softmax measured as cells of the same study by python/benchmarks/accuracy.py, in
accuracy.csv's columns; its rows join the tables beside the C++ peers).

Nothing here knows the list of implementations, families or types: rows, columns and figures
come from the data, and so do each family's kind, each type's precision and which types are
the headline ones (accuracy_data.Vocabulary). What the report does know is the thresholds of
"safe" and the figures Blanchard, Higham & Higham (2021) report.
"""

import argparse
import os
import sys

from softlab_report import attention
from softlab_report.accuracy_data import (BLANCHARD_COLUMNS, ELEMENT_COLUMNS, SUMMARY_COLUMNS,
                                          InputError, Study, Vocabulary, largest, load_optional,
                                          median, read_accuracy_cells, read_csv, read_json,
                                          variant_label)
from softlab_report.blanchard import blanchard_conclusion, low_precision_types, summary_table
from softlab_report.output import fmt_sig, md_table, unique, write_atomically
from softlab_report.plots import (HEATMAP_ULP_FLOOR, plot_blanchard_bounds, plot_blanchard_pairs,
                                  plot_elements, plot_error_vs_n, plot_heatmap, variant_colours)
from softlab_report.special_values import CLOSE_ULPS, special_section
from softlab_report.verdicts import (HEADLINE_LEGEND, NARROW_LEGEND, SAFE_ULP, answer_losses,
                                     answer_safe, answer_specials, bad_outputs, compact_table,
                                     data_checks, headline_table, multi_n_families,
                                     narrow_storage_table, where)

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


def section_measured(report, document, paths, problems, study, python_cells):
    report.add("## How this was measured\n")
    if document is None:
        report.add(missing_text(problems, paths["json"]) + ".")
    else:
        describe_run(report, document)
    report.add(python_text(python_cells, paths["python"], problems))
    checks = data_checks(study)
    if checks:
        report.add("**Data checks** (inputs that look wrong):\n\n"
                   + "\n".join(f"- {c}" for c in checks))


def python_text(python_cells, path, problems):
    """Where the rows of origin "python" come from, or why there are none."""
    if python_cells is None:
        return (f"Python callables (scipy.special.softmax, torch.softmax as called from Python): "
                f"{missing_text(problems, path)}.")
    names = unique(c["implementation"] for c in python_cells)
    return (f"Python callables, as Python users call them, measured as cells of this study (its "
            f"families, seeds, vector counts and metrics; origin `python`, from {path}, written "
            f"by `python/benchmarks/accuracy.py --csv`): {', '.join(names)}. Each is called on "
            f"each vector as a 1-D numpy array of the type and its result rounded once to the "
            f"type.")


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
    main_types = study.vocabulary.main_types(study.types)
    for type_ in main_types:
        report.add(f"### {type_}\n")
        report.add(headline_table(study, type_))
    others = [t for t in study.types if t not in main_types]
    if others:
        report.add(f"### Other types ({', '.join(others)})\n")
        report.add(compact_table(study, others))


def section_narrow_storage(report, study):
    types = study.vocabulary.narrow_storage_types(study.types)
    if not types:
        return
    report.add("## 16-bit storage\n")
    report.add("Scores stored in 16 bits and computed wider (softlab: float, `accurate` in "
               "double; each peer as it computes them), results rounded once to the 16-bit type. "
               "A result within 0.5 ULP is correctly rounded: the best any code can store. "
               + NARROW_LEGEND)
    for type_ in types:
        report.add(f"### {type_}\n")
        report.add(narrow_storage_table(study, type_))


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
            if bad_outputs(family_cells, study.is_nan_family(family)):
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


def section_specials(report, document, paths, problems, vocabulary):
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
    main_types = vocabulary.main_types(types)
    for type_ in main_types + [t for t in types if t not in main_types]:
        table = special_section(specials, type_, vocabulary.precision_bits.get(type_))
        if table:
            report.add(f"### {type_}\n")
            report.add(table)


def section_reproduce(report, document, data_dir, out_dir):
    command = (document or {}).get("meta", {}).get("command_line")
    report.add("## Reproduce\n")
    report.add((f"`{command}`, `softlab blanchard --out {data_dir}` (the Blanchard files), "
                f"`softlab accuracy --attention --out {data_dir}` (the attention files), then "
                if command else "") +
               f"`scripts/accuracy_report --data {data_dir} --out {out_dir}`.")


def build_report(data_dir, out_dir):
    paths = {"csv": os.path.join(data_dir, "accuracy.csv"),
             "json": os.path.join(data_dir, "accuracy.json"),
             "elements": os.path.join(data_dir, "accuracy_elements.csv"),
             "blanchard": os.path.join(data_dir, "blanchard.csv"),
             "summary": os.path.join(data_dir, "blanchard_summary.csv"),
             "attention": os.path.join(data_dir, "attention.csv"),
             "attention_json": os.path.join(data_dir, "attention.json"),
             "python": os.path.join(data_dir, "python_accuracy.csv")}
    cells = read_accuracy_cells(paths["csv"])  # required: InputError ends the run
    problems = {}
    python_cells = load_optional(read_accuracy_cells, paths["python"], problems)
    cells += python_cells or []
    document = load_optional(read_json, paths["json"], problems)
    elements = load_optional(lambda p: read_csv(p, ELEMENT_COLUMNS, ELEMENT_COLUMNS[:4]),
                             paths["elements"], problems)
    blanchard = load_optional(lambda p: read_csv(p, BLANCHARD_COLUMNS,
                                                 ("source", "type", "algorithm", "theorem")),
                              paths["blanchard"], problems)
    summary = load_optional(lambda p: read_csv(p, SUMMARY_COLUMNS,
                                               ("source", "type", "algorithm", "theorem")),
                            paths["summary"], problems)
    attention_cells = load_optional(attention.read_attention_cells, paths["attention"], problems)
    attention_document = load_optional(read_json, paths["attention_json"], problems)

    family_order = [f.get("name") for f in (document or {}).get("families") or []]
    study = Study(cells, family_order, Vocabulary(cells, document))
    specials = (document or {}).get("special_values") or []
    primary = study.vocabulary.primary_type(study.types)
    colours = variant_colours(unique(study.variants + [(e["implementation"], e["isa"])
                                                       for e in elements or []]))

    report = Report(out_dir)
    report.add("# softlab: softmax accuracy report")
    section_answer(report, study, specials, primary)
    section_measured(report, document, paths, problems, study, python_cells)
    section_headline(report, study)
    section_narrow_storage(report, study)
    section_heatmaps(report, study)
    section_elements(report, elements, colours, paths, problems)
    section_error_vs_n(report, study, colours)
    section_condition(report, study, primary)
    section_blanchard(report, blanchard, summary, paths, problems)
    section_specials(report, document, paths, problems, study.vocabulary)
    attention.section(report, attention_cells, attention_document,
                      missing_text(problems, paths["attention"]))
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
