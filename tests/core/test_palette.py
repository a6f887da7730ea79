"""Component colours: colour-blind-safe palettes, 20 components kept apart, lighter 2σ colours."""

import numpy as np
import pytest

from emstudio.core.geometry import palette as geometry_palette
from emstudio.core.palette import (
    KELLY_20,
    MIXTURE_INK,
    OKABE_ITO,
    TABLEAU_10,
    hex_colour,
    lighter,
    min_pairwise_distance,
    palette,
    simulate_deficiency,
    srgb_to_lab,
)


def test_palette_by_k():
    np.testing.assert_array_equal(palette(3), OKABE_ITO[:3])
    np.testing.assert_array_equal(palette(8), OKABE_ITO)
    np.testing.assert_array_equal(palette(9), TABLEAU_10[:9])
    np.testing.assert_array_equal(palette(20), KELLY_20)
    assert palette(0).shape == (0, 3)
    assert palette(35).shape == (35, 3)
    for k in (1, 5, 8, 10, 15, 20, 40):
        colours = palette(k)
        assert colours.shape == (k, 3)
        assert np.all((colours >= 0) & (colours <= 255))


def test_the_window_uses_this_palette():
    np.testing.assert_array_equal(geometry_palette(12), palette(12))


@pytest.mark.parametrize("k", [2, 5, 8, 10, 12, 16, 20])
def test_components_stay_distinguishable(k):
    """Minimum pairwise CIE76 ΔE: ≥ 25 up to 10 components, ≥ 12 for Kelly's 20 (~5 JNDs)."""
    floor = 25.0 if k <= 10 else 12.0
    assert min_pairwise_distance(palette(k)) >= floor


def test_twenty_components_all_distinct():
    colours = palette(20)
    assert len({tuple(c) for c in colours.tolist()}) == 20
    assert min_pairwise_distance(colours) > 12.0
    # None is so light that it vanishes on the white plot, none is the mixture's ink.
    lab = srgb_to_lab(colours)
    assert lab[:, 0].max() < 90
    assert np.min(np.linalg.norm(lab - srgb_to_lab(MIXTURE_INK), axis=1)) > 10


@pytest.mark.parametrize("kind", ["protanopia", "deuteranopia", "tritanopia"])
def test_okabe_ito_stays_apart_for_colour_blind_eyes(kind):
    seen = simulate_deficiency(palette(8), kind)
    assert min_pairwise_distance(seen) > 12.0


def test_simulation_keeps_greys():
    grey = np.array([[128.0, 128.0, 128.0]])
    for kind in ("protanopia", "deuteranopia", "tritanopia"):
        np.testing.assert_allclose(simulate_deficiency(grey, kind), grey, atol=2)


def test_lighter_moves_towards_white_and_keeps_hue_order():
    c = np.array([[0.0, 114.0, 178.0]])
    np.testing.assert_array_equal(lighter(c, 0.0), c)
    np.testing.assert_array_equal(lighter(c, 1.0), [[255.0, 255.0, 255.0]])
    half = lighter(c, 0.5)
    assert np.all(half >= c) and srgb_to_lab(half)[0, 0] > srgb_to_lab(c)[0, 0]


def test_lab_of_known_colours():
    np.testing.assert_allclose(srgb_to_lab(np.array([255.0, 255.0, 255.0])), [100, 0, 0], atol=0.05)
    np.testing.assert_allclose(srgb_to_lab(np.array([0.0, 0.0, 0.0])), [0, 0, 0], atol=0.05)
    np.testing.assert_allclose(srgb_to_lab(np.array([255.0, 0.0, 0.0])), [53.24, 80.09, 67.20], atol=0.1)


def test_hex_colour():
    assert hex_colour((0, 114, 178)) == "#0072b2"
    assert hex_colour(np.array([255.0, 127.6, 0.2])) == "#ff8000"
