"""The module against the `softlab` tool (bit for bit), SciPy and PyTorch (within tolerances
made of the stated bounds), and the README's Python example (run as written)."""

import math
import os
import re
import subprocess

import numpy as np
import pytest

import softlab
from conftest import SOFTMAX, stored, values

TOOL = os.environ.get("SOFTLAB_CLI")
# The tool without the peers starts in 40 ms (the full one loads libtorch: 0.8 s of CPU); it
# runs softlab's own entries.
TOOL_WITHOUT_PEERS = os.environ.get("SOFTLAB_CLI_WITHOUT_PEERS") or TOOL
README = os.environ.get("SOFTLAB_README") or os.path.join(
    os.path.dirname(__file__), "..", "..", "README.md")

# Rows with the contract's limits and ordinary scores; every value exact in bfloat16.
ROWS = np.array([[0.5, -1.0, 2.0, 3.0, 0.125, -7.5],
                 [1.0, math.inf, 2.0, math.inf, -2.0, 0.0],
                 [-math.inf] * 6,
                 [1.0, math.nan, 2.0, 3.0, 4.0, 5.0],
                 [88.0, 87.5, -100.0, 0.0, 60.0, 88.0]])


def tool_softmax(impl, token, x, log=False, tool=TOOL):
    """`softlab softmax --rows R --format hex` on x's rows, as float64 values."""
    text = "\n".join(" ".join(float(v).hex() for v in row) for row in x) + "\n"
    args = [tool, "softmax", "--impl", impl, "--type", token, "--rows", str(len(x)),
            "--format", "hex"] + (["--log"] if log else [])
    run = subprocess.run(args, input=text, capture_output=True, text=True, check=True)
    return np.array([float.fromhex(line) for line in run.stdout.split()]).reshape(x.shape)


def tool_cases():
    """Every softlab entry in float32 (the contract's limits included) and `fast` in every
    dtype, plus one peer when the build has one."""
    cases = [(e["name"], "float32") for e in SOFTMAX if e["origin"] == "softlab"]
    fast = next(e for e in SOFTMAX if e["name"] == "fast")
    cases += [("fast", d) for d in fast["dtypes"] if d != "float32"]
    peers = [e for e in SOFTMAX if e["origin"] != "softlab" and "float32" in e["dtypes"]]
    cases += [(e["name"], "float32") for e in peers[:1]]
    return cases


@pytest.mark.skipif(TOOL is None, reason="SOFTLAB_CLI (the built softlab tool) is not set")
@pytest.mark.parametrize("impl,dtype", tool_cases())
def test_bit_for_bit_with_the_tool(impl, dtype):
    entry = next(e for e in SOFTMAX if e["name"] == impl)
    token = entry["types"][entry["dtypes"].index(dtype)]
    x = stored(ROWS, dtype)
    xv = values(x, dtype)
    for log in (False, True):
        f = softlab.log_softmax if log else softlab.softmax
        mine = values(f(x, impl=impl, dtype=dtype), dtype)
        tool = TOOL_WITHOUT_PEERS if entry["origin"] == "softlab" else TOOL
        theirs = tool_softmax(impl, token, xv, log, tool)
        # Bit for bit: the same values, NaN where NaN, and the same sign of zero (the tool
        # prints every NaN as "nan").
        assert np.array_equal(mine, theirs, equal_nan=True), (impl, dtype, log, mine, theirs)
        numbers = ~np.isnan(mine)
        assert np.array_equal(np.signbit(mine[numbers]), np.signbit(theirs[numbers]))


def ordinary_rows(dtype):
    rng = np.random.default_rng(20261127)
    return (rng.standard_normal((8, 257)) * 4).astype(dtype)


def tolerance(x, dtype, *impls):
    """|a - b| allowed between two results: the sum of the stated bounds of the implementations
    that compute them (ULPs of dtype), times the spacing at the exact softmax."""
    exact = softlab.exact_softmax(x)
    bound = sum(softlab.stated_bounds(name, x) for name in impls)
    return bound * np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scipy_agrees_within_the_stated_bounds(dtype):
    """scipy.special.softmax is the max-subtracted three-pass algorithm (numpy's exp, < 1 ULP):
    what softlab's `stable` states a bound for; softlab's `fast` states its own."""
    special = pytest.importorskip("scipy.special")
    x = ordinary_rows(dtype)
    theirs = special.softmax(x, axis=-1)
    assert theirs.dtype == np.dtype(dtype)
    mine = softlab.softmax(x)
    allowed = tolerance(x, dtype, "fast", "stable")
    assert (np.abs(mine.astype(np.float64) - theirs.astype(np.float64)) <= allowed).all()
    # And each, measured by softlab's metric: softlab within its bound.
    assert (softlab.ulp_errors(mine, x) <= softlab.stated_bounds("fast", x)).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_agrees_within_the_stated_bounds(dtype):
    """torch.softmax on CPU is max-subtracted (exp, sum, one division per row): `stable`'s
    bound models it, as for SciPy."""
    torch = pytest.importorskip("torch")
    x = ordinary_rows(dtype)
    theirs = torch.softmax(torch.from_numpy(x), dim=-1).numpy()
    mine = softlab.softmax(x)
    allowed = tolerance(x, dtype, "fast", "stable")
    assert (np.abs(mine.astype(np.float64) - theirs.astype(np.float64)) <= allowed).all()


def test_check_measures_scipy_and_torch_beside_the_registry():
    special = pytest.importorskip("scipy.special")
    torch = pytest.importorskip("torch")
    x = ordinary_rows("float32")[:2]
    rows = softlab.check(x, candidates={
        "scipy.special.softmax": special.softmax,
        "torch.softmax": lambda r: torch.softmax(torch.from_numpy(r), dim=-1).numpy()})
    for name in ("scipy.special.softmax", "torch.softmax"):
        r = next(r for r in rows if r["name"] == name)
        assert r["error"] is None and r["nan_count"] == 0
        bound = np.nanmax(softlab.stated_bounds("stable", x, dtype="float32"))
        assert r["max_ulps_normal"] <= bound, (name, r["max_ulps_normal"], bound)


def test_readme_python_example_runs_as_written():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Python"):]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the README's Python section has no python code block"
    example = blocks[0]
    printed = []
    namespace = {"print": lambda *a, **k: printed.append(" ".join(str(v) for v in a))}
    exec(compile(example, "README.md", "exec"), namespace)
    # Every "# -> text" comment in the example is what the line before it printed.
    expected = re.findall(r"#\s*->\s*(.*)", example)
    assert expected and len(printed) == len(expected), (printed, expected)
    for got, want in zip(printed, expected):
        assert got == want.strip(), (got, want)


@pytest.mark.skipif(TOOL is None, reason="SOFTLAB_CLI (the built softlab tool) is not set")
def test_study_cells_are_the_studys_cells(tmp_path):
    # A callable measured by study_cells gets the very row `softlab accuracy` writes for the
    # kernel it calls: the same vectors, reference and metrics (the columns a replay cannot
    # have aside: who ran it, its time, its stated bound, its log-domain errors).
    family, n = "wide_80", 10
    subprocess.run([TOOL_WITHOUT_PEERS, "accuracy", "--out", str(tmp_path), "--family", family,
                    "--impl", "stable", "--type", "float", "--n", str(n)],
                   capture_output=True, check=True)
    with open(tmp_path / "accuracy.csv", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        study_row = dict(zip(header, f.readline().strip().split(",")))
    assert header == softlab.study_csv_columns

    def stable(row):
        return softlab.softmax(row, impl="stable")

    def broken(row):
        raise RuntimeError("no weights today")

    cells = softlab.study_cells({"stable from Python": stable, "broken": broken}, family, n,
                                dtype="float32")
    mine = dict(zip(header, cells[0]["fields"]))
    assert cells[0]["error"] is None
    assert (mine["implementation"], mine["origin"], mine["isa"]) == ("stable from Python",
                                                                      "python", "-")
    replay_lacks = {"implementation", "origin", "isa", "seconds", "stated_bound_at_worst",
                    "max_observed_over_stated", "log_softmax_error", "logsumexp_error"}
    assert int(mine["vectors"]) > 1
    for column in header:
        if column not in replay_lacks:
            assert mine[column] == study_row[column], column
    assert "no weights today" in cells[1]["error"]
