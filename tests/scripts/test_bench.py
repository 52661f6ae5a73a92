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
        "rows": 1}
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
