"""The Lower bound panel's pure parts: series in one unit, the gap only at M half-steps, the
numbers to the digits that matter, and the captions (a second E or M in a row changes nothing)."""

import numpy as np
import pytest

from emstudio.core.estep import BoundTerms
from emstudio.gui.bound_caption import Numbers, decimals_for, describe, fixed
from emstudio.gui.bound_series import (
    PER_SAMPLE,
    SUMS,
    HalfStepSeries,
    gap_bars,
    gap_reference,
    half_step_series,
    y_range,
)
from emstudio.gui.worker import Frame

N = 500


def _series(terms, kinds, shown=None):
    """A series of ``terms`` (sums over N samples) with E/M ``kinds`` (iterations counted from 1)."""
    iterations, t = [], 0
    for kind in kinds:
        t += kind == "E"
        iterations.append(t)
    after_e = []
    for i, kind in enumerate(kinds):
        after_e.append(terms[i] if kind == "E" else (terms[i - 1] if i and kinds[i - 1] == "E" else None))
    log_l = np.array([x.log_likelihood for x in terms]) / N
    bound = np.array([x.lower_bound for x in terms]) / N
    return HalfStepSeries(tuple(kinds), tuple(iterations), tuple(terms), tuple(after_e), N,
                          len(terms) - 1 if shown is None else shown, log_l, bound)


# E1 touches, M1 opens a wide gap, E2 closes it, M2 a small one, E3.
E1 = BoundTerms(-1650.0, -1900.0, 250.0)
M1 = BoundTerms(-1610.0, -1870.0, 250.0)  # F = −1620: ΔF = 30, KL = 10
E2 = BoundTerms(-1610.0, -1830.0, 220.0)
M2 = BoundTerms(-1609.5, -1829.7, 220.0)  # F = −1609.7: ΔF = 0.3, KL = 0.2
E3 = BoundTerms(-1609.5, -1828.5, 219.0)
SERIES = _series([E1, M1, E2, M2, E3], "EMEME")


def test_the_units_differ_by_n():
    log_l, bound = SERIES.curves(SUMS)
    np.testing.assert_allclose(log_l, SERIES.log_l * N)
    np.testing.assert_allclose(bound, SERIES.bound * N)
    assert SERIES.curves(PER_SAMPLE)[0] is SERIES.log_l
    low_sum, high_sum = y_range(SERIES, 0, 4, unit=SUMS)
    low, high = y_range(SERIES, 0, 4)
    assert (low_sum, high_sum) == pytest.approx((low * N, high * N))


def test_the_gap_is_a_bar_at_each_m_step_only():
    x, foot, height = gap_bars(SERIES, 0, 4, SUMS)
    np.testing.assert_array_equal(x, [1, 3])  # M1, M2: never at an E, never between half-steps
    np.testing.assert_allclose(foot, [-1620.0, -1609.7])
    np.testing.assert_allclose(height, [10.0, 0.2], atol=1e-9)
    x, foot, height = gap_bars(SERIES, 2, 4)  # the drawn window decides which bars
    np.testing.assert_array_equal(x, [3])
    assert height[0] == pytest.approx(0.2 / N)
    assert all(len(a) == 0 for a in gap_bars(SERIES, 0, 0))  # a lone E-step: no gap to draw


def test_the_first_gap_is_in_range_and_later_the_range_follows():
    low, high = y_range(SERIES, 0, 2)  # E1, M1, E2: the first M's whole gap
    assert low <= M1.lower_bound / N and high >= M1.log_likelihood / N
    # Later, iterations that climb by 1e-4 per sample: the first steps run off the bottom.
    terms = [E1, M1, E2, M2, E3]
    for step in range(4):
        previous = terms[-1]
        m = BoundTerms(previous.log_likelihood + 0.05, previous.expected_complete + 0.01, previous.entropy)
        terms += [m, BoundTerms(m.log_likelihood, m.log_likelihood - (m.entropy - 0.01), m.entropy - 0.01)]
    series = _series(terms[:-1], "EM" * (len(terms[:-1]) // 2) + "E" * (len(terms[:-1]) % 2))
    last = len(series) - 1
    low, high = y_range(series, last - 9, last)
    assert low > E1.log_likelihood / N  # E1's far lower point does not squash the latest gaps
    x, foot, height = gap_bars(series, last - 9, last)
    assert foot[-1] >= low and foot[-1] + height[-1] <= high  # the latest gap is in view


def test_gap_reference_is_the_gap_being_compared():
    assert gap_reference(SERIES, 1) == pytest.approx(10.0 / N)  # an M: its own gap
    assert gap_reference(SERIES, 2) == pytest.approx(10.0 / N)  # an E: the gap it just closed
    assert gap_reference(SERIES, 4) == pytest.approx(0.2 / N)
    assert gap_reference(SERIES, 0) == pytest.approx(10.0 / N)  # E1: the M after it
    assert gap_reference(_series([E1], "E"), 0) is None


def test_numbers_have_the_digits_that_matter():
    assert decimals_for(0.2, 1609.5, SUMS) == 3  # a gap of 0.2 with three significant digits
    assert decimals_for(0.0004, 3.2, PER_SAMPLE) == 6
    assert decimals_for(None, 3.2, PER_SAMPLE) == 4 and decimals_for(None, 1609.5, SUMS) == 2
    assert decimals_for(1e-20, 1609.5, SUMS) == 11  # never more digits than float64 has
    assert decimals_for(5000.0, 1e6, SUMS) == 2  # never fewer than two
    assert fixed(-1609.49999, 3) == "−1609.500" and fixed(-0.00001, 2) == "0.00"

    at_m2 = Numbers(SERIES, 3, SUMS)
    assert at_m2.value(M2.log_likelihood) == "−1609.500"
    assert at_m2.value(M2.lower_bound) == "−1609.700"  # log L and F differ in the digits shown
    assert at_m2.kl(M2) == "0.2"
    assert Numbers(SERIES, 3, PER_SAMPLE).kl(M2) == "0.0004"
    per_sample = Numbers(SERIES, 3, PER_SAMPLE)
    assert per_sample.value(M2.log_likelihood) == fixed(M2.log_likelihood / N, per_sample.decimals)
    assert per_sample.decimals == 6  # the gap 0.0004 per sample shows as 0.000400
    assert Numbers(SERIES, 2, SUMS).kl(E2) == "≈ 0"


def test_captions_say_what_happened_in_the_unit_shown():
    e3 = describe(SERIES, "E", SUMS)
    assert "E-step 3" in e3 and "touches" in e3 and "+0.2 " in e3 and "sums" in e3
    m2 = describe(_series([E1, M1, E2, M2], "EMEM"), "M", SUMS)
    assert "M-step 2" in m2 and "ΔF = +0.3 " in m2 and "KL = 0.2" in m2 and "never falls" in m2
    assert "reg_covar = 0" in m2  # the chain holds for an exact M-step
    m2_per_sample = describe(_series([E1, M1, E2, M2], "EMEM"), "M", PER_SAMPLE)
    assert "ΔF = +0.0006 " in m2_per_sample and "per sample" in m2_per_sample


def test_a_fall_of_f_is_told_as_a_fall_and_blamed_on_reg_covar_not_only_on_collapse():
    # M2 lowers F by 2e-3 (the reg_covar penalty) with healthy components.
    m2 = BoundTerms(-1610.001, -1830.003, 220.0)
    for kind in ("M", "iteration"):
        text = describe(_series([E1, M1, E2, m2], "EMEM"), kind, SUMS)
        assert "F fell" in text and "rose" not in text
        assert "ΔF = −0.003" in text
        assert "Q − (reg/2) Σₖ Nₖ tr Σₖ⁻¹" in text and "large only where a component collapses" in text


def test_an_e_step_after_a_hand_edit_does_not_measure_f_across_the_edit():
    series = _series([E1, M1, E2], "EME")
    edited = HalfStepSeries(series.kinds, series.iterations, series.terms, series.after_e, N, 2,
                            series.log_l, series.bound, edits=(1.5,))
    text = describe(edited, "E", SUMS)
    assert "E-step 2" in text and "rose by" not in text and "touches log L" in text
    assert "rose by" in describe(series, "E", SUMS)  # without the edit it is told


def test_a_second_e_step_in_a_row_is_explained():
    text = describe(_series([E1, M1, E2], "EME"), "E", PER_SAMPLE, repeated=True)
    assert "again" in text and "nothing changed" in text
    assert "posterior" in text and "KL = 0" in text and "F = log L" in text


def test_a_second_m_step_in_a_row_is_explained():
    text = describe(_series([E1, M1], "EM"), "M", PER_SAMPLE, repeated=True)
    assert "again" in text and "nothing changed" in text
    assert "already maximises Q" in text and "Step E" in text


def test_series_of_frames_without_a_window():
    def frame(kind, iteration, terms=None, after_e=None):
        return Frame(0, kind, iteration, None, 0.0, 10, np.ones(1), terms=terms, terms_after_e=after_e)

    e1, m1 = BoundTerms(-20.0, -25.0, 5.0), BoundTerms(-15.0, -21.0, 5.0)
    e2 = BoundTerms(-15.0, -18.0, 3.0)
    history = [frame("start", 0), frame("M", 1, m1, e1)]
    s = half_step_series(history, frame("E", 2, e2), 1)
    assert s.labels == ("E1", "M1", "E2") and s.shown == 2
    np.testing.assert_allclose(s.curves(SUMS)[0], [-20.0, -15.0, -15.0])
    np.testing.assert_allclose(s.curves(SUMS)[1], [-20.0, -16.0, -15.0])
    np.testing.assert_allclose(s.kl, [0.0, 0.1, 0.0], atol=1e-12)
