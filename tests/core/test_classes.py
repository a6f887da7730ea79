"""The known-classes comparison against mclust's adjustedRandIndex and classError.

The reference values are in mclust_fixtures.json (made by tools/mclust_fixtures.py with R); when
R with mclust is on the machine, new random cases are also checked against a live R run.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from emstudio.core.classes import (
    adjusted_rand_index,
    class_codes_of,
    KnownClasses,
    class_error,
    compare_with_classes,
    confusion_table,
)

HERE = Path(__file__).resolve().parent
FIXTURES = json.loads((HERE / "mclust_fixtures.json").read_text(encoding="utf-8"))


def _tool():
    path = HERE.parents[1] / "tools" / "mclust_fixtures.py"
    spec = importlib.util.spec_from_file_location("mclust_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ours(case: dict):
    known = KnownClasses.from_values("class", case["classes"])
    components = np.asarray(case["classification"]) - 1
    k = int(components.max()) + 1
    return compare_with_classes(known, components, k)


def check_case(case: dict, expected: dict) -> None:
    got = ours(case)
    if expected["ari"] is None:
        assert math.isnan(got.ari), case["name"]
    else:
        assert got.ari == pytest.approx(expected["ari"], abs=1e-12), case["name"]
    assert got.error == pytest.approx(expected["error"], abs=1e-15), case["name"]
    assert (got.misclassified + 1).tolist() == expected["misclassified"], case["name"]


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=[c["name"] for c in FIXTURES["cases"]])
def test_matches_mclust_fixtures(case):
    check_case(case, case)


def test_fixtures_cover_the_cases_that_matter():
    names = {c["name"] for c in FIXTURES["cases"]}
    assert {"identical", "ties in both maps", "empty component 2", "integer classes"} <= names
    assert any(c["name"].startswith("iris") for c in FIXTURES["cases"])
    assert len(FIXTURES["cases"]) >= 40


def test_live_r_agrees_on_new_random_cases():
    tool = _tool()
    if not tool.have_r():
        pytest.skip("Rscript with mclust is not installed")
    cases = tool.random_cases(seed=2026, count=25)
    for case, expected in zip(cases, tool.run_mclust(cases)):
        check_case(case, expected)


def test_iris_numbers_a_reader_knows():
    (iris,) = [c for c in FIXTURES["cases"] if c["name"].startswith("iris")]
    got = ours(iris)
    # mclust's documented VEV fit of iris: 5 of 150 misclassified, ARI 0.904.
    assert got.error == pytest.approx(5 / 150)
    assert got.ari == pytest.approx(0.9038742, abs=1e-6)
    assert got.table.sum() == 150 and got.table.shape == (3, 3)
    assert got.class_names == ("setosa", "versicolor", "virginica")


def test_confusion_table_rows_classes_columns_components():
    codes = np.array([0, 0, 1, 1, -1, 1])
    comp = np.array([2, 2, 0, 1, 0, 0])
    table = confusion_table(codes, comp, 2, 3)
    assert table.tolist() == [[0, 0, 2], [2, 1, 0]]


def test_ari_is_symmetric_and_label_free():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 200)
    b = (a + (rng.random(200) < 0.2)) % 4
    t = confusion_table(a, b, 3, 4)
    assert adjusted_rand_index(t) == pytest.approx(adjusted_rand_index(t.T), abs=1e-15)
    permuted = confusion_table(a, (b + 1) % 4, 3, 4)
    assert adjusted_rand_index(permuted) == pytest.approx(adjusted_rand_index(t), abs=1e-15)
    assert adjusted_rand_index(confusion_table(a, a, 3, 3)) == 1.0


def test_rows_without_class_are_left_out():
    known = KnownClasses.from_values("kind", ["a", "a", None, "b", "", "b"])
    assert known.names == ("a", "b") and known.codes.tolist() == [0, 0, -1, 1, -1, 1]
    got = compare_with_classes(known, np.array([0, 0, 1, 1, 0, 1]), 2)
    assert got.n_compared == 4 and got.n_without_class == 2
    assert got.ari == 1.0 and got.error == 0.0
    text = "\n".join(got.lines())
    assert "2 rows without a class" in text and "adjusted Rand index 1.0000" in text


def test_integer_classes_sort_as_numbers():
    codes, names = class_codes_of(["10", "9", "100", "9"])
    assert names == ("9", "10", "100") and codes.tolist() == [1, 0, 2, 0]


def test_error_is_the_larger_of_the_two_maps():
    # Every component holds one row of each class: the component→class map (ties to "a") gets
    # the four b rows wrong, the class→component map (both classes to component 1) six rows;
    # mclust reports the larger count.
    codes, names = class_codes_of(list("aaaabbbb"))
    rate, wrong = class_error(codes, np.array([0, 1, 2, 3, 0, 1, 2, 3]), len(names), 4)
    assert rate == pytest.approx(6 / 8)
    assert len(wrong) == 6


def test_summary_lines_number_components_from_one():
    known = KnownClasses.from_values("species", ["x", "y", "y"])
    got = compare_with_classes(known, np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]), 2)
    header = got.lines()[1].split()
    assert header == ["species", "1", "2"]
