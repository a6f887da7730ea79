"""Where a legend goes so that it covers no data: the emptiest corner of the view.

Pure numpy, no Qt. The window and the exported pictures ask this after every change of the
data or the view; a person can still drag the legend elsewhere (then it stays where put).
"""

from __future__ import annotations

import numpy as np

#: Corners in the order preferred when several are equally empty (the reading order of a
#: plot's legend: top right first, as matplotlib's "best" also tries first).
CORNERS = ("top-right", "top-left", "bottom-right", "bottom-left")


def corner_box(corner: str, x_range, y_range, box_fraction) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of a box ``box_fraction`` = (w, h) of the view's size, in that corner of
    the view ``x_range`` × ``y_range`` (data units; y grows upwards)."""
    (x_lo, x_hi), (y_lo, y_hi) = (map(float, x_range)), (map(float, y_range))
    w = (x_hi - x_lo) * float(box_fraction[0])
    h = (y_hi - y_lo) * float(box_fraction[1])
    x0, x1 = (x_hi - w, x_hi) if corner.endswith("right") else (x_lo, x_lo + w)
    y0, y1 = (y_hi - h, y_hi) if corner.startswith("top") else (y_lo, y_lo + h)
    return x0, x1, y0, y1


def count_inside(points: np.ndarray, box) -> int:
    """How many of ``points`` (m, 2) (NaN rows ignored) lie in ``box`` (x0, x1, y0, y1)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x0, x1, y0, y1 = box
    x, y = points[:, 0], points[:, 1]
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return int(np.count_nonzero(inside))


def corner_counts(points: np.ndarray, x_range, y_range, box_fraction) -> dict[str, int]:
    """{corner: number of ``points`` (m, 2) a legend box of ``box_fraction`` there would cover}."""
    return {c: count_inside(points, corner_box(c, x_range, y_range, box_fraction)) for c in CORNERS}


def emptiest_corner(points: np.ndarray, x_range, y_range, box_fraction, curves: np.ndarray | None = None,
                    curve_weight: float = 0.25) -> str:
    """The corner (one of :data:`CORNERS`) where a legend box of ``box_fraction`` = (w, h) of the
    view covers the least: data ``points`` (m, 2) count 1 each, vertices of drawn ``curves``
    (c, 2) (ellipses, densities; NaN breaks ignored) ``curve_weight`` each. Ties go to the earlier
    corner of :data:`CORNERS`."""
    points = np.empty((0, 2)) if points is None else np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cost = {c: float(n) for c, n in corner_counts(points, x_range, y_range, box_fraction).items()}
    if curves is not None and len(curves):
        for c, n in corner_counts(curves, x_range, y_range, box_fraction).items():
            cost[c] += curve_weight * n
    return min(CORNERS, key=lambda c: (cost[c], CORNERS.index(c)))


def anchor_of(corner: str) -> tuple[tuple[float, float], tuple[float, float], tuple[int, int]]:
    """(item anchor, parent anchor, pixel offset) that put a box in ``corner`` of its parent,
    ``margin`` 10 px from the edges (pyqtgraph's GraphicsWidget.anchor arguments)."""
    right = corner.endswith("right")
    top = corner.startswith("top")
    spot = (1.0 if right else 0.0, 0.0 if top else 1.0)
    offset = (-10 if right else 10, 10 if top else -10)
    return spot, spot, offset


#: Spreads of the two axes shown within this factor of each other: equal aspect by default.
COMPARABLE_SPREADS = 2.5


def equal_aspect_by_default(values: np.ndarray, axes) -> bool:
    """Whether the plot of ``values`` (n, d) on ``axes`` (i, j) should start with equal aspect:
    True when the two columns' standard deviations are within :data:`COMPARABLE_SPREADS` of each
    other (standardised columns always are), so that Σ = I and every covariance is drawn with
    its true shape; False for 1-D data (the other axis is a density) and for columns of very
    different spreads, which equal aspect would squash into a strip."""
    values = np.asarray(values, dtype=np.float64)
    i, j = (int(a) for a in axes)
    if values.ndim != 2 or values.shape[1] < 2 or i == j or values.shape[0] < 2:
        return False
    sx, sy = float(np.std(values[:, i])), float(np.std(values[:, j]))
    if not (sx > 0 and sy > 0) or not np.isfinite(sx * sy):
        return False
    return max(sx, sy) / min(sx, sy) <= COMPARABLE_SPREADS
