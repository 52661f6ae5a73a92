"""bench_data, bench_report and bench_compare: the benchmark JSON, its context's facts, the
peer comparisons and the compare verdicts."""

import json
import math

import pytest

import bench_compare
import bench_data
import bench_report
from conftest import FIXTURES, write


@pytest.fixture
def loaded(bench_json):
    return bench_data.load(str(bench_json))


def test_names_parse():
    assert bench_data.parse_name("softmax/float/xsimd@avx2/4096") == {
        "op": "softmax", "type": "float", "impl": "xsimd@avx2", "set": "uniform", "n": 4096,
        "rows": 1, "threads": 1}
    assert bench_data.parse_name("scores/bf16/fast@avx2/32x512/t:2") == {
        "op": "scores", "type": "bf16", "impl": "fast@avx2", "set": "uniform", "n": 16384,
        "rows": 32, "cols": 512, "threads": 2}
    assert bench_data.parse_name("vocab/float/fast@avx2/256000/t:1")["threads"] == 1
    assert bench_data.parse_name("roofline/read/16384/t:2")["threads"] == 2
    assert bench_data.parse_name("roofline/read/16384/2") is None
    assert bench_data.parse_name("masked/float/fast@avx2/4096")["op"] == "masked"
    assert bench_data.parse_name("rows/double/stable/8x512")["n"] == 4096
    assert bench_data.parse_name("softmax_inputs/wide/float/stable/16")["set"] == "wide"
    assert bench_data.parse_name("roofline/copy_nt/64")["kind"] == "copy_nt"
    assert bench_data.parse_name("softmax/float/stable/many") is None
    assert bench_data.parse_name("BM_other") is None
    assert bench_data.base_name("softmax/float/stable/16/min_time:0.010/repeats:3") == \
        "softmax/float/stable/16"


def test_medians_noise_and_errors(loaded):
    records = loaded["records"]
    stable = records["softmax/float/stable/4096"]
    assert stable["ns"] == pytest.approx(2.0)
    assert stable["repetitions"] == 3
    assert stable["noise"] == pytest.approx(0.1)  # stdev of 1.8, 2.0, 2.2 over their mean
    assert records["softmax/float/onednn/16"]["error"] == "onednn: no such size"
    assert records["roofline/read/4096"]["type"] == "float"  # the context's roofline_type
    assert records["roofline/read/4096"]["bytes_per_second"] == 80e9


def test_context_facts(loaded):
    facts = loaded["implementations"]
    assert facts["fast@avx2"] == {"origin": "softlab", "isa": "avx2", "variant_of": None}
    assert facts["torch_alloc"]["variant_of"] == "torch"
    assert facts["onednn"]["origin"] == "oneDNN 2.6.3"
    assert loaded["types"] == [("float", 24), ("double", 53)]


def test_peers_come_from_the_context(loaded):
    facts = loaded["implementations"]
    assert bench_report.is_peer("torch", facts) and bench_report.is_peer("torch_alloc", facts)
    assert not bench_report.is_peer("fast@avx2", facts)
    assert not bench_report.is_peer("undescribed", facts)  # counts as softlab's
    assert bench_report.is_peer_entry("onednn", facts)
    assert not bench_report.is_peer_entry("torch_alloc", facts)


def test_fastest_peer_leaves_out_variants(loaded):
    facts = loaded["implementations"]
    table = bench_report.by_impl_and_n(loaded["records"], "softmax", "float")
    # torch_alloc (0.3) is faster than onednn (0.4) but is not a registry entry.
    assert bench_report.fastest_peer(table, 4096, facts) == (pytest.approx(0.4), "onednn")
    assert bench_report.impl_order(table, facts) == ["fast@avx2", "stable", "onednn", "torch",
                                                     "torch_alloc"]


def test_ratio_table_and_floor(loaded):
    facts = loaded["implementations"]
    records = loaded["records"]
    floor = bench_report.memory_floor(records)
    assert floor == {4096: pytest.approx(0.15)}  # read + the faster copy
    table = bench_report.by_impl_and_n(records, "softmax", "float")
    lines = bench_report.ratio_table(table, [16, 4096], facts, floor).split("\n")
    assert lines[0] == "| implementation | n = 16 | n = 4096 |"
    assert lines[2] == "| fast@avx2 | — | 0.25 (1.60×) [1.7] |"
    assert lines[3] == "| stable | 5 (2.00×) | 2 (0.20×) [13.3] |"


def test_not_benchmark_json(tmp_path):
    path = write(tmp_path / "bench.json", json.dumps({"context": {}}))
    with pytest.raises(bench_data.BenchInputError, match=r'bench\.json: no "benchmarks" list'):
        bench_data.load(str(path))
    broken = write(tmp_path / "broken.json", "{")
    with pytest.raises(bench_data.BenchInputError, match=r"broken\.json: cannot read"):
        bench_data.load(str(broken))
    with pytest.raises(bench_data.BenchInputError, match=r"missing\.json: cannot read"):
        bench_data.load(str(tmp_path / "missing.json"))
    entries = write(tmp_path / "entries.json", json.dumps({"benchmarks": [{}, 3]}))
    with pytest.raises(bench_data.BenchInputError,
                       match=r"entries\.json: benchmarks\[1\] is not an object"):
        bench_data.load(str(entries))
    context = write(tmp_path / "context.json", json.dumps({"benchmarks": [], "context": []}))
    with pytest.raises(bench_data.BenchInputError, match=r'context\.json: "context" is not an'):
        bench_data.load(str(context))


@pytest.mark.parametrize("ratio, noise, word", [
    (0.9, 0.01, "faster"), (1.1, 0.01, "slower"), (1.015, 0.0, "same (within noise)"),
    (0.9, 0.06, "same (within noise)"), (1.03, float("nan"), "slower"),
    (float("nan"), 0.0, "?"),
])
def test_compare_verdict(ratio, noise, word):
    assert bench_compare.verdict(ratio, noise) == word


def test_compare_command(bench_json, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["bench_compare", str(bench_json), str(bench_json),
                                     "--filter", "^softmax/float/.*/4096$"])
    assert bench_compare.main() == 0
    out = capsys.readouterr().out.split("\n")
    assert out[0].split() == ["benchmark", "A", "ns/el", "B", "ns/el", "B/A", "noise", "verdict"]
    assert any(line.startswith("softmax/float/stable/4096") and line.endswith("same (within noise)")
               for line in out)
    assert "5 same (within noise)" in out


def record(name, ns, error=None):
    return dict(bench_data.parse_name(name), name=name, ns=ns, error=error)


def test_threads_storage_and_mask_sections():
    """The threads table (speedup, and the two-thread time over the two-thread floor), the
    16-bit table (against float, same implementation and n) and the scale + mask table."""
    names = {"scores/float/fast@avx2/32x512/t:1": 2.0, "scores/float/fast@avx2/32x512/t:2": 1.25,
             "roofline/read/16384/t:2": 0.25, "roofline/copy_nt/16384/t:2": 0.75,
             "roofline/read/16384": 9.0,  # one thread: not the two-thread floor
             "vocab/bf16/fast@avx2/256000/t:1": 1.0, "vocab/bf16/fast@avx2/256000/t:2": 0.5,
             "softmax/bf16/fast@avx2/4096": 0.5, "softmax/float/fast@avx2/4096": 0.4,
             "masked/float/fast@avx2/4096": 0.44}
    records = {name: record(name, ns) for name, ns in names.items()}
    facts = {"fast@avx2": {"origin": "softlab", "isa": "avx2", "variant_of": None}}
    threads = "\n".join(bench_report.threads_section(records, facts))
    assert "| scores | float | fast@avx2 | 32x512 | 2 | 2: 1.25 | 1.60× | 1.25 |" in threads
    assert "| vocab | bf16 | fast@avx2 | 256000 | 1 | 2: 0.5 | 2.00× | — |" in threads
    narrow = "\n".join(bench_report.narrow_storage_section(
        records, {"softlab_storage_bits": "float:0,bf16:16"}, facts))
    assert "| bf16 | fast@avx2 | 4096 | 0.5 | 0.4 | 1.25 |" in narrow
    masked = "\n".join(bench_report.masked_section(records, facts))
    assert "| float | fast@avx2 | 4096 | 0.44 | 0.4 | 1.10 |" in masked
    assert bench_report.threads_section({}, facts) == []


def test_attention_names_parse():
    assert bench_data.parse_name("attention/float/flash@avx2/prefill/8x512x1024x64/t:1") == {
        "op": "attention", "type": "float", "impl": "flash@avx2", "phase": "prefill",
        "heads": 8, "q_len": 512, "kv_len": 1024, "d": 64, "causal": False, "threads": 1}
    causal = bench_data.parse_name("attention/bf16/torch_sdpa/prefill/1x2048x2048x128/causal/t:2")
    assert (causal["impl"], causal["causal"], causal["threads"]) == ("torch_sdpa", True, 2)
    assert bench_data.parse_name("attention/bf16/materialized:fast@avx2/decode/8x4096x128/t:2") \
        == {"op": "attention", "type": "bf16", "impl": "materialized:fast@avx2",
            "phase": "decode", "heads": 8, "q_len": 1, "kv_len": 4096, "d": 128,
            "causal": False, "threads": 2}
    floor = bench_data.parse_name("attention/f16/read_floor/decode/8x131072x128/t:1")
    assert (floor["impl"], floor["phase"], floor["kv_len"]) == (bench_data.READ_FLOOR, "decode",
                                                                131072)
    assert bench_data.parse_name("roofline/fma_peak@avx2/t:2") == {
        "op": "roofline", "kind": "fma_peak", "isa": "avx2", "type": None, "threads": 2}
    assert bench_data.parse_name("roofline/copy_nt/16384/t:2")["n"] == 16384  # still parsed
    for malformed in ("attention/float/flash@avx2/prefill/8x512x64/t:1",        # 3 dimensions
                      "attention/float/flash@avx2/decode/8x1x4096x128/t:1",     # 4 dimensions
                      "attention/float/flash@avx2/decode/8x4096x128/causal/t:1",
                      "attention/float/flash@avx2/prefill/8x512x512x64/dense/t:1",
                      "attention/float/flash@avx2/prefill/8x512x512x64",         # no threads
                      "attention/float/flash@avx2/prefill/8x512x512x64/2",
                      "attention/float/flash@avx2/prefill/8x0x512x64/t:1",
                      "attention/float/flash@avx2/encode/8x512x512x64/t:1",
                      "attention/float/read_floor/prefill/8x512x512x64/t:1",
                      "attention/float//decode/8x4096x128/t:1",
                      "attention/float/flash@avx2/decode/8xmanyx128/t:1",
                      "roofline/fma_peak@avx2/1", "roofline/fma_peak@avx2",
                      "roofline/fma_peak@/t:1", "roofline/fma_peak@avx2/t:1/x",
                      "roofline/fma_peak/t:1"):
        assert bench_data.parse_name(malformed) is None, malformed


def test_attention_records(attention_bench_json):
    records = bench_data.load(str(attention_bench_json))["records"]
    assert len(records) == 21  # every benchmark of the slice, the fma peak among them
    flash = records["attention/bf16/flash@avx2/decode/8x32768x128/t:2"]  # /real_time stripped
    assert flash["gflops"] == pytest.approx(16.947887730355394)  # the median, not the mean
    assert flash["real_ns"] == pytest.approx(7919436.931341147)
    assert flash["noise"] == pytest.approx(0.04073860250425684)  # ns_per_element's cv
    peak = records["roofline/fma_peak@avx2/t:1"]
    assert (peak["kind"], peak["isa"], peak["gflops"]) == ("fma_peak", "avx2",
                                                           pytest.approx(98.63750711244845))
    softmax = bench_data.load(str(FIXTURES / "bench" / "bench.json"))["records"]
    assert math.isnan(softmax["softmax/float/stable/4096"]["gflops"])  # no such counter


def test_real_time_is_converted_to_ns(tmp_path):
    runs = [{"name": "attention/float/flash@avx2/decode/2x64x8/t:1", "run_type": "iteration",
             "real_time": ms, "time_unit": "ms", "GFLOP/s": 1.0} for ms in (1.5, 2.0, 4.0)]
    path = write(tmp_path / "ms.json", json.dumps({"context": {}, "benchmarks": runs}))
    record = bench_data.load(str(path))["records"]["attention/float/flash@avx2/decode/2x64x8/t:1"]
    assert record["real_ns"] == pytest.approx(2e6)


def table_rows(lines, header_start):
    """The cells of the markdown table whose header line starts with header_start."""
    lines = "\n".join(lines).split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def number(cell):
    return float(cell.rstrip("%"))


def test_attention_section_on_the_zen3_run(attention_bench_json):
    """Every row's figures recomputed here from the fixture's medians and context."""
    document = json.loads(attention_bench_json.read_text(encoding="utf-8"))
    median = {b["run_name"].removesuffix("/real_time"): b for b in document["benchmarks"]
              if b["aggregate_name"] == "median"}
    origin = {key.split(":", 1)[1]: value.split(";")[0]
              for key, value in document["context"].items() if key.startswith("softlab_impl:")}
    peers = {impl for impl, text in origin.items() if text != "origin=softlab"}
    assert peers == {"onednn_composed", "torch_composed", "torch_sdpa"}
    peak = median["roofline/fma_peak@avx2/t:1"]["GFLOP/s"]  # the only peak: every entry's

    def ms(name):
        return median[name]["real_time"] / 1e6  # the fixture's time_unit is ns

    loaded = bench_data.load(str(attention_bench_json))
    lines = bench_report.attention_section(loaded["records"], loaded["implementations"])
    assert lines[0] == "## Attention"
    text = "\n".join(lines)
    assert "set against the run's highest: fma_peak@avx2 (98.6 GFLOP/s) at t:1" in text

    prefill = table_rows(lines, "| type | shape | threads | implementation | GFLOP/s | ms | %")
    impls = ["flash@avx2", "materialized:fast@avx2", "onednn_composed", "torch_composed",
             "torch_sdpa"]  # softlab's, then the peers
    assert [row[3] for row in prefill] == impls * 2
    for row in prefill:
        causal = row[1].endswith(" causal")
        name = (f"attention/float/{row[3]}/prefill/1x2048x2048x128/"
                + ("causal/" if causal else "") + "t:1")
        dense = f"attention/float/{row[3]}/prefill/1x2048x2048x128/t:1"
        group = [n for n in median if n.startswith("attention/float/") and "/prefill/" in n
                 and n.endswith("/causal/t:1") == causal and n.split("/")[2] in peers]
        fastest_peer = min(ms(n) for n in group)
        assert row[:3] == ["float", "1x2048x2048x128" + (" causal" if causal else ""), "1"]
        assert number(row[4]) == pytest.approx(median[name]["GFLOP/s"], rel=5e-3)
        assert number(row[5]) == pytest.approx(ms(name), rel=5e-3)
        assert number(row[6]) == pytest.approx(100 * median[name]["GFLOP/s"] / peak, abs=0.5)
        assert number(row[7]) == pytest.approx(fastest_peer / ms(name), abs=5e-3)
        if causal:
            assert number(row[8]) == pytest.approx(ms(name) / ms(dense), abs=5e-3)
        else:
            assert row[8] == "—"

    decode = table_rows(lines, "| type | shape | threads | implementation | GFLOP/s | ms | /")
    assert [row[3] for row in decode] == (["read_floor (memory floor)", "flash@avx2",
                                           "materialized:fast@avx2", "torch_composed",
                                           "torch_sdpa"] * 2)
    for row in decode:
        threads = row[2]
        impl = "read_floor" if row[3].startswith("read_floor") else row[3]
        name = f"attention/bf16/{impl}/decode/8x32768x128/t:{threads}"
        floor = f"attention/bf16/read_floor/decode/8x32768x128/t:{threads}"
        fastest_peer = min(ms(f"attention/bf16/{p}/decode/8x32768x128/t:{threads}")
                           for p in ("torch_composed", "torch_sdpa"))
        assert row[:2] == ["bf16", "8x32768x128"]
        assert number(row[4]) == pytest.approx(median[name]["GFLOP/s"], rel=5e-3)
        assert number(row[5]) == pytest.approx(ms(name), rel=5e-3)
        assert number(row[6]) == pytest.approx(ms(name) / ms(floor), abs=5e-3)
        if impl == "read_floor":
            assert row[7] == "—"
        else:
            assert number(row[7]) == pytest.approx(fastest_peer / ms(name), abs=5e-3)


def test_the_arithmetic_peak_of_each_entry():
    """An entry's own instruction set's peak; a peer's own dispatch or scalar code: the
    highest at that thread count; none measured: no share."""
    names = {"roofline/fma_peak@sse2/t:1": 40.0, "roofline/fma_peak@avx2/t:1": 100.0,
             "attention/float/flash@sse2/prefill/1x64x64x8/t:1": 20.0,
             "attention/float/materialized:stable/prefill/1x64x64x8/t:1": 5.0,
             "attention/float/peer/prefill/1x64x64x8/t:1": 50.0,
             "attention/float/flash@sse2/prefill/1x64x64x8/t:2": 30.0}
    records = {name: dict(bench_data.parse_name(name), name=name, gflops=gflops,
                          real_ns=1e6 / gflops, error=None) for name, gflops in names.items()}
    facts = {"flash@sse2": {"origin": "softlab", "isa": "sse2", "variant_of": None},
             "materialized:stable": {"origin": "softlab", "isa": "-", "variant_of": None},
             "peer": {"origin": "a library", "isa": "native", "variant_of": None}}
    peaks = bench_report.fma_peaks(records)
    assert bench_report.arithmetic_peak("flash@sse2", 1, peaks, facts)["isa"] == "sse2"
    assert bench_report.arithmetic_peak("materialized:stable", 1, peaks, facts)["isa"] == "avx2"
    assert bench_report.arithmetic_peak("peer", 1, peaks, facts)["isa"] == "avx2"
    assert bench_report.arithmetic_peak("flash@sse2", 2, peaks, facts) is None
    rows = table_rows(bench_report.attention_section(records, facts), "| type | shape |")
    assert [(row[3], row[6], row[7]) for row in rows] == [
        ("flash@sse2", "50%", "0.40"), ("materialized:stable", "5%", "0.10"),
        ("peer", "50%", "1.00"), ("flash@sse2", "—", "—")]
    assert bench_report.memory_floor(records) == {}  # the peaks are no memory reference


def test_the_page_renders_attention(attention_bench_json, loaded, tmp_path, monkeypatch):
    """The attention section on the page; a run without attention benchmarks has none."""
    monkeypatch.setattr("sys.argv", ["bench_report", "--json", str(attention_bench_json),
                                     "--accuracy", str(tmp_path / "none.csv"), "--out",
                                     str(tmp_path)])
    assert bench_report.main() == 0
    page = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "## Attention\n" in page and "### Prefill\n" in page and "### Decode\n" in page
    assert "| bf16 | 8x32768x128 | 2 | read_floor (memory floor) | 24.9 | 5.39 | 1.00 | — |" \
        in page
    assert bench_report.attention_section(loaded["records"], loaded["implementations"]) == []
