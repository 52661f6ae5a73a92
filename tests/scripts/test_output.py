"""softlab_report.output: number formats, Markdown tables, atomic writes."""

import math

import pytest

from softlab_report import output


@pytest.mark.parametrize("value, text", [
    (None, "—"), (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (0.0, "0"),
    (1.0, "1"), (65.5, "65.5"), (12345.0, "12300"), (12700.0, "12700"), (0.5, "0.5"),
    (0.000123, "1.23e-4"), (1.2e7, "1.2e7"), (-2.5e-5, "-2.5e-5"), (999.95, "1000"),
])
def test_fmt_sig(value, text):
    assert output.fmt_sig(value) == text


@pytest.mark.parametrize("value, text", [
    (3.14159, "3.1"), (0.0, "0.0"), (9.96, "10.0"), (65.5, "65.5"), (12700.0, "12700"),
    (None, "—"), (math.inf, "inf"),
])
def test_fmt_ulp_one_decimal_below_ten(value, text):
    assert output.fmt_ulp(value) == text


def test_fmt_g():
    assert output.fmt_g(0.123456) == "0.123"
    assert output.fmt_g(12.5, 2) == "12"
    assert output.fmt_g(None) == "—"
    assert output.fmt_g(math.nan) == "—"


def test_md_table_shape_and_escaping():
    table = output.md_table(["name", "value"], [["a|b", 1], ["c", 2.5]])
    assert table.split("\n") == [
        "| name | value |",
        "| --- | --- |",
        "| a\\|b | 1 |",
        "| c | 2.5 |",
    ]


def test_md_table_without_rows_is_the_header():
    assert output.md_table(["x"], []) == "| x |\n| --- |"


def test_join_names_and_unique():
    assert output.join_names([]) == ""
    assert output.join_names(["a"]) == "a"
    assert output.join_names(["a", "b", "c"]) == "a, b and c"
    assert output.unique(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_write_atomically_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "page.md"
    path.write_text("old", encoding="utf-8")
    output.write_atomically(str(path), "new ✓\n")
    assert path.read_text(encoding="utf-8") == "new ✓\n"
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]


def test_save_figure_writes_a_png_atomically(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    path = tmp_path / "plot.png"
    output.save_figure(fig, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]
    assert not plt.fignum_exists(fig.number)  # closed
