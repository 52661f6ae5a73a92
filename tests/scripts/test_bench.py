"""bench_data, bench_report and bench_compare: the benchmark JSON, its context's facts, the
peer comparisons and the compare verdicts."""

import json

import pytest

import bench_compare
import bench_data
import bench_report
from conftest import write


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
