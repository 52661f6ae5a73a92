"""Reading softlab-bench's Google Benchmark JSON: one record per benchmark, with the median over
its repetitions and a noise estimate. Shared by bench_report.py and bench_compare.py.

softlab-bench's names (bench/README.md):
  softmax|log_softmax|logsumexp|pairwise_attention/<type>/<impl>/<n>
  rows/<type>/<impl>/<rows>x<cols>
  softmax_inputs/<set>/<type>/<impl>/<n>
  roofline/<read|copy|copy_nt|memcpy>/<n>[/t:<threads>]
  roofline/fma_peak@<isa>/t:<threads>
  attention/<type>/<impl>/prefill/<heads>x<q_len>x<kv_len>x<d>[/causal]/t:<threads>
  attention/<type>/<impl>/decode/<heads>x<kv_len>x<d>/t:<threads>
  attention/<type>/read_floor/decode/<heads>x<kv_len>x<d>/t:<threads>
"""

import json
import math
import re
import statistics
from collections import defaultdict

# Suffixes Google Benchmark appends to a name for per-benchmark settings.
_SETTING_SUFFIX = re.compile(r"/(min_time|repeats|iterations|real_time|manual_time)(:[^/]*)?$")


# The <impl> segment of decode's memory floor: the bytes of K and V read once, not an
# implementation (bench/attention_benchmarks.hpp).
READ_FLOOR = "read_floor"

# Google Benchmark's time units, in nanoseconds.
_NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class BenchInputError(Exception):
    """The file is not softlab-bench JSON; the message names it."""


def base_name(name):
    while True:
        stripped = _SETTING_SUFFIX.sub("", name)
        if stripped == name:
            return name
        name = stripped


def _threads(part):
    """The thread count of a "t:<threads>" name part."""
    if not part.startswith("t:"):
        raise ValueError(part)
    return int(part[2:])


def _dimensions(part, count):
    """The `count` positive numbers of an "AxBx..." name part."""
    values = [int(v) for v in part.split("x")]
    if len(values) != count or min(values) < 1:
        raise ValueError(part)
    return values


def _parse_attention(parts):
    """attention/<type>/<impl>/<phase>/<shape>[/causal]/t:<threads>: the parts, or None."""
    if len(parts) not in (6, 7) or not parts[1] or not parts[2]:
        return None
    _, type_, impl, phase, shape = parts[:5]
    causal = len(parts) == 7
    if causal and parts[5] != "causal":
        return None
    if phase == "prefill" and impl != READ_FLOOR:
        heads, q_len, kv_len, d = _dimensions(shape, 4)
    elif phase == "decode" and not causal:
        heads, kv_len, d = _dimensions(shape, 3)
        q_len = 1  # one query per head
    else:
        return None
    return {"op": "attention", "type": type_, "impl": impl, "phase": phase, "heads": heads,
            "q_len": q_len, "kv_len": kv_len, "d": d, "causal": causal,
            "threads": _threads(parts[-1])}


def parse_name(name):
    """The parts of a softlab-bench name as a dict (op, type, impl, set, n, rows, cols, kind,
    isa, phase, heads, q_len, kv_len, d, causal, threads: those the name has), or None for a
    name softlab-bench does not make."""
    parts = name.split("/")
    try:
        parsed = _parse_parts(parts)
    except ValueError:
        return None
    if parsed is not None:
        parsed.setdefault("threads", 1)
    return parsed


def _parse_parts(parts):
    """The parsed parts, or None; ValueError for a malformed number."""
    if parts[0] in ("softmax", "log_softmax", "logsumexp", "pairwise_attention") \
            and len(parts) == 4:
        return {"op": parts[0], "type": parts[1], "impl": parts[2], "set": "uniform",
                "n": int(parts[3]), "rows": 1}
    if parts[0] == "softmax_inputs" and len(parts) == 5:
        return {"op": "softmax", "set": parts[1], "type": parts[2], "impl": parts[3],
                "n": int(parts[4]), "rows": 1}
    if parts[0] == "rows" and len(parts) == 4:
        rows, cols = (int(v) for v in parts[3].split("x"))
        return {"op": "rows", "type": parts[1], "impl": parts[2], "set": "uniform",
                "n": rows * cols, "rows": rows, "cols": cols}
    if parts[0] == "roofline" and "@" in parts[1]:
        # roofline/fma_peak@<isa>/t:<threads>: the arithmetic peak of that instruction set.
        kind, _, isa = parts[1].partition("@")
        if len(parts) != 3 or not kind or not isa:
            return None
        return {"op": "roofline", "kind": kind, "isa": isa, "type": None,
                "threads": _threads(parts[2])}
    if parts[0] == "roofline" and len(parts) in (3, 4):
        # The type comes from the context's roofline_type (load fills it in).
        return {"op": "roofline", "kind": parts[1], "type": None, "n": int(parts[2]),
                "threads": _threads(parts[3]) if len(parts) == 4 else 1}
    if parts[0] == "scores" and len(parts) == 5:
        rows, cols = (int(v) for v in parts[3].split("x"))
        return {"op": "scores", "type": parts[1], "impl": parts[2], "set": "uniform",
                "n": rows * cols, "rows": rows, "cols": cols, "threads": _threads(parts[4])}
    if parts[0] == "vocab" and len(parts) == 5:
        return {"op": "vocab", "type": parts[1], "impl": parts[2], "set": "uniform",
                "n": int(parts[3]), "rows": 1, "threads": _threads(parts[4])}
    if parts[0] == "attention":
        return _parse_attention(parts)
    if parts[0] == "masked" and len(parts) == 4:
        return {"op": "masked", "type": parts[1], "impl": parts[2], "set": "uniform",
                "n": int(parts[3]), "rows": 1}
    return None


def _median(values):
    return statistics.median(values) if values else math.nan


def _relative_spread(values):
    """Coefficient of variation of the repetitions (0 for one value)."""
    if len(values) < 2:
        return 0.0
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean > 0 else math.nan


def load(path):
    """{"context": dict, "records": {name: record}, "implementations": implementation_facts,
    "types": benchmarked_types} where a record has the parsed name parts and
    ns (median ns per element), cycles (median cycles per element or nan), bytes_per_second
    (median), gflops (median GFLOP/s: attention and roofline/fma_peak, else nan), real_ns
    (median wall-clock ns per call), repetitions, noise (relative: the cv aggregate, else
    computed), error (text or None)."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise BenchInputError(f"{path}: cannot read benchmark JSON: {e}") from e
    if not isinstance(document, dict) or "benchmarks" not in document:
        raise BenchInputError(f"{path}: no \"benchmarks\" list: not Google Benchmark JSON")
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise BenchInputError(f"{path}: \"context\" is not an object")
    if not isinstance(document["benchmarks"], list):
        raise BenchInputError(f"{path}: \"benchmarks\" is not a list")

    runs = defaultdict(list)      # name -> iteration entries (one per repetition)
    aggregates = defaultdict(dict)  # name -> {aggregate_name: entry}
    errors = {}
    for index, entry in enumerate(document["benchmarks"]):
        if not isinstance(entry, dict):
            raise BenchInputError(f"{path}: benchmarks[{index}] is not an object")
        name = base_name(entry.get("run_name") or entry.get("name", ""))
        if entry.get("error_occurred"):
            errors[name] = entry.get("error_message", "error")
            continue
        if entry.get("run_type") == "aggregate":
            aggregates[name][entry.get("aggregate_name")] = entry
        else:
            runs[name].append(entry)

    records = {}
    for name in set(runs) | set(aggregates) | set(errors):
        parts = parse_name(name)
        if parts is None:
            continue
        record = dict(parts, name=name, error=errors.get(name))

        def ns_per_unit():
            """The entries' time_unit in ns (real_time and cpu_time are per call, in it)."""
            entries = runs[name] or list(aggregates[name].values())
            unit = entries[0].get("time_unit", "ns") if entries else "ns"
            return _NS_PER_UNIT.get(unit, math.nan)

        def column(key):
            values = [e[key] for e in runs[name] if key in e]
            if values:
                return _median(values), _relative_spread(values)
            median_entry = aggregates[name].get("median")
            if median_entry and key in median_entry:
                cv_entry = aggregates[name].get("cv", {})
                return median_entry[key], cv_entry.get(key, math.nan)
            return math.nan, math.nan

        record["ns"], record["noise"] = column("ns_per_element")
        record["cycles"], _ = column("cycles_per_element")
        record["bytes_per_second"], _ = column("bytes_per_second")
        record["gflops"], _ = column("GFLOP/s")
        real_time, _ = column("real_time")
        record["real_ns"] = real_time * ns_per_unit()
        record["repetitions"] = len(runs[name]) or int(
            aggregates[name].get("median", {}).get("repetitions", 0))
        if record["op"] == "roofline":
            record["type"] = context.get("roofline_type")
        records[name] = record
    return {"context": context, "records": records,
            "implementations": implementation_facts(context), "types": benchmarked_types(context)}


def implementation_facts(context):
    """<impl> segment -> {"origin", "isa", "variant_of"} from the context's "softlab_impl:<impl>"
    entries ("origin=...;isa=...[;variant_of=...]", written by softlab-bench)."""
    facts = {}
    for key, value in context.items():
        if not key.startswith("softlab_impl:") or not isinstance(value, str):
            continue
        entry = {"origin": None, "isa": None, "variant_of": None}
        for field in value.split(";"):
            name, _, text = field.partition("=")
            entry[name.strip()] = text.strip()
        facts[key[len("softlab_impl:"):]] = entry
    return facts


def storage_bits(context):
    """{type: bits} of the 16-bit storage types (and any other stored narrower than it computes),
    from the context's "softlab_storage_bits" ("float:0,bf16:16,..."; 0: not a storage type)."""
    result = {}
    for item in str(context.get("softlab_storage_bits", "")).split(","):
        name, _, bits = item.partition(":")
        if name.strip() and bits.strip().isdigit() and int(bits) > 0:
            result[name.strip()] = int(bits)
    return result


def benchmarked_types(context):
    """[(type, precision bits)] in softlab-bench's order, from the context's "softlab_types"
    ("float:24,double:53,..."); [] when the context does not say."""
    result = []
    for item in str(context.get("softlab_types", "")).split(","):
        name, _, bits = item.partition(":")
        if name.strip():
            result.append((name.strip(), int(bits) if bits.strip().isdigit() else None))
    return result
