"""Numbers a person can read: significant digits, plain notation, rounding noise as 0."""

import numpy as np
import pytest

from emstudio.core.numbers import (
    clean_symmetric,
    display_eigenvalue,
    format_number,
    format_share,
    format_vector,
    smallest_eigenvalue,
    std_and_correlation,
)


@pytest.mark.parametrize("value, text", [
    (23170.0, "23170"),
    (23174.6, "23170"),
    (2.317e4, "23170"),
    (54.4795, "54.48"),
    (1.5, "1.5"),
    (1.0, "1"),
    (0.0123456, "0.01235"),
    (0.0001234, "0.0001234"),
    (999999.0, "1×10⁶"),
    (123456.0, "123500"),
    (1.234e7, "1.234×10⁷"),
    (3.1e-6, "3.1×10⁻⁶"),
    (-2.5, "−2.5"),
    (0.0, "0"),
    (-0.0, "0"),
    (-8.32e-302, "0"),
    (9.99995, "10"),
    (float("nan"), "nan"),
    (float("inf"), "∞"),
    (float("-inf"), "−∞"),
])
def test_format_number(value, text):
    assert format_number(value) == text


def test_digits_and_noise_against_scale():
    assert format_number(3.14159265, 5) == "3.1416"
    assert format_number(1e-15, scale=33.7) == "0"
    assert format_number(1e-15) == "1×10⁻¹⁵"  # with no context, a small number is a number
    assert format_number(-4e-14, scale=100.0) == "0"
    assert format_number(0.44, scale=33.7) == "0.44"


def test_never_exponent_for_ordinary_magnitudes():
    for value in np.geomspace(1e-4, 9.99e5, 200):
        for sign in (1, -1):
            text = format_number(sign * value)
            assert "e" not in text and "×" not in text, text
            assert abs(float(text.replace("−", "-")) - sign * value) <= 5e-4 * value


def test_share():
    assert format_share(0.36) == "0.360"
    assert format_share(1.0) == "1.000"
    assert format_share(0.0) == "0"
    assert format_share(1e-7) == "1×10⁻⁷"


def test_vector_noise_relative_to_largest():
    assert format_vector([2.04, 54.5]) == "(2.04, 54.5)"
    assert format_vector([1e-17, 54.5]) == "(0, 54.5)"


def test_clean_symmetric():
    m = np.array([[33.7, 1e-15], [-3e-16, 0.07]])
    out = clean_symmetric(m)
    assert out[0, 1] == 0 and out[1, 0] == 0
    assert out[0, 0] == 33.7


def test_std_and_correlation():
    cov = np.array([[4.0, 1.2], [1.2, 9.0]])
    std, corr = std_and_correlation(cov)
    np.testing.assert_allclose(std, [2.0, 3.0])
    np.testing.assert_allclose(corr, [[1.0, 0.2], [0.2, 1.0]])
    # Identity with rounding noise off the diagonal: exactly 0 correlation.
    std, corr = std_and_correlation(np.eye(3) + 1e-18)
    assert np.all(corr[~np.eye(3, dtype=bool)] == 0.0)
    # Perfect correlation with a rounding overshoot is clipped to 1.
    std, corr = std_and_correlation(np.array([[1.0, 1.0 + 1e-15], [1.0 + 1e-15, 1.0]]))
    assert corr.max() <= 1.0
    # A coordinate with no spread: no NaN.
    std, corr = std_and_correlation(np.array([[0.0, 0.0], [0.0, 2.0]]))
    assert np.all(np.isfinite(corr)) and std[0] == 0


def test_smallest_eigenvalue_never_negative():
    v = np.array([1.0, 2.0, 3.0])
    flat = np.outer(v, v)  # rank one: two eigenvalues are 0 up to rounding (may come out < 0)
    assert smallest_eigenvalue(flat) == 0.0
    assert smallest_eigenvalue(np.diag([2.0, 0.5])) == 0.5
    assert display_eigenvalue(-8.32e-302) == "0"
    assert display_eigenvalue(-1e-9) == "0"
    assert display_eigenvalue(3.2e-7) == "3.2×10⁻⁷"
