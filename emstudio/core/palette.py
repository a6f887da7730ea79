"""Component colours: colour is a component's identity wherever it is drawn.

Pure functions, no Qt. Colours are RGB triples, floats 0–255, shapes in the docstrings.

Which palette K components get:
- K ≤ 8: Okabe & Ito's eight colours (Color Universal Design, 2008), chosen to stay apart for
  the common colour-vision deficiencies; black, the palette's own neutral, comes last so the
  first seven are all hues (the mixture density is drawn in a neutral dark grey, never a hue).
- K ≤ 10: Tableau 10 (Tableau's 2016 default, also matplotlib's "tab10" order redrawn).
- K ≤ 20: Kelly's 22 colours of maximum contrast (Kelly 1965) without white and black: 20
  colours that stay distinguishable (tests/core/test_palette.py measures the CIE Lab distances).
- K > 20: Kelly's 20 and then hues spaced by the golden angle at alternating lightness; no
  palette keeps 30 colours apart, so component numbers are drawn beside every mean as well.
"""

from __future__ import annotations

import numpy as np

#: Okabe–Ito, reordered: blue, vermillion, bluish green, orange, reddish purple, sky blue,
#: yellow, black.
OKABE_ITO = np.array([
    (0, 114, 178), (213, 94, 0), (0, 158, 115), (230, 159, 0), (204, 121, 167), (86, 180, 233),
    (240, 228, 66), (0, 0, 0),
], dtype=np.float64)

#: Tableau 10 (2016): blue, orange, red, teal, green, yellow, purple, pink, brown, grey.
TABLEAU_10 = np.array([
    (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79), (237, 201, 72),
    (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172),
], dtype=np.float64)

#: Kelly's colours of maximum contrast without white and black, in Kelly's order.
KELLY_20 = np.array([
    (243, 195, 0), (135, 86, 146), (243, 132, 0), (161, 202, 241), (190, 0, 50), (194, 178, 128),
    (132, 132, 130), (0, 136, 86), (230, 143, 172), (0, 103, 165), (249, 147, 121), (96, 78, 151),
    (246, 166, 0), (179, 68, 108), (220, 211, 0), (136, 45, 23), (141, 182, 0), (101, 69, 34),
    (226, 88, 34), (43, 61, 38),
], dtype=np.float64)

#: The mixture density (and other "all components together" marks): a neutral dark grey.
MIXTURE_INK = np.array([40, 40, 46], dtype=np.float64)


def palette(k: int) -> np.ndarray:
    """(K, 3) RGB colours (0–255) of K components; colour k is component k + 1's everywhere."""
    k = int(k)
    if k <= 0:
        return np.empty((0, 3))
    if k <= len(OKABE_ITO):
        return OKABE_ITO[:k].copy()
    if k <= len(TABLEAU_10):
        return TABLEAU_10[:k].copy()
    if k <= len(KELLY_20):
        return KELLY_20[:k].copy()
    return np.vstack([KELLY_20, _golden_hues(k - len(KELLY_20))])


def _golden_hues(m: int) -> np.ndarray:
    """(m, 3) colours beyond Kelly's 20: hues spaced by the golden angle, lightness alternating."""
    i = np.arange(m)
    hue = (0.11 + i * 0.618033988749895) % 1.0
    lightness = np.where(i % 2 == 0, 0.45, 0.62)
    return hsl_to_rgb(hue, np.full(m, 0.65), lightness)


def hsl_to_rgb(h: np.ndarray, s: np.ndarray, l: np.ndarray) -> np.ndarray:  # noqa: E741 - HSL's name
    """HSL (each (m,), in [0, 1]) → (m, 3) RGB 0–255."""
    h, s, l = (np.asarray(v, dtype=np.float64) for v in (h, s, l))  # noqa: E741
    c = (1 - np.abs(2 * l - 1)) * s
    hp = h * 6
    x = c * (1 - np.abs(hp % 2 - 1))
    zero = np.zeros_like(c)
    sector = np.floor(hp).astype(int) % 6
    table = [(c, x, zero), (x, c, zero), (zero, c, x), (zero, x, c), (x, zero, c), (c, zero, x)]
    rgb = np.empty(c.shape + (3,))
    for s_index, (r, g, b) in enumerate(table):
        pick = sector == s_index
        rgb[pick] = np.column_stack([r[pick], g[pick], b[pick]])
    m = l - c / 2
    return np.clip((rgb + m[..., None]) * 255.0, 0, 255)


def lighter(colours: np.ndarray, amount: float = 0.45) -> np.ndarray:
    """``colours`` (..., 3) mixed with white: ``amount`` 0 keeps them, 1 makes them white.
    The 2σ ellipses are the 1σ colour made lighter (and dashed)."""
    colours = np.asarray(colours, dtype=np.float64)
    return colours + (255.0 - colours) * float(amount)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB 0–255 → CIE L*a*b* (D65), for measuring how far apart colours look."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


def min_pairwise_distance(colours: np.ndarray) -> float:
    """The smallest CIE76 ΔE (Euclidean distance in L*a*b*) between any two of ``colours`` (K, 3);
    ΔE ≈ 2.3 is just noticeable, above ~20 two marks are told apart at a glance."""
    lab = srgb_to_lab(colours)
    if len(lab) < 2:
        return float("inf")
    diff = lab[:, None, :] - lab[None, :, :]
    dist = np.sqrt((diff ** 2).sum(axis=-1))
    dist[np.diag_indices(len(lab))] = np.inf
    return float(dist.min())


#: Machado, Oliveira & Fernandes (2009) matrices at severity 1.0, applied to linear RGB.
_DEFICIENCY = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def simulate_deficiency(rgb: np.ndarray, kind: str) -> np.ndarray:
    """(..., 3) sRGB 0–255 as seen with ``kind`` ("protanopia", "deuteranopia", "tritanopia")."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ _DEFICIENCY[kind].T, 0.0, 1.0)
    encoded = np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055)
    return encoded * 255.0


def hex_colour(rgb) -> str:
    """"#rrggbb" of an RGB triple (0–255)."""
    r, g, b = (int(round(float(c))) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"
