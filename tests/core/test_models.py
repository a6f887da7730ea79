"""mclust's 14 covariance models: M-steps against mclust, parameter counts, the form of each model,
and the generalised M-step never lowering Q."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from emstudio.core.models import (
    ALIASES, MCLUST_MODELS, canonical_model, covariance_objective, m_step_covariances, model_for_dimension,
    n_parameters,
)

FIXTURES = json.loads((Path(__file__).parent / "mclust_models_fixtures.json").read_text())
CLOSED_FORM = {"EII", "VII", "EEI", "EVI", "VVI", "EEE", "EEV", "EVV", "VVV", "E", "V"}


def _moments(X, z):
    n_k = z.sum(axis=0)
    means = z.T @ X / n_k[:, None]
    scatter = np.stack([(z[:, j:j + 1] * (X - means[j])).T @ (X - means[j]) for j in range(z.shape[1])])
    return n_k, means, scatter


def _log_likelihood(X, n_k, means, covs):
    weights = n_k / n_k.sum()
    dens = sum(w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, covs))
    return float(np.log(dens).sum())


CASES = [(case["data"], model) for case in FIXTURES["cases"] for model in case["models"]]


@pytest.mark.parametrize("data,model", CASES, ids=[f"{d}-{m}" for d, m in CASES])
def test_each_m_step_matches_mclust(data, model):
    case = next(c for c in FIXTURES["cases"] if c["data"] == data)
    X, z = np.array(case["x"], dtype=float), np.array(case["z"])
    k, d = z.shape[1], X.shape[1]
    reference = case["models"][model]
    mclust_sigma = np.array(reference["sigma"]).reshape((k, d, d), order="F")
    n_k, means, scatter = _moments(X, z)
    ours = m_step_covariances(model, n_k, scatter)
    assert n_parameters(model, k, d) == reference["nparams"]
    ours_objective = covariance_objective(n_k, scatter, ours)
    mclust_objective = covariance_objective(n_k, scatter, mclust_sigma)
    # never worse than mclust's M-step (the covariance part of Q, which the M-step maximises)
    assert ours_objective <= mclust_objective + 1e-9 * abs(mclust_objective)
    if model in CLOSED_FORM:
        np.testing.assert_allclose(ours, mclust_sigma, rtol=1e-10, atol=1e-12 * np.abs(mclust_sigma).max())
        assert _log_likelihood(X, n_k, means, ours) == pytest.approx(reference["loglik"][0], rel=1e-10)
    elif model != "VVE":
        # the iterative M-steps agree to the precision their iterations reach
        np.testing.assert_allclose(ours, mclust_sigma, rtol=1e-6, atol=1e-7 * np.abs(mclust_sigma).max())
        assert _log_likelihood(X, n_k, means, ours) == pytest.approx(reference["loglik"][0], rel=1e-8)


def test_parameter_counts_of_the_four_scikit_learn_models():
    k, d = 3, 4
    assert n_parameters("spherical", k, d) == k + k * d + k - 1
    assert n_parameters("diag", k, d) == k * d + k * d + k - 1
    assert n_parameters("tied", k, d) == d * (d + 1) // 2 + k * d + k - 1
    assert n_parameters("full", k, d) == k * d * (d + 1) // 2 + k * d + k - 1


def test_names():
    assert canonical_model("vev") == "VEV" and canonical_model("full") == "VVV"
    assert {canonical_model(a) for a in ALIASES} == {"VII", "VVI", "EEE", "VVV"}
    assert model_for_dimension("VVV", 1) == "V" and model_for_dimension("EEE", 1) == "E"
    with pytest.raises(ValueError, match="unknown covariance model"):
        canonical_model("XYZ")
    with pytest.raises(ValueError, match="one-dimensional"):
        model_for_dimension("E", 3)


def _unit(c):
    return c / np.linalg.det(c) ** (1 / c.shape[0])


def _assert_form(model, covs):
    k, d, _ = covs.shape
    close = dict(rtol=1e-7, atol=1e-9 * np.abs(covs).max())
    dets = np.array([np.linalg.det(c) for c in covs])
    off_diagonal = covs - np.stack([np.diag(np.diagonal(c)) for c in covs])
    if model[2] == "I":
        np.testing.assert_allclose(off_diagonal, 0, atol=1e-12 * np.abs(covs).max())
    if model in ("EII", "VII"):
        for c in covs:
            np.testing.assert_allclose(c, c[0, 0] * np.eye(d), **close)
    if model[0] == "E":
        np.testing.assert_allclose(dets, np.full(dets.shape, dets[0]), rtol=1e-7)
    if model[1] == "E" and model[2] in "EI":
        for c in covs:
            np.testing.assert_allclose(_unit(c), _unit(covs[0]), **close)
    if model[2] == "E":  # a common orientation: the matrices commute
        for c in covs:
            np.testing.assert_allclose(c @ covs[0], covs[0] @ c, rtol=1e-6, atol=1e-8 * np.abs(covs).max() ** 2)
    if model[1] == "E" and model[2] == "V":  # a common shape: equal normalised eigenvalues
        shapes = np.stack([np.linalg.eigvalsh(_unit(c)) for c in covs])
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=1e-7)


cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "n": st.integers(12, 80),
    "d": st.integers(2, 4),
    "k": st.integers(1, 4),
    "model": st.sampled_from(MCLUST_MODELS),
})


@settings(max_examples=60, deadline=None)
@given(cases)
def test_every_m_step_has_its_models_form_and_never_lowers_q(case):
    rng = np.random.default_rng(case["seed"])
    X = rng.normal(size=(case["n"], case["d"])) @ rng.normal(size=(case["d"], case["d"]))
    z = rng.dirichlet(np.full(case["k"], 0.5), size=case["n"]) + 1e-3
    z /= z.sum(axis=1, keepdims=True)
    n_k, _, scatter = _moments(X, z)
    model = case["model"]
    first = m_step_covariances(model, n_k, scatter)
    assert np.all(np.isfinite(first)) and np.all(np.linalg.eigvalsh(first) > 0)
    _assert_form(model, first)
    # a second M-step from other responsibilities, started from the first: never worse than it
    z2 = np.clip(z + rng.uniform(0, 0.3, size=z.shape), 1e-3, None)
    z2 /= z2.sum(axis=1, keepdims=True)
    n2, _, scatter2 = _moments(X, z2)
    second = m_step_covariances(model, n2, scatter2, previous=first)
    _assert_form(model, second)
    before = covariance_objective(n2, scatter2, first)
    after = covariance_objective(n2, scatter2, second)
    assert after <= before + 1e-9 * abs(before)
