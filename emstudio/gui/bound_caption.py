"""The words and numbers of the Lower bound panel: what a half-step did and why log L never falls.

Pure: a series and what is on screen in, text out. Every number is in the panel's unit (per
sample or sums) and shown to the digits that matter: enough decimals that the KL gap a person is
comparing shows with three significant digits, no more than float64 carries, and all values of
the panel with the same decimals so that they line up and can be subtracted by eye.
"""

from __future__ import annotations

import math

from emstudio.core.checks import FALL_TOLERANCE
from emstudio.core.estep import BoundTerms
from emstudio.core.numbers import format_number
from emstudio.gui.bound_series import PER_SAMPLE, SUMS, HalfStepSeries, gap_reference

#: Fewest and most decimals of the values; float64 carries about 15–16 significant digits.
MIN_DECIMALS = 2
MAX_DECIMALS = 12
SIGNIFICANT_LIMIT = 15
#: Decimals when there is no gap to compare with (a lone first E-step).
DEFAULT_DECIMALS = {PER_SAMPLE: 4, SUMS: 2}


def unit_name(unit: str, n: int) -> str:
    """How the unit is said under the plot and in the captions."""
    return "per sample" if unit == PER_SAMPLE else f"sums over the {n:,} samples"


def decimals_for(resolution: float | None, magnitude: float, unit: str = PER_SAMPLE) -> int:
    """Decimals that show ``resolution`` (the smallest difference that matters, > 0) with three
    significant digits, for values up to ``magnitude`` in size; never more than float64 carries."""
    if resolution is None or not resolution > 0 or not math.isfinite(resolution):
        decimals = DEFAULT_DECIMALS.get(unit, 4)
    else:
        decimals = 2 - math.floor(math.log10(resolution))
    whole_digits = max(0, math.floor(math.log10(magnitude)) + 1) if magnitude > 0 else 0
    return int(min(max(decimals, MIN_DECIMALS), MAX_DECIMALS, max(SIGNIFICANT_LIMIT - whole_digits, 0)))


def fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals and a true minus sign; −0.000 is 0.000."""
    text = f"{value:.{decimals}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")
    return text.replace("-", "−")


def is_rounding(difference: float, size: float) -> bool:
    """A difference of two sums of n terms that is only float rounding (−2e−13 after an E-step)."""
    return abs(difference) <= FALL_TOLERANCE * max(abs(size), 1.0)


class Numbers:
    """How the panel writes the values of one half-step: unit, scale and decimals."""

    def __init__(self, series: HalfStepSeries, i: int | None, unit: str = PER_SAMPLE) -> None:
        self.unit = unit
        self.scale = series.scale(unit) / series.n_samples  # terms are sums: sums × scale = in unit
        reference = gap_reference(series, i) if i is not None else None
        resolution = None if reference is None else reference * series.scale(unit)
        terms = series.terms[i] if i is not None else None
        magnitude = 0.0 if terms is None else max(abs(terms.log_likelihood), abs(terms.expected_complete),
                                                  abs(terms.entropy)) * self.scale
        self.decimals = decimals_for(resolution, magnitude, unit)

    def value(self, total: float) -> str:
        """A sum over the samples, in the unit, to the panel's decimals."""
        return fixed(total * self.scale, self.decimals)

    def change(self, total: float) -> str:
        """A change (a sum) in the unit, signed, to three significant digits: a rise of 4.8×10⁻⁷
        reads better than +0.000000480, and its leading digits are the ones that matter."""
        text = format_number(total * self.scale, 3)
        return text if text.startswith("−") or text == "0" else "+" + text

    def kl(self, terms: BoundTerms) -> str:
        """KL: "≈ 0" where it is zero up to rounding (right after an E-step), else its size."""
        if is_rounding(terms.kl, terms.log_likelihood):
            return "≈ 0"
        return format_number(terms.kl * self.scale, 3)


def describe(series: HalfStepSeries, frame_kind: str | None, unit: str = PER_SAMPLE,
             repeated: bool = False) -> str:
    """A short plain-language caption of the half-step on screen and why log L never falls.

    ``frame_kind`` is the kind of the frame on screen ("start", "E", "M", "iteration", "edit", or
    None with nothing fitted): a run's iteration is told as both of its half-steps. ``repeated``:
    the half-step on screen was just made again (Step E twice, Step M twice), which changes
    nothing — the caption says why.
    """
    if frame_kind is None:
        return "Step E (E), Step M (M) or Run (Space) to see EM's lower bound F climb under log L."
    if frame_kind == "edit":
        return ("A hand edit: θ was changed by hand, not by EM, so log L may have gone either way (the "
                "orange dashed line). There is no q for this θ yet — Step E (E) sets q = p(z | x, θ), the "
                "bound touches log L again, and from there every EM step climbs as before.")
    i = series.shown
    if i is None:
        return ("A start: θ is set but there is no q yet, so there is no bound to draw — press Step E (E) "
                "to set q = p(z | x, θ) and see F touch log L.")
    numbers = Numbers(series, i, unit)
    t = series.terms[i]
    iteration = series.iterations[i]
    if series.kinds[i] == "E":
        if repeated and frame_kind == "E":
            return (f"E-step {iteration} again: nothing changed. q is already the posterior p(z | x, θ) for "
                    "this θ, so KL = 0 and F = log L — no other q can raise the bound above log L, and θ "
                    "did not move. Step M (M) is what moves θ.")
        text = (f"E-step {iteration}: q = p(z | x, θ), the posterior under θ, so KL = 0 and the bound "
                "touches log L. θ did not move, so log L stayed")
        # F's change is told from the M-step before; never across a hand edit (θ was not EM's).
        if i > 0 and series.kinds[i - 1] == "M" and (i - 0.5) not in series.edits:
            rise = t.lower_bound - series.terms[i - 1].lower_bound
            text += f"; F rose by {numbers.change(rise)} ({unit_name(unit, series.n_samples)}) to meet it"
        return text + ". Next: Step M (M)."
    e = series.after_e[i]
    if e is None:
        return f"Iteration {iteration}: log L = F + KL with KL ≥ 0."
    if repeated and frame_kind == "M":
        return (f"M-step {iteration} again: nothing changed. θ already maximises Q(θ | θₜ) for this q — the "
                "weighted means, covariances and weights come out the same — so F, log L and KL = "
                f"{numbers.kl(t)} stay. Step E (E) moves q to the posterior of the new θ, and only then can "
                "the next M-step climb.")
    rise_f = t.lower_bound - e.lower_bound
    rise_l = t.log_likelihood - e.log_likelihood
    if rise_f < 0 and not is_rounding(rise_f, t.log_likelihood):
        # With reg_covar > 0 the M-step maximises Q − (reg/2) Σₖ Nₖ tr Σₖ⁻¹ (the covariances get
        # reg·I added), not Q: F may fall a little with healthy components, a lot where one collapses.
        what = (f"Iteration {iteration}, E then M: the E-step made q = p(z | x, θ) (KL = 0, F = log L); then"
                if frame_kind == "iteration" else f"M-step {iteration}:")
        return (f"{what} F fell, ΔF = {numbers.change(rise_f)}, and log L changed by {numbers.change(rise_l)}. "
                "With reg_covar > 0 the M-step maximises Q − (reg/2) Σₖ Nₖ tr Σₖ⁻¹ (each covariance gets "
                "reg_covar·I added), not Q, so F can fall; the penalty is large only where a component "
                "collapses. With reg_covar = 0 the exact M-step never lowers F.")
    if frame_kind == "iteration":
        head = (f"Iteration {iteration}, E then M: the E-step made q = p(z | x, θ) (KL = 0, F = log L); the "
                f"M-step maximised Q, so F rose by ΔF = {numbers.change(rise_f)}")
    else:
        head = (f"M-step {iteration}: θ maximises Q(θ | θₜ) for this q and Ent(q) is unchanged, so F rose by "
                f"ΔF = {numbers.change(rise_f)}")
    if is_rounding(rise_f, t.log_likelihood) and is_rounding(rise_l, t.log_likelihood):
        return (head + " — that is, not at all (to rounding): θ is already Q's maximiser for this q, so EM "
                "has converged here; log L and F stay where they are.")
    return (head + f" and KL = {numbers.kl(t)} ≥ 0 opened: log L rose by ΔF + KL = {numbers.change(rise_l)} "
            f"≥ ΔF ({unit_name(unit, series.n_samples)}). For an exact M-step (reg_covar = 0) log L never "
            "falls: log L(θₜ₊₁) ≥ F(q, θₜ₊₁) ≥ F(q, θₜ) = log L(θₜ).")
