"""How many bins a 1-D histogram gets: the Freedman–Diaconis rule, made safe for awkward data.

Freedman–Diaconis picks the bin width h = 2 · IQR · n^(−1/3): wide enough that each bin holds
enough points to be read, narrow enough to show the shape. It follows the data's spread through
the interquartile range, so a few far outliers do not flatten the histogram as a range-based rule
(Sturges, √n) would. Where the IQR is 0 (more than half of the values equal) it falls back to
Scott's width 3.49 · σ · n^(−1/3), and where the values do not vary at all, to one bin.
"""

from __future__ import annotations

import math

import numpy as np

#: Fewest and most bins the automatic rule gives. Below MIN_BINS a histogram is only a block; above
#: MAX_BINS bins are thinner than a pixel of an ordinary plot and a few far outliers (a range
#: thousands of IQRs wide) would ask for millions of them.
MIN_BINS = 1
MAX_BINS = 200
#: The most bins a person may ask for with the control.
MAX_CHOSEN_BINS = 1000


def freedman_diaconis_width(values: np.ndarray) -> float:
    """The Freedman–Diaconis bin width of ``values`` (n,), finite: 2 · IQR · n^(−1/3); Scott's
    3.49 · σ · n^(−1/3) when the IQR is 0; 0.0 when the values do not vary (or n < 2)."""
    x = np.asarray(values, dtype=float).ravel()
    n = x.size
    if n < 2:
        return 0.0
    q1, q3 = np.percentile(x, [25, 75])
    iqr = float(q3 - q1)
    if iqr > 0:
        return 2.0 * iqr * n ** (-1 / 3)
    sigma = float(x.std())
    return 3.49 * sigma * n ** (-1 / 3) if sigma > 0 else 0.0


def freedman_diaconis_bins(values: np.ndarray, min_bins: int = MIN_BINS, max_bins: int = MAX_BINS) -> int:
    """The number of equal-width bins spanning ``values`` (n,), finite, by Freedman–Diaconis,
    clipped to [``min_bins``, ``max_bins``]. One bin for fewer than two values or values that do
    not vary (a histogram of them is one bar whatever the rule)."""
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        return max(1, min_bins)
    span = float(x.max() - x.min())
    width = freedman_diaconis_width(x)
    if span <= 0 or width <= 0:
        return max(1, min_bins)
    count = math.ceil(span / width)
    return int(min(max(count, min_bins, 1), max_bins))


def histogram_bins(values: np.ndarray, chosen: int | None) -> int:
    """The bins to draw: ``chosen`` (a person's choice, at most MAX_CHOSEN_BINS) or, when it is
    None or not positive ("auto"), the Freedman–Diaconis number of ``values`` (n,)."""
    if chosen is not None and chosen > 0:
        return int(min(int(chosen), MAX_CHOSEN_BINS))
    return freedman_diaconis_bins(values)
