"""The legend goes to the emptiest corner of the view."""

import numpy as np

from emstudio.core.placement import CORNERS, anchor_of, corner_box, corner_counts, emptiest_corner

VIEW = ((0.0, 10.0), (0.0, 10.0))
BOX = (0.3, 0.3)


def test_corner_boxes():
    assert corner_box("top-right", *VIEW, BOX) == (7.0, 10.0, 7.0, 10.0)
    assert corner_box("bottom-left", *VIEW, BOX) == (0.0, 3.0, 0.0, 3.0)


def test_picks_the_empty_corner():
    rng = np.random.default_rng(0)
    # Points everywhere except the bottom-left corner.
    pts = rng.uniform(0, 10, size=(2000, 2))
    pts = pts[~((pts[:, 0] < 3.5) & (pts[:, 1] < 3.5))]
    assert emptiest_corner(pts, *VIEW, BOX) == "bottom-left"
    counts = corner_counts(pts, *VIEW, BOX)
    assert counts["bottom-left"] == 0 and min(counts[c] for c in CORNERS[:3]) > 0


def test_faithful_like_diagonal_leaves_top_left_or_bottom_right():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 500)
    pts = np.column_stack([x, x + rng.normal(0, 0.5, 500)])
    assert emptiest_corner(pts, *VIEW, BOX) in ("top-left", "bottom-right")


def test_ties_prefer_top_right_and_empty_data():
    assert emptiest_corner(np.empty((0, 2)), *VIEW, BOX) == "top-right"
    assert emptiest_corner(None, *VIEW, BOX) == "top-right"


def test_curves_count_and_nan_breaks_are_ignored():
    curves = np.array([[9.0, 9.0], [np.nan, np.nan], [9.5, 9.5]])
    assert emptiest_corner(np.empty((0, 2)), *VIEW, BOX, curves=curves) == "top-left"


def test_anchor_of_corners():
    assert anchor_of("top-right") == ((1.0, 0.0), (1.0, 0.0), (-10, 10))
    assert anchor_of("bottom-left") == ((0.0, 1.0), (0.0, 1.0), (10, -10))


def test_equal_aspect_by_default():
    from emstudio.core.placement import equal_aspect_by_default

    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 3))
    assert equal_aspect_by_default(z, (0, 1))  # standardised columns
    faithful_like = np.column_stack([rng.normal(3.5, 1.1, 300), rng.normal(71, 13.6, 300)])
    assert not equal_aspect_by_default(faithful_like, (0, 1))
    assert not equal_aspect_by_default(z[:, :1], (0, 0))  # 1-D: the other axis is a density
    assert not equal_aspect_by_default(np.column_stack([np.ones(10), z[:10, 0]]), (0, 1))
