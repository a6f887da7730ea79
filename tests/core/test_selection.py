"""Choosing K and the covariance model: the right model is found, a collapsed one never wins."""

import numpy as np
import pytest

from emstudio.core import FitSettings
from emstudio.core.selection import parse_covariance_types, parse_k_range, select_models
from emstudio.errors import FitError


def _clusters(n=200, seed=0):
    rng = np.random.default_rng(seed)
    # Three well-separated clusters sharing one elongated covariance: the tied model fits best.
    shape = np.array([[1.5, 0.0], [1.2, 0.4]])
    parts = [rng.normal(size=(n, 2)) @ shape + c for c in ([0, 0], [9, 0], [0, 9])]
    return np.vstack(parts)


def test_recovers_the_number_and_structure_of_components():
    selection = select_models(_clusters(), range(1, 6), ["full", "tied", "diag", "spherical"],
                              FitSettings(restarts=3), jobs=1)
    assert (selection.best.k, selection.best.covariance_type) == (3, "tied")
    assert len(selection.cells) == 20


def test_same_result_on_any_number_of_processes():
    X = _clusters(120, seed=1)
    one = select_models(X, [1, 2, 3], ["full", "diag"], FitSettings(restarts=2, seed=4), jobs=1)
    two = select_models(X, [1, 2, 3], ["full", "diag"], FitSettings(restarts=2, seed=4), jobs=2)
    assert [c.result.log_likelihood for c in one.cells] == [c.result.log_likelihood for c in two.cells]
    assert (one.best.k, one.best.covariance_type) == (two.best.k, two.best.covariance_type)


def test_heavy_ties_a_collapsed_model_is_never_chosen():
    """Measurements rounded to whole numbers: diag components collapse onto the tied values and
    their raw BIC soars far below the honest models'."""
    rng = np.random.default_rng(3)
    X = np.column_stack([np.round(rng.normal(size=600)), rng.normal(size=600)])
    selection = select_models(X, range(1, 7), ["diag"], FitSettings(restarts=4), jobs=1)
    collapsed = [c for c in selection.cells if c.degenerate]
    assert collapsed and all(c.n_collapsed == c.n_restarts for c in collapsed)
    assert min(c.criterion("bic") for c in collapsed) < selection.best.criterion("bic")  # raw BIC would pick them
    assert not selection.best.degenerate and not selection.best.result.degenerate
    assert selection.best.k == 1


def test_impossible_cells_are_listed_not_fatal():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]] * 10)
    selection = select_models(X, [1, 2, 3, 4], ["full"], FitSettings(), jobs=1)
    assert selection.cells[3].result is None and "distinct" in selection.cells[3].error
    assert selection.best is not None


@pytest.mark.parametrize("text, expected", [("1-6", [1, 2, 3, 4, 5, 6]), ("2,4,8", [2, 4, 8]), ("3", [3]),
                                            ("1-3,5", [1, 2, 3, 5])])
def test_k_ranges(text, expected):
    assert parse_k_range(text) == expected


@pytest.mark.parametrize("text", ["", "a-b", "0-3", "3-x"])
def test_bad_k_ranges(text):
    with pytest.raises(FitError):
        parse_k_range(text)


def test_covariance_lists():
    assert parse_covariance_types("full, diag") == ["full", "diag"]
    with pytest.raises(FitError, match="choose from"):
        parse_covariance_types("full,round")
