"""softlab_report.accuracy_data: loading, validation (errors name the file and the problem) and
the vocabulary the study's files carry."""

import json

import pytest

from conftest import write
from softlab_report import accuracy_data as data

HEADER = "implementation,type,isa,family,n,vectors,max_ulp,max_ulp_normal,nan_count,inf_count," \
         "wrong_zero_count"


def test_fixture_loads_with_counts_as_int(accuracy_dir):
    cells = data.read_accuracy_cells(str(accuracy_dir / "accuracy.csv"))
    assert len(cells) == 23
    first = cells[0]
    assert (first["implementation"], first["type"], first["isa"], first["family"]) == \
        ("stable", "float", "-", "uniform_1")
    assert first["n"] == 10 and isinstance(first["n"], int)
    assert first["max_ulp"] == 1.5
    assert first["origin"] == "softlab"
    assert first["worst_x"] == "0x1p-1"  # text columns stay text


def test_study_index_and_vocabulary_from_the_csv(accuracy_dir):
    cells = data.read_accuracy_cells(str(accuracy_dir / "accuracy.csv"))
    study = data.Study(cells, [])
    assert study.types == ["float", "long-double"]
    assert study.variants == [("stable", "-"), ("fast", "avx2"), ("torch", "native")]
    assert study.families_of("float", special=True) == ["one_nan", "fully_masked"]
    assert study.families_of("float", special=False) == ["uniform_1", "wide_80", "large_n"]
    assert study.families_of("long-double") == ["uniform_1", "wide_80"]
    assert study.variants_of("long-double") == [("stable", "-")]
    assert study.is_nan_family("one_nan") and not study.is_nan_family("fully_masked")
    vocabulary = study.vocabulary
    assert vocabulary.kind("wide_80") == "wide"
    assert vocabulary.kind("unheard_of") == "finite"  # unclassified: finite
    assert vocabulary.family_sizes["large_n"] == "large"
    assert vocabulary.precision_bits == {"float": 24, "long-double": 64}
    assert vocabulary.main_types(study.types) == ["float"]
    assert vocabulary.primary_type(study.types) == "float"
    assert [c["n"] for c in study.rows("float", ("fast", "avx2"), "uniform_1")] == [10, 1000]


def test_family_order_from_the_json_then_the_rest(accuracy_dir):
    cells = data.read_accuracy_cells(str(accuracy_dir / "accuracy.csv"))
    study = data.Study(cells, ["large_n", "wide_80"])
    assert study.families == ["large_n", "wide_80", "uniform_1", "one_nan", "fully_masked"]


def test_vocabulary_from_the_json_when_the_csv_lacks_it(tmp_path, accuracy_dir):
    csv_path = write(tmp_path / "accuracy.csv",
                     HEADER + "\nstable,double,-,one_nan,10,1,0,nan,10,0,0\n")
    cells = data.read_accuracy_cells(str(csv_path))
    document = data.read_json(str(accuracy_dir / "accuracy.json"))
    vocabulary = data.Vocabulary(cells, document)
    assert vocabulary.is_nan_family("one_nan")
    assert vocabulary.is_special("fully_masked")
    assert not vocabulary.is_special("wide_80")
    assert vocabulary.precision_bits["long-double"] == 64
    assert "double" not in vocabulary.precision_bits  # neither file says: compared exactly
    assert vocabulary.main_types(["long-double", "float"]) == ["float"]
    assert vocabulary.primary_type(["long-double"]) == "long-double"


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "accuracy.csv"
    with pytest.raises(data.InputError, match=r"accuracy\.csv: file missing"):
        data.read_accuracy_cells(str(path))


def test_empty_file(tmp_path):
    path = write(tmp_path / "accuracy.csv", "")
    with pytest.raises(data.InputError, match=r"accuracy\.csv: empty file \(no header line\)"):
        data.read_accuracy_cells(str(path))


def test_header_only_has_no_rows(tmp_path):
    path = write(tmp_path / "accuracy.csv", HEADER + "\n")
    with pytest.raises(data.InputError, match=r"accuracy\.csv: no data rows"):
        data.read_accuracy_cells(str(path))


def test_missing_columns_are_listed(tmp_path):
    path = write(tmp_path / "accuracy.csv", "implementation,type,isa\nstable,float,-\n")
    with pytest.raises(data.InputError) as error:
        data.read_accuracy_cells(str(path))
    message = str(error.value)
    assert message.startswith(str(path) + ": missing column(s) family, n, vectors, max_ulp")


def test_ragged_row_names_its_line(tmp_path):
    path = write(tmp_path / "accuracy.csv",
                 HEADER + "\nstable,float,-,uniform_1,10,1,1,1,0,0,0\nstable,float,-\n")
    with pytest.raises(data.InputError, match=r"accuracy\.csv: line 3 has 3 fields, the header 11"):
        data.read_accuracy_cells(str(path))


def test_value_not_a_number_names_line_and_column(tmp_path):
    path = write(tmp_path / "accuracy.csv",
                 HEADER + "\nstable,float,-,uniform_1,10,1,one,1,0,0,0\n")
    with pytest.raises(data.InputError, match=r"line 2, column max_ulp: 'one' is not a number"):
        data.read_accuracy_cells(str(path))


def test_count_must_be_a_whole_number(tmp_path):
    path = write(tmp_path / "accuracy.csv", HEADER + "\nstable,float,-,uniform_1,2.5,1,1,1,0,0,0\n")
    with pytest.raises(data.InputError, match=r"line 2, column n: not a count \(2.5\)"):
        data.read_accuracy_cells(str(path))


def test_a_family_with_two_kinds_is_refused(tmp_path):
    path = write(tmp_path / "accuracy.csv",
                 HEADER + ",family_kind\n"
                 "stable,float,-,one_nan,10,1,0,nan,10,0,0,nan\n"
                 "fast,float,-,one_nan,10,1,0,nan,10,0,0,finite\n")
    with pytest.raises(data.InputError) as error:
        data.read_accuracy_cells(str(path))
    assert "line 3, column family_kind: 'finite' for family one_nan, but 'nan' on line 2" \
        in str(error.value)


def test_unsupported_and_dash_read_as_none(tmp_path):
    path = write(tmp_path / "accuracy.csv",
                 HEADER + "\nstable,float,-,uniform_1,10,1,-,unsupported,0,0,0\n")
    cell = data.read_accuracy_cells(str(path))[0]
    assert cell["max_ulp"] is None and cell["max_ulp_normal"] is None


def test_json_errors_name_the_file(tmp_path):
    bad = write(tmp_path / "accuracy.json", "{not json")
    with pytest.raises(data.InputError, match=r"accuracy\.json: not valid JSON"):
        data.read_json(str(bad))
    listed = write(tmp_path / "list.json", "[]")
    with pytest.raises(data.InputError, match=r"list\.json: the top level is not an object"):
        data.read_json(str(listed))
    wrong = write(tmp_path / "wrong.json", json.dumps({"families": {}}))
    with pytest.raises(data.InputError, match=r'wrong\.json: "families" is not a list'):
        data.read_json(str(wrong))
    lacking = write(tmp_path / "lacking.json",
                    json.dumps({"special_values": [{"type": "float", "input": "x"}]}))
    with pytest.raises(data.InputError,
                       match=r"lacking\.json: special_values\[0\] lacks implementation, expected, "
                             r"softmax"):
        data.read_json(str(lacking))


def test_load_optional_records_why(tmp_path, capsys):
    problems = {}
    missing = str(tmp_path / "blanchard.csv")
    assert data.load_optional(data.read_json, missing, problems) is None
    assert problems[missing] == f"not run (file {missing} missing)"
    broken = str(write(tmp_path / "accuracy.json", "{"))
    assert data.load_optional(data.read_json, broken, problems) is None
    assert problems[broken].startswith(f"not shown: {broken}: not valid JSON")
    assert "warning" in capsys.readouterr().err


def test_largest_total_median():
    rows = [{"v": 1.0, "c": 2}, {"v": float("nan"), "c": 3}, {"v": float("inf"), "c": None},
            {"v": None, "c": 1}]
    value, row = data.largest(rows, "v")
    assert value == float("inf") and row is rows[2]
    assert data.largest([], "v") == (None, None)
    assert data.total(rows, "c") == 6
    assert data.median([3.0, float("nan"), 1.0, None, 2.0]) == 2.0
    assert data.median([]) is None


def test_variant_label():
    assert data.variant_label("xsimd", "avx2") == "xsimd (avx2)"
    assert data.variant_label("stable", "-") == "stable"
    assert data.variant_label("torch", "native") == "torch"
