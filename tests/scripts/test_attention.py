"""softlab_report.attention: the attention section from a small fixture (two families, two
types, a fused and a materialized implementation and a peer), tables, sentences and figures
from the data."""

from conftest import FIXTURES
from softlab_report import accuracy_page, attention


def load():
    cells = attention.read_attention_cells(str(FIXTURES / "attention" / "attention.csv"))
    document = accuracy_page.read_json(str(FIXTURES / "attention" / "attention.json"))
    return cells, document


def test_the_study_orders_by_the_json_and_labels_by_isa():
    cells, document = load()
    study = attention.AttentionStudy(cells, document)
    assert study.types == ["float", "bf16"]
    assert study.families == ["keep_mask", "gaussian_d64"]
    assert study.labels == ["materialized:online@avx2", "flash@avx2", "torch_sdpa"]
    assert attention.fused_pairs(study) == [("flash@avx2", "materialized:online@avx2")]
    assert "materialized:online@avx2, flash@avx2: 0 on 8/8 rows; torch_sdpa: NaN on 8/8 rows" \
        in attention.masked_answer(study)


def test_the_comparison_is_computed_from_the_data():
    cells, document = load()
    study = attention.AttentionStudy(cells, document)
    medians, maxima = attention.comparison(study, "flash@avx2", "materialized:online@avx2",
                                           "float")
    assert medians == [2.0, 0.5] and maxima == [2.0, 0.5]
    table, sentence = attention.comparison_section(study)
    assert "| flash@avx2 | materialized:online@avx2 | bf16 | 2 | 1.25x |" in table
    assert "flash@avx2's componentwise error over materialized:online@avx2's" in sentence
    assert "1.25x (median error) and 1.25x (max error) in float" in sentence
    assert "flash@avx2 is as accurate as materialized:online@avx2 (within a factor 2) in " \
        "float, bf16" in sentence


def test_bound_and_masked_rows():
    cells, document = load()
    study = attention.AttentionStudy(cells, document)
    assert "stayed within it on all" in attention.bound_answer(study)
    masked = attention.masked_rows_table(study)
    assert "| torch_sdpa | NaN on 4/4 | NaN on 4/4 |" in masked
    assert "| flash@avx2 | 0 on 4/4 | 0 on 4/4 |" in masked
    cells[0]["over_bound_count"] = 3.0
    cells[0]["max_ratio_to_bound"] = 1.5
    assert "**Finding: the stated bound was exceeded** in 1 of 8" in \
        attention.bound_answer(attention.AttentionStudy(cells, document))


def test_the_section_alone(tmp_path):
    cells, document = load()
    document["errors"] = ["torch_sdpa f16 native keep_mask: unsupported type"]
    report = accuracy_page.Report(str(tmp_path))
    attention.section(report, cells, document, "missing")
    report.save()
    page = (tmp_path / "accuracy.md").read_text(encoding="utf-8")
    for heading in ("## Attention", "### Componentwise error by family", "#### bf16",
                    "### Against the materialized implementations", "### Fully masked rows"):
        assert "\n" + heading + "\n" in "\n" + page, heading
    assert "| materialized:online@avx2 | 3 (1) | 4 (1) |" in page
    assert "| torch_sdpa | 3 | 0.3 | 64 | unsupported |" in page
    assert "- torch_sdpa f16 native keep_mask: unsupported type" in page
    for image in ("attention_componentwise.png", "attention_ratio_to_bound.png"):
        assert f"(img/{image})" in page
        assert (tmp_path / "img" / image).read_bytes()[:4] == b"\x89PNG"


def test_the_section_without_the_files(tmp_path):
    report = accuracy_page.Report(str(tmp_path))
    attention.section(report, None, None, "not run (file DATA/attention.csv missing)")
    assert "not run (file DATA/attention.csv missing). Run `softlab accuracy --attention`" in \
        "".join(report.parts)
