"""softlab_report.verdicts and special_values: contract failures, safe, the headline cells, the
answer's sentences and the special-value comparison, on the fixture study."""

import pytest

from softlab_report import accuracy_data as data
from softlab_report import special_values as sv
from softlab_report import verdicts


@pytest.fixture
def study(accuracy_dir):
    cells = data.read_accuracy_cells(str(accuracy_dir / "accuracy.csv"))
    document = data.read_json(str(accuracy_dir / "accuracy.json"))
    return data.Study(cells, [f["name"] for f in document["families"]],
                      data.Vocabulary(cells, document))


@pytest.fixture
def specials(accuracy_dir):
    return data.read_json(str(accuracy_dir / "accuracy.json"))["special_values"]


def cell(n=10, vectors=1, nan=0, inf=0, max_ulp=1.0, **extra):
    row = {"n": n, "vectors": vectors, "nan_count": nan, "inf_count": inf, "max_ulp": max_ulp,
           "max_ulp_normal": max_ulp, "wrong_zero_count": 0, "wrong_nonzero_count": 0,
           "family": "f"}
    row.update(extra)
    return row


def test_bad_outputs_on_finite_and_nan_families():
    assert verdicts.bad_outputs([cell()], nan_family=False) is None
    assert verdicts.bad_outputs([cell(nan=1, max_ulp=float("inf"))], nan_family=False) == "NaN"
    assert verdicts.bad_outputs([cell(inf=2)], nan_family=False) == "inf"
    # The NaN family: every output NaN is the answer, a number the failure.
    assert verdicts.bad_outputs([cell(nan=10, max_ulp=0)], nan_family=True) is None
    assert verdicts.bad_outputs([cell(nan=7, vectors=1)], nan_family=True) == "3 of 10 not NaN"
    # Exact NaN everywhere on a finite family is the generator's doing, not the kernel's.
    assert verdicts.exact_is_nan([cell(nan=10, max_ulp=0)])
    assert verdicts.bad_outputs([cell(nan=10, max_ulp=0)], nan_family=False) is None


def test_headline_cells():
    assert verdicts.headline_cell([], False) == "—"
    assert verdicts.headline_cell([cell(max_ulp=65.49)], False) == "65.5"
    assert verdicts.headline_cell([cell(max_ulp=2.04), cell(max_ulp=1.0)], False) == "2.0"
    assert verdicts.headline_cell([cell(wrong_zero_count=3)], False) == "1.0 †"
    assert verdicts.headline_cell([cell(wrong_nonzero_count=1)], False) == "1.0 ‡"
    assert verdicts.headline_cell([cell(nan=10, max_ulp=0)], True) == "NaN ✓"
    assert verdicts.headline_cell([cell(nan=4, max_ulp=0)], True) == "✗ 6 of 10 not NaN"
    assert verdicts.headline_cell([cell(nan=10, max_ulp=0)], False) == "exact NaN ⚠"
    assert verdicts.headline_cell([cell(max_ulp=0.0, max_ulp_normal=None)], False) == "(0.0)"


def test_finite_verdict_and_safe(study):
    small = lambda n: n <= verdicts.ROW_SIZE_LIMIT  # noqa: E731
    worst, row, failures = verdicts.finite_verdict(study, "float", ("stable", "-"), small)
    assert (worst, row["family"], row["n"], failures) == (65.5, "wide_80", 1000, [])
    assert not verdicts.is_safe((worst, row, failures))
    fast = verdicts.finite_verdict(study, "float", ("fast", "avx2"), small)
    assert fast[0] == 2.2 and verdicts.is_safe(fast)
    # large_n is finite too: over every size the worst of stable is its long sum.
    assert verdicts.finite_verdict(study, "float", ("stable", "-"))[0] == 12700


def test_headline_table(study):
    lines = verdicts.headline_table(study, "float").split("\n")
    assert lines[0] == "| implementation | uniform_1 | wide_80 | fully_masked | one_nan | large_n |"
    assert lines[2] == "| stable | 2.0 | 65.5 | (0.0) | NaN ✓ | 12700 |"
    assert lines[4] == "| torch | 4.2 | 65.5 † | NaN | ✗ 5 of 20 not NaN | 1650 |"


def test_answer_sentences(study, specials):
    safe = verdicts.answer_safe(study, "float")
    assert "fast (avx2) is safe" in safe
    assert "the best is fast (avx2) at 1.6 ULP (large_n, n = 1000000)" in safe
    assert "the worst stable at 12700 ULP" in safe
    losses = verdicts.answer_losses(study, "float")
    assert losses.startswith("The largest losses there: stable 65.5 ULP (wide_80, n = 1000)")
    assert "torch 65.5 ULP (wide_80, n = 1000, results flushed to 0)" in losses
    answer = verdicts.answer_specials(study, specials, "float")
    assert "stable and fast (avx2) return the contract's answer" in answer
    assert "torch (NaN on 2×, hides a NaN 1×)" in answer


def test_special_failures_count_inputs_and_families(study, specials):
    failures = verdicts.special_failures(study, specials, "float")
    assert failures[("torch", "native")]["NaN"] == ["all -inf", "fully_masked"]
    assert failures[("torch", "native")]["hides NaN"] == ["one_nan (5 of 20 not NaN)"]
    assert failures[("torch", "native")]["far"] == ["[1, 2]"]  # accuracy, not a rule
    assert ("stable", "-") not in failures


def test_data_checks_flag_a_finite_family_with_exact_nan():
    cells = [dict(cell(nan=10, max_ulp=0), implementation="a", isa="-", type="float",
                  family="uniform_1", family_kind="finite"),
             dict(cell(nan=10, max_ulp=0), implementation="a", isa="-", type="float",
                  family="one_nan", family_kind="nan")]
    checks = verdicts.data_checks(data.Study(cells, []))
    assert len(checks) == 1 and checks[0].startswith("float uniform_1: every exact result is NaN")


@pytest.mark.parametrize("expected, got, mark, kinds", [
    (["0", "1"], ["0", "1"], "✓", set()),
    (["nan", "nan"], ["nan", "nan"], "✓", set()),
    (["0.5", "0.5"], ["0.50000006", "0.5"], "≈", set()),  # one float ULP at 0.5
    (["0", "0"], ["nan", "nan"], "✗", {"NaN"}),
    (["nan", "nan"], ["nan", "0"], "✗", {"hides NaN"}),
    (["1e-40", "1"], ["0", "1"], "✗", {"flush"}),
    (["0", "1"], ["0.5", "0.5"], "✗", {"wrong", "far"}),
    (["0.25", "0.75"], ["0.5", "0.5"], "✗", {"far"}),
    (["0", "1"], ["0", "inf"], "✗", {"inf"}),
    (["0", "1"], ["0"], "✗", {"wrong"}),
])
def test_compare_values(expected, got, mark, kinds):
    result_mark, result_kinds, _ = sv.compare_values(expected, got, 24)
    assert (result_mark, result_kinds) == (mark, kinds)


def test_compare_values_without_a_precision_is_exact():
    assert sv.compare_values(["0.5"], ["0.50000006"], None)[1] == {"wrong"}


def test_special_section_table(specials):
    table = sv.special_section(specials, "float", 24)
    lines = table.split("\n")
    assert lines[0] == "| implementation | all -inf | [1, 2] |"
    assert lines[2] == "| expected | [0, 0, 0, 0] | [0.269, 0.731] |"
    assert lines[3] == "| stable | [0, 0, 0, 0] ✓ | [0.269, 0.731] ≈ |"
    assert lines[4].startswith("| torch | NaN×4 ✗ | [0.25, 0.75] ✗ (")
    assert "- torch on all -inf: log_softmax NaN×4 (expected -inf×4)" in table
    assert sv.special_section(specials, "double", 53) is None


def test_narrow_storage_table():
    """The 16-bit section: the types accuracy.json gives 16 storage bits, and per variant the
    worst finite ULP, the results not correctly rounded and the contract failures."""
    cells = [
        dict(cell(max_ulp=0.5, not_correctly_rounded_count=0), type="bf16", implementation="a",
             isa="-", family="uniform_1"),
        dict(cell(max_ulp=0.75, not_correctly_rounded_count=3, n=100, vectors=2), type="bf16",
             implementation="b", isa="avx2", family="uniform_1"),
        dict(cell(nan=10, max_ulp=float("inf"), not_correctly_rounded_count=10), type="bf16",
             implementation="b", isa="avx2", family="fully_masked", family_kind="masks"),
        dict(cell(), type="float", implementation="a", isa="-", family="uniform_1"),
    ]
    document = {"types": [{"name": "bf16", "precision_bits": 8, "ieee_storage": True,
                           "storage_bits": 16},
                          {"name": "float", "precision_bits": 24, "ieee_storage": True,
                           "storage_bits": 32}]}
    vocabulary = data.Vocabulary(cells, document)
    study = data.Study(cells, ["uniform_1", "fully_masked"], vocabulary)
    assert vocabulary.narrow_storage_types(study.types) == ["bf16"]
    table = verdicts.narrow_storage_table(study, "bf16")
    assert "| a | 0.5 | uniform_1, n = 10 | 0 of 10 | none |" in table
    assert "| b (avx2) | 0.8 | uniform_1, n = 100 | 13 of 210 | fully_masked: NaN |" in table
