"""pytest setup for the report scripts' unit tests: scripts/lib on the import path, the fixtures'
directory, and matplotlib without a display."""

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
os.environ.setdefault("MPLBACKEND", "Agg")

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def accuracy_dir():
    return FIXTURES / "accuracy"


@pytest.fixture
def bench_json():
    return FIXTURES / "bench" / "bench.json"


@pytest.fixture
def attention_bench_json():
    """softlab-bench's attention slice on Zen 3 (bench/README.md's run): the median and cv
    aggregates of its 21 benchmarks, with the context entries they need."""
    return FIXTURES / "bench" / "attention.json"


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path
