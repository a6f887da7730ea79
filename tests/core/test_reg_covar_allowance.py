"""With reg_covar > 0 the M-step maximises Q − (reg/2) Σₖ Nₖ tr Σₖ⁻¹, not Q: log L may fall, but
never by more than (reg/2) Σₖ Nₖ (tr Σₖ⁻¹(θₜ) − tr Σₖ⁻¹(θₜ₊₁)) — with healthy components too
(issue 14: such falls were blamed on a collapsing component)."""

from pathlib import Path

import numpy as np
import pytest

from emstudio.core.checks import FALL_TOLERANCE, likelihood_falls, reg_covar_allowance
from emstudio.core.em import FitSettings, fit_mixture
from emstudio.io.data import load_data

OVERLAPPING = Path(__file__).resolve().parents[2] / "emstudio" / "samples" / "overlapping.csv"


def _run(X, covariance_type, reg_covar, iterations=200):
    states = []
    fit_mixture(X, FitSettings(k=3, covariance_type=covariance_type, reg_covar=reg_covar, tol=0.0, init="kmeans",
                               max_iter=iterations), on_snapshot=lambda i, s: states.append(s))
    return states


@pytest.mark.parametrize("covariance_type, reg_covar", [("spherical", 1e-3), ("spherical", 1e-2), ("diag", 1e-1),
                                                         ("full", 1e-2), ("full", 1e-1), ("tied", 1e-1)])
def test_every_fall_of_log_l_is_within_the_reg_covar_allowance(covariance_type, reg_covar):
    X = load_data(OVERLAPPING).values
    states = _run(X, covariance_type, reg_covar)
    log_l = np.array([s.log_likelihood for s in states])
    allowances = [0.0] + [reg_covar_allowance(a.params, b.params, a.component_sizes, reg_covar)
                          for a, b in zip(states, states[1:])]
    falls = likelihood_falls(log_l, [False] * len(states), [True] + [False] * (len(states) - 1), allowances)
    assert falls, "these fits do lose log-likelihood to reg_covar (else the test shows nothing)"
    assert all(f.explained for f in falls)
    for f in falls:
        assert f.drop <= allowances[f.index] * (1 + 1e-6) + FALL_TOLERANCE * abs(log_l[f.index])
    # Healthy components: none near collapse.
    assert min(s.component_sizes.min() for s in states[-5:]) > 50


def test_no_allowance_without_reg_covar_or_across_a_change_of_k():
    X = load_data(OVERLAPPING).values
    states = _run(X, "full", 1e-2, iterations=3)
    assert reg_covar_allowance(states[0].params, states[1].params, states[0].component_sizes, 0.0) == 0.0
    fewer = _run(X[:, :2], "full", 1e-2, iterations=1)[0].params
    assert reg_covar_allowance(states[0].params, fewer, states[0].component_sizes, 1e-2) >= 0.0


def test_a_fall_beyond_the_allowance_is_not_explained():
    falls = likelihood_falls([-100.0, -101.0], [False, False], [True, False], [0.0, 0.5])
    assert len(falls) == 1 and not falls[0].explained
    falls = likelihood_falls([-100.0, -100.4], [False, False], [True, False], [0.0, 0.5])
    assert falls[0].explained
