"""EM one half-step at a time (the step-by-step window): E sets q, M maximises Q for that q.

Each half-step reports the bound's terms, so the window can show log L = F + KL touching after
the E-step and separating after the M-step (the first seed's picture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.engine import MixtureEngine, PassResult
from emstudio.core.estep import BoundTerms
from emstudio.core.iterations import _check_finite
from emstudio.core.mstep import expected_complete_log_likelihood, m_step
from emstudio.core.params import MixtureParams


@dataclass(frozen=True, eq=False)
class HalfStep:
    """The state after one half-step of step-by-step EM (K-sized; immutable).

    kind: "start", "E" or "M"; iteration: full iterations completed (an E-step belongs to the
    iteration it starts); params: θ now; terms: log L(θ), Q, Ent, F, KL of the current (q, θ), or
    None at the start (no q yet); component_sizes: Nₖ under q (after E) or under θ's own
    responsibilities (start and after M).
    """

    kind: str
    iteration: int
    params: MixtureParams
    log_likelihood: float
    n_samples: int
    component_sizes: np.ndarray
    terms: BoundTerms | None


class Stepper:
    """EM one half-step at a time, for the step-by-step window.

    ``e_step()`` sets q = p(z | x, θ) (the bound touches: KL = 0); ``m_step()`` sets
    θ = argmax Q(θ | θₜ) for that q (F rises, KL opens). Each returns a :class:`HalfStep`. Both are
    idempotent when repeated; an M-step with no E-step before it makes one first. The pass that
    measures log L(θ) after an M-step is kept and reused by the next E-step, so stepping costs one
    pass per iteration, as running does.
    """

    def __init__(self, engine: MixtureEngine, params: MixtureParams, reg_covar: float, iteration: int = 0,
                 frozen: np.ndarray | None = None):
        self.engine = engine
        self.frozen = frozen  # (K,) bool: components the M-step keeps as they are
        self.reg_covar = reg_covar
        self.params = params
        self.iteration = iteration
        self._pass = _check_finite(engine.run_pass(params))  # under the current θ
        self._q: PassResult | None = None  # the pass whose responsibilities are q
        self._q_source: MixtureParams | None = None  # the θ that made q
        self._last_m: HalfStep | None = None

    def _half_step(self, kind: str, result: PassResult, sizes: np.ndarray, terms: BoundTerms | None) -> HalfStep:
        return HalfStep(kind, self.iteration, self.params, result.log_likelihood, self.engine.n_samples, sizes, terms)

    def start(self) -> HalfStep:
        """The current state before any half-step."""
        return self._half_step("start", self._pass, self._pass.stats.n_k, None)

    def e_step(self) -> HalfStep:
        """q = p(z | x, θ): F(q, θ) = log L(θ), KL = 0."""
        if self._q_source is not self.params:
            self._q, self._q_source = self._pass, self.params
            self._last_m = None
            self.iteration += 1
        return self._half_step("E", self._q, self._q.stats.n_k, self.terms_after_e())

    def terms_after_e(self) -> BoundTerms | None:
        """The bound terms of (q, θₜ) right after the current q's E-step (KL = 0); None before any."""
        q = self._q
        return None if q is None else BoundTerms(q.log_likelihood, q.expected_complete, q.entropy)

    def m_step(self) -> HalfStep:
        """θ = argmax Q(θ | θₜ) for the current q: F rises, log L(θ) ≥ F."""
        if self._q is None:
            self.e_step()
        if self._last_m is not None:  # already made from this q
            return self._last_m
        q = self._q
        self.params = m_step(q.stats, self.engine.covariance_type, self.reg_covar, previous=self._q_source,
                             frozen=self.frozen)
        self._pass = _check_finite(self.engine.run_pass(self.params))
        terms = BoundTerms(self._pass.log_likelihood, expected_complete_log_likelihood(q.stats, self.params),
                           q.entropy)
        self._last_m = self._half_step("M", self._pass, self._pass.stats.n_k, terms)
        return self._last_m
