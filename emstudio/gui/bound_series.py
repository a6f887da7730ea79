"""The numbers of the Lower bound panel: EM's half-steps as series, in one unit. No widgets.

Every iteration t is two half-steps. After the E-step (Eₜ) q = p(z | x, θₜ₋₁), so the bound
touches: F = log L(θₜ₋₁), KL = 0. After the M-step (Mₜ) θₜ maximises Q(θ | θₜ₋₁): F rose by ΔF and
a gap KL ≥ 0 opened, so log L(θₜ) = F + KL rose by ΔF + KL ≥ ΔF. Drawn over half-steps, log L is a
staircase (flat from each M to the next E: θ does not move) and F a saw-tooth that touches it at
every E. The gap exists only at the M half-steps: it is drawn there, as a bar, and never between.

Everything here is a function of the frames (frames in, arrays out), so it is tested without a
window. The panel shows one unit everywhere — plot, numbers and captions: per sample (the sums
divided by n, comparable across data sets and with the log-likelihood plot) or sums over the n
samples (the quantities of the derivation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emstudio.core.estep import BoundTerms
from emstudio.gui.worker import Frame

#: The units the panel can show: "sample" (sums / n, the default) or "sum".
PER_SAMPLE = "sample"
SUMS = "sum"
UNITS = (PER_SAMPLE, SUMS)
#: Half-steps drawn unless "all" is ticked: five iterations, each half-step labelled.
WINDOW = 10
#: The y-scale keeps the half-steps of the iteration on screen and of the one before it (see
#: :func:`y_range`) at least a third of the plot's height. log L's steps shrink as EM converges:
#: a first iteration's big step would flatten the gap of the third one to a pixel, while against
#: its own iteration's step a gap is always a visible fraction. "all" shows the whole climb.
FOCUS_SHARE = 1 / 3


@dataclass(frozen=True, eq=False)
class HalfStepSeries:
    """The half-steps E1, M1, E2, M2, … of a fit, in order.

    kinds: "E" or "M" per half-step; iterations: the iteration each belongs to; terms: the bound
    terms of (q, θ) at that half-step (sums over the samples); after_e: the terms of the same
    iteration's E-step, (q, θ that made q) — for an E half-step its own terms, None if unknown;
    shown: the position of the half-step on screen, None when the state on screen has no q (a
    start). ``log_l`` and ``bound`` (m,) are log L and F per sample; :meth:`curves` gives them in
    either unit. edits: positions between half-steps (i − 0.5) where θ was changed by hand: the
    curves may jump either way there, which is no EM step.
    """

    kinds: tuple[str, ...]
    iterations: tuple[int, ...]
    terms: tuple[BoundTerms, ...]
    after_e: tuple[BoundTerms | None, ...]
    n_samples: int
    shown: int | None
    log_l: np.ndarray
    bound: np.ndarray
    edits: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.kinds)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f"{kind}{iteration}" for kind, iteration in zip(self.kinds, self.iterations))

    @property
    def kl(self) -> np.ndarray:
        """KL per sample (m,): the gap between log L and F (0 at every E half-step)."""
        return self.log_l - self.bound

    def scale(self, unit: str) -> float:
        """What a per-sample value is multiplied by to be in ``unit``: 1, or n for sums."""
        return float(self.n_samples) if unit == SUMS else 1.0

    def curves(self, unit: str = PER_SAMPLE) -> tuple[np.ndarray, np.ndarray]:
        """log L and F (m,) each, in ``unit``."""
        if unit == SUMS:
            return (np.fromiter((t.log_likelihood for t in self.terms), float, len(self.terms)),
                    np.fromiter((t.lower_bound for t in self.terms), float, len(self.terms)))
        return self.log_l, self.bound


EMPTY = HalfStepSeries((), (), (), (), 1, None, np.empty(0), np.empty(0))


def half_step_series(history: Sequence[Frame], current: Frame | None, index: int) -> HalfStepSeries:
    """The half-steps of ``history`` (the controller's kept frames) and of ``current``.

    A kept frame of an iteration (a run's "iteration" or a step's "M") gives its E point (from
    ``terms_after_e``) and its M point (from ``terms``); a "start" gives none. A ``current`` E frame
    (a lone E-step, not kept in the history) adds a trailing E point, and is the half-step on
    screen; otherwise the M point of ``history[index]`` is.
    """
    kinds: list[str] = []
    iterations: list[int] = []
    terms: list[BoundTerms] = []
    after_e: list[BoundTerms | None] = []
    shown = None
    n = 1
    edits: list[float] = []
    for position, frame in enumerate(history):
        if frame.kind == "edit" and kinds:
            edits.append(len(kinds) - 0.5)
        if frame.terms is None:
            continue
        n = frame.n_samples
        if frame.terms_after_e is not None:
            kinds.append("E")
            iterations.append(frame.iteration)
            terms.append(frame.terms_after_e)
            after_e.append(frame.terms_after_e)
        kinds.append("M")
        iterations.append(frame.iteration)
        terms.append(frame.terms)
        after_e.append(frame.terms_after_e)
        if position == index:
            shown = len(kinds) - 1
    if current is not None and current.kind == "E" and current.terms is not None:
        n = current.n_samples
        kinds.append("E")
        iterations.append(current.iteration)
        terms.append(current.terms)
        after_e.append(current.terms)
        shown = len(kinds) - 1
    if not kinds:
        return HalfStepSeries((), (), (), (), n, None, np.empty(0), np.empty(0))
    log_l = np.fromiter((t.log_likelihood for t in terms), float, len(terms)) / n
    bound = np.fromiter((t.expected_complete + t.entropy for t in terms), float, len(terms)) / n
    return HalfStepSeries(tuple(kinds), tuple(iterations), tuple(terms), tuple(after_e), n, shown, log_l, bound,
                          tuple(dict.fromkeys(edits)))


def visible_window(length: int, shown: int | None, width: int = WINDOW) -> tuple[int, int]:
    """First and last position drawn (inclusive): the last ``width`` half-steps, or, when the one
    on screen is earlier, a window holding it with a quarter of the window after it."""
    if length <= width:
        return 0, max(length - 1, 0)
    last = length - 1
    if shown is not None and shown < length - width // 4:
        last = min(length - 1, max(shown + width // 4, width - 1))
    return last - width + 1, last


def focus(series: HalfStepSeries, first: int, last: int) -> tuple[int, int]:
    """First and last position (inclusive) that must be seen at a readable scale: the half-steps
    of the iteration on screen and of the one before it, and the half-step after it (the latest
    two iterations when nothing drawn is on screen), within the drawn ``first``…``last``."""
    anchor = series.shown if series.shown is not None and first <= series.shown <= last else last
    iteration = series.iterations[anchor]
    start = anchor
    while start > first and series.iterations[start - 1] >= iteration - 1:
        start -= 1
    return start, min(last, anchor + 1)


def y_range(series: HalfStepSeries, first: int, last: int, whole: bool = False,
            unit: str = PER_SAMPLE) -> tuple[float, float]:
    """The values (in ``unit``) the plot's height spans, before padding: every drawn half-step,
    but, unless ``whole``, no more than the focus half-steps' span / FOCUS_SHARE — older, far
    lower half-steps run off the bottom. So the first half-steps (all of them in focus) show their
    whole gap, and later the range follows the latest iterations as their steps shrink."""
    log_l, bound = series.curves(unit)
    low = float(bound[first:last + 1].min())
    high = float(log_l[first:last + 1].max())
    if whole:
        return low, high
    start, end = focus(series, first, last)
    focus_low = float(bound[start:end + 1].min())
    focus_high = float(log_l[start:end + 1].max())
    room = (focus_high - focus_low) * (1 / FOCUS_SHARE - 1)
    return max(low, focus_low - room), min(high, focus_high + room)


def gap_bars(series: HalfStepSeries, first: int, last: int, unit: str = PER_SAMPLE
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The KL gap where it exists: at the M half-steps within ``first``…``last``. Returns their
    positions, F (the bar's foot) and KL = log L − F (its height), (b,) each, in ``unit``.

    An E half-step has KL = 0 by construction, and between half-steps there is no (q, θ) whose
    gap could be drawn: a bar at each M, nothing in between, is all the gap there is."""
    log_l, bound = series.curves(unit)
    positions = np.array([i for i in range(first, last + 1) if series.kinds[i] == "M"], dtype=int)
    if positions.size == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    foot = bound[positions]
    height = np.maximum(log_l[positions] - foot, 0.0)  # −1e−16 of rounding is no gap
    return positions.astype(float), foot, height


def gap_reference(series: HalfStepSeries, i: int) -> float | None:
    """The KL gap (per sample) a person compares the numbers of half-step ``i`` with: its own at
    an M, else the gap of the M before it (the gap the E-step has just closed), else of the M after
    it; None when no M is known. The panel shows its numbers to the digits that show this gap."""
    if not len(series):
        return None
    kl = series.kl
    order = [i] + list(range(i - 1, -1, -1)) + list(range(i + 1, len(series)))
    for j in order:
        if series.kinds[j] == "M" and kl[j] > 0:
            return float(kl[j])
    return None
