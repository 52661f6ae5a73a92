"""One page per report, rendered end to end from the fixtures into a temporary directory:
accuracy.md, bench.md and index.md, with the figures they link."""

import re
import shutil
import sys

import pytest

import bench_report
import index_report
from softlab_report import accuracy_page


def linked_images(page):
    return re.findall(r"\]\((img/[^)]+\.png)\)", page)


def test_accuracy_page(accuracy_dir, tmp_path):
    written = accuracy_page.build_report(str(accuracy_dir), str(tmp_path))
    page = (tmp_path / "accuracy.md").read_text(encoding="utf-8")
    assert str(tmp_path / "accuracy.md") in written
    for section in ("# softlab: softmax accuracy report", "## The answer",
                    "## How this was measured", "## Headline tables", "### float",
                    "### Other types (long-double)", "## Heatmaps",
                    "## Error against the distance below the max", "## Error against n",
                    "## Condition", "## Blanchard, Higham & Higham (2021) reproduction",
                    "## Special values", "## Reproduce"):
        assert "\n" + section + "\n" in "\n" + page, section
    assert "| torch | 4.2 | 65.5 † | NaN | ✗ 5 of 20 not NaN | 1650 |" in page
    assert "| long-double | stable | 0.5 | 12 |" in page
    assert "Run on 2026-12-01T00:00:00Z on fixture" in page
    assert "- `one_nan`: a NaN score" in page
    # Blanchard: 4 MNIST vectors, the overflow counted, the paper's 475 of 2500 not matched.
    assert "The unshifted logsumexp overflows on 1 of 4 vectors, the shifted softmax on 0: " \
           "this does not confirm the paper's 475 of 2500 and 0" in page
    assert "| fp16sim | theirs:basic | 3.3 | 1/4 |" in page
    assert "| float | stable | — | 0/4 | — | — | 0.9 |" in page
    # The condition table: finite families only (torch's NaN cells are in the special ones).
    assert "| torch | 2 | uniform_1, n = 10 | 1.9 | 0 |" in page
    # The special values: float first, expected row, the torch failure.
    assert "| stable | [0, 0, 0, 0] ✓ | [0.269, 0.731] ≈ |" in page
    assert "`softlab accuracy --out DATA`, `softlab blanchard --out " in page
    images = linked_images(page)
    assert len(images) == 6
    for image in images:
        assert (tmp_path / image).read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.rglob("*.tmp"))


def test_accuracy_page_shows_the_python_callables_beside_the_peers(accuracy_dir, tmp_path):
    # python_accuracy.csv: cells in accuracy.csv's columns (python/benchmarks/accuracy.py --csv),
    # here two of SciPy's on the fixture's families.
    data = tmp_path / "data"
    shutil.copytree(accuracy_dir, data)
    header = (accuracy_dir / "accuracy.csv").read_text(encoding="utf-8").splitlines()[0]
    (data / "python_accuracy.csv").write_text(
        header + "\n"
        "scipy.special.softmax,python,float,-,uniform_1,10,4,11,3.5,3.5,3.9,0,0,0,0,0x1p-1,"
        "finite,standard,24,true\n"
        "scipy.special.softmax,python,float,-,one_nan,10,1,13,inf,inf,nan,0,0,0,10,0x1p-1,"
        "nan,special,24,true\n", encoding="utf-8")
    accuracy_page.build_report(str(data), str(tmp_path))
    page = (tmp_path / "accuracy.md").read_text(encoding="utf-8")
    assert "origin `python`, from " + str(data / "python_accuracy.csv") in page
    row = next(line for line in page.splitlines() if line.startswith("| scipy.special.softmax |"))
    assert row.startswith("| scipy.special.softmax | 3.5 |"), row
    # Its NaN-family cell (10 results not NaN) is judged like a C++ peer's.
    assert "✗" in row, row


def test_accuracy_page_without_the_optional_files(accuracy_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(accuracy_dir / "accuracy.csv", data)
    accuracy_page.build_report(str(data), str(tmp_path))
    page = (tmp_path / "accuracy.md").read_text(encoding="utf-8")
    assert f"not run (file {data / 'accuracy.json'} missing)." in page
    assert f"not run (file {data / 'blanchard_summary.csv'} missing)." in page
    assert f"not run (file {data / 'python_accuracy.csv'} missing)." in page
    # The CSV alone carries the vocabulary: the NaN family is still judged as one (the
    # families in the CSV's order, without the JSON's).
    assert "| stable | 2.0 | 65.5 | 12700 | NaN ✓ | (0.0) |" in page


def test_accuracy_command_fails_clearly_on_a_bad_csv(tmp_path, monkeypatch, capsys):
    (tmp_path / "accuracy.csv").write_text("implementation\nstable\n", encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["accuracy_report", "--data", str(tmp_path),
                                      "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        accuracy_page.main()
    assert str(exit_.value).startswith(f"accuracy_report: {tmp_path / 'accuracy.csv'}: "
                                       "missing column(s) type, isa, family")
    assert not (tmp_path / "accuracy.md").exists()


def test_bench_page(bench_json, accuracy_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench_report", "--json", str(bench_json), "--accuracy",
                                      str(accuracy_dir / "accuracy.csv"), "--out", str(tmp_path)])
    assert bench_report.main() == 0
    page = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "- n = 4096: fastest softlab implementation fast@avx2 at 0.25 ns/element, fastest " \
           "peer onednn at 0.4 ns/element (1.60× the peer's speed); the two-pass memory floor " \
           "is 0.15 ns/element." in page
    assert "## softmax, float\n" in page and "## softmax, double\n" in page
    assert page.index("## softmax, float") < page.index("## softmax, double")
    assert "| torch_alloc | — | 0.3 (1.33×) [2.0] |" in page
    assert "| double | stable | 4096 |" not in page  # no data-dependent double run
    assert "| float | stable | 4096 | wide | 3 | 1.50 |" in page
    assert "- `softmax/float/onednn/16`: onednn: no such size" in page
    assert "on wide scores (wide_80) and on long sums (large_n, n = 10^6)" in page
    assert "| 4096 | 80 GB/s | 80 GB/s | 40 GB/s | — | 0.15 |" in page
    for image in linked_images(page):
        assert (tmp_path / image).read_bytes()[:4] == b"\x89PNG"
    assert len(linked_images(page)) == 3
    assert str(tmp_path / "bench.md") in capsys.readouterr().out


def test_bench_page_refuses_a_file_without_benchmarks(tmp_path, monkeypatch, capsys):
    (tmp_path / "bench.json").write_text('{"context": {}, "benchmarks": []}', encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["bench_report", "--json", str(tmp_path / "bench.json"),
                                      "--out", str(tmp_path)])
    assert bench_report.main() == 2
    assert "no softlab-bench benchmark in it" in capsys.readouterr().err


def test_index_page(bench_json, accuracy_dir, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(accuracy_dir / "accuracy.csv", data)
    shutil.copy(bench_json, data)
    monkeypatch.setattr(sys, "argv", ["index_report", "--data", str(data), "--out", str(tmp_path)])
    assert index_report.main() == 0
    page = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "- **For accuracy: `fast@avx2`**: its largest error over every finite family at " \
           "n ≤ 1000 is 2.2 ULP (wide_80, n = 10); at n = 10^6 1.6 ULP. Runner-up: `stable` " \
           "(65.5 ULP)." in page
    assert "- **For speed: `fast@avx2`** at 0.25 ns per element at n = 4096" in page
    assert "Not: `torch` (hides a NaN (5 of 20 outputs not NaN))." in page


def test_index_page_without_a_benchmark(accuracy_dir, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(accuracy_dir / "accuracy.csv", data)
    monkeypatch.setattr(sys, "argv", ["index_report", "--data", str(data), "--out", str(tmp_path)])
    assert index_report.main() == 0
    assert "- For speed: no benchmark run in report/data/bench.json." in \
        (tmp_path / "index.md").read_text(encoding="utf-8")
