"""Factor analysis and mixtures of factor analysers one half-step at a time (the window's Step E
and Step M), as :class:`emstudio.core.em.Stepper` does for the Gaussian mixture.

The steps work, as :func:`emstudio.core.factor.fit_factor` does, on the data divided by each
column's standard deviation, and report θ, log L and the bound terms in the data's units (Q and
log L shift by the log-Jacobian −n Σⱼ log sⱼ; Ent(q) is a property of the latent q and does not).
"""

from __future__ import annotations

import numpy as np

from emstudio.core.stepper import HalfStep
from emstudio.core.estep import BoundTerms
from emstudio.core.factor import (
    PSI_FLOOR,
    FactorData,
    FactorParams,
    FactorSettings,
    FactorStats,
    column_scales,
    expected_complete,
    m_step,
    scale_params,
    start_params,
)
from emstudio.core.factor_model import checked_pass
from emstudio.errors import FitError


class FactorProblem:
    """The data X (n, d) as factor fits see it: standardised columns, the floor on Ψ, the Jacobian."""

    def __init__(self, X: np.ndarray):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.shape[0] < 2 or not np.all(np.isfinite(X)):
            raise FitError("a factor model needs at least 2 rows of finite data")
        variances = X.var(axis=0)
        if np.any(variances <= 0):
            raise FitError(f"column {int(np.flatnonzero(variances <= 0)[0]) + 1} is constant: "
                           "a factor model needs every column to vary")
        self.n, self.d = X.shape
        self.variances = variances
        self.scales = column_scales(X)
        self.log_jacobian = -self.n * float(np.log(self.scales).sum())
        self.data = FactorData(X / self.scales)
        self.psi_floor = PSI_FLOOR * self.data.X.var(axis=0)

    def to_data_units(self, params: FactorParams) -> FactorParams:
        return scale_params(params, self.scales)

    def to_fit_units(self, params: FactorParams) -> FactorParams:
        return scale_params(params, 1.0 / self.scales)

    def terms(self, log_l: float, q_value: float, entropy: float) -> BoundTerms:
        """Bound terms measured on the standardised data, in the data's units."""
        return BoundTerms(log_l + self.log_jacobian, q_value + self.log_jacobian, entropy)

    def start(self, settings: FactorSettings) -> FactorParams:
        """θ₀ of ``settings`` in the data's units: its own start, or its first restart's (the seed as
        fit_factor uses it, so Re-initialise shows the start a Run begins from)."""
        settings.validate(self.n, self.d)
        if isinstance(settings.init, FactorParams):
            return settings.init
        seed = np.random.SeedSequence(settings.seed).spawn(max(settings.restarts, 1))[0]
        start = start_params(self.data.X, settings.k, settings.n_factors, settings.init,
                             np.random.default_rng(seed), settings.psi == "shared")
        return self.to_data_units(start)


class FactorStepper:
    """EM of a factor model one half-step at a time; the same interface as em.Stepper.

    ``params`` is θ in the data's units (what the window holds); each half-step returns an
    :class:`emstudio.core.em.HalfStep` whose ``params`` is a :class:`FactorParams`.
    """

    def __init__(self, problem: FactorProblem, params: FactorParams, iteration: int = 0):
        self.problem = problem
        self.params = params
        self.iteration = iteration
        self._theta = problem.to_fit_units(params)  # θ in the fit's units
        self._pass = checked_pass(problem.data.run_pass(self._theta))
        self._q: FactorStats | None = None
        self._q_source: FactorParams | None = None  # the θ (fit units) that made q
        self._last_m: HalfStep | None = None

    def _half_step(self, kind: str, stats: FactorStats, terms: BoundTerms | None) -> HalfStep:
        return HalfStep(kind, self.iteration, self.params, stats.log_likelihood + self.problem.log_jacobian,
                        self.problem.n, stats.n_k, terms)

    def start(self) -> HalfStep:
        return self._half_step("start", self._pass, None)

    def e_step(self) -> HalfStep:
        """q(k, z) = p(k, z | x, θ): F = log L, KL = 0."""
        if self._q_source is not self._theta:
            self._q, self._q_source = self._pass, self._theta
            self._last_m = None
            self.iteration += 1
        return self._half_step("E", self._q, self.terms_after_e())

    def terms_after_e(self) -> BoundTerms | None:
        q = self._q
        if q is None:
            return None
        return self.problem.terms(q.log_likelihood, expected_complete(q, self._q_source), q.entropy())

    def m_step(self) -> HalfStep:
        """θ = argmax Q(θ | θₜ) for the current q: F rises, log L(θ) ≥ F."""
        if self._q is None:
            self.e_step()
        if self._last_m is not None:
            return self._last_m
        q = self._q
        self._theta = m_step(q, self._q_source.psi_shared, self.problem.psi_floor)
        self.params = self.problem.to_data_units(self._theta)
        self._pass = checked_pass(self.problem.data.run_pass(self._theta))
        terms = self.problem.terms(self._pass.log_likelihood, expected_complete(q, self._theta), q.entropy())
        self._last_m = self._half_step("M", self._pass, terms)
        return self._last_m
