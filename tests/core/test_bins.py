"""The histogram's bins: Freedman–Diaconis, and what it does with awkward data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emstudio.core.bins import (
    MAX_BINS,
    MAX_CHOSEN_BINS,
    freedman_diaconis_bins,
    freedman_diaconis_width,
    histogram_bins,
)


@pytest.mark.parametrize("n", [10, 100, 400, 5000])
def test_matches_numpys_fd_rule_on_ordinary_data(n):
    x = np.random.default_rng(n).normal(size=n)
    assert freedman_diaconis_bins(x) == len(np.histogram_bin_edges(x, bins="fd")) - 1


def test_width_is_two_iqr_over_cube_root_of_n():
    x = np.arange(1000, dtype=float)  # IQR = 499.5 (numpy's linear percentiles)
    assert freedman_diaconis_width(x) == pytest.approx(2 * 499.5 / 10)


def test_more_data_gives_more_bins():
    rng = np.random.default_rng(0)
    assert freedman_diaconis_bins(rng.normal(size=100)) < freedman_diaconis_bins(rng.normal(size=10_000))


def test_iqr_zero_falls_back_to_scott():
    # Most values equal (IQR 0), a few different: still several bins, not one and not a crash.
    x = np.r_[np.zeros(90), np.linspace(1, 5, 10)]
    assert freedman_diaconis_width(x) == pytest.approx(3.49 * x.std() * 100 ** (-1 / 3))
    assert 1 < freedman_diaconis_bins(x) <= MAX_BINS


@pytest.mark.parametrize("values", [[], [3.0], [2.0, 2.0, 2.0], [1e300] * 5])
def test_no_spread_is_one_bin(values):
    assert freedman_diaconis_bins(np.array(values)) == 1
    assert histogram_bins(np.array(values), None) == 1


def test_two_values():
    assert freedman_diaconis_bins(np.array([0.0, 1.0])) >= 1


def test_far_outliers_are_capped():
    x = np.r_[np.random.default_rng(1).normal(size=1000), 1e9]
    assert freedman_diaconis_bins(x) == MAX_BINS


def test_chosen_number_wins_and_is_clipped():
    x = np.random.default_rng(2).normal(size=500)
    assert histogram_bins(x, 7) == 7
    assert histogram_bins(x, 0) == freedman_diaconis_bins(x)  # 0: automatic
    assert histogram_bins(x, None) == freedman_diaconis_bins(x)
    assert histogram_bins(x, 10**9) == MAX_CHOSEN_BINS
    assert histogram_bins(x, -3) == freedman_diaconis_bins(x)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=300))
def test_always_a_usable_number(values):
    count = freedman_diaconis_bins(np.array(values, dtype=float))
    assert isinstance(count, int) and 1 <= count <= MAX_BINS
    if values:
        heights, _ = np.histogram(values, bins=count)  # numpy accepts it
        assert heights.sum() == len(values)
