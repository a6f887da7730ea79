"""EM with mclust's covariance models: from mclust's optimum emstudio is no worse, log L never falls,
every iterate has its model's form, parameter counts are mclust's; the names the command line takes."""

import json
from pathlib import Path

import numpy as np
import pytest

from emstudio.core import FitSettings, fit_mixture
from emstudio.core.params import (
    ALL_COVARIANCE_TYPES, MCLUST_EXTRA_TYPES, MixtureParams, n_free_parameters, resolve_covariance_name,
)
from emstudio.core.selection import parse_covariance_types
from emstudio.errors import FitError, ParameterError
from tests.core.test_models import _assert_form

FIXTURES = json.loads((Path(__file__).parent / "mclust_models_fixtures.json").read_text())
IRIS = np.array(FIXTURES["cases"][0]["x"], dtype=float)
SKLEARN_NAME = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}


@pytest.mark.parametrize("model", sorted(FIXTURES["mclust_fits"]))
def test_em_from_mclusts_optimum_is_no_worse(model):
    fit = FIXTURES["mclust_fits"][model]
    k, d = 3, 4
    covariance_type = resolve_covariance_name(model)
    sigma = np.array(fit["sigma"]).reshape((k, d, d), order="F")
    start = MixtureParams(np.array(fit["pro"]), np.array(fit["mean"]).reshape((k, d), order="F"), sigma, "full")
    from emstudio.core.init import params_for_type

    result = fit_mixture(IRIS, FitSettings(k=k, covariance_type=covariance_type,
                                           init=params_for_type(start, covariance_type),
                                           reg_covar=0.0, tol=1e-10, max_iter=2000), keep_snapshots=True)
    assert result.log_likelihood >= fit["loglik"][0] - 1e-6 * abs(fit["loglik"][0])
    assert result.n_parameters == FIXTURES["cases"][0]["models"][model]["nparams"]
    # mclust's BIC is 2 log L − p ln n (higher is better); ours is its negative
    assert -result.bic >= fit["bic"][0] - 1e-6 * abs(fit["bic"][0])
    history = [s.log_likelihood for s in result.snapshots]
    assert np.all(np.diff(history) >= -1e-9 * abs(history[-1]))
    if model in MCLUST_EXTRA_TYPES:
        _assert_form(model, result.params.full_covariances())


@pytest.mark.parametrize("model", MCLUST_EXTRA_TYPES)
@pytest.mark.parametrize("init", ["kmeans", "hc", "random"])
def test_every_model_fits_from_every_start_without_a_fall(model, init):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(80, 3)) @ rng.normal(size=(3, 3)) + c for c in (0.0, 6.0)])
    result = fit_mixture(X, FitSettings(k=2, covariance_type=model, init=init, reg_covar=0.0, tol=1e-9,
                                        max_iter=300), keep_snapshots=True)
    history = [s.log_likelihood for s in result.snapshots]
    assert np.all(np.diff(history[1:]) >= -1e-9 * abs(history[-1]))
    _assert_form(model, result.params.full_covariances())
    assert result.params.covariance_type == model


def test_one_dimension_reduces_every_model_to_e_or_v():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=100), rng.normal(size=100) * 3 + 8])[:, None]
    equal = fit_mixture(x, FitSettings(k=2, covariance_type="EVE", reg_covar=0.0))
    tied = fit_mixture(x, FitSettings(k=2, covariance_type="tied", reg_covar=0.0))
    assert equal.log_likelihood == pytest.approx(tied.log_likelihood, rel=1e-8)
    assert n_free_parameters("EVE", 2, 1) == n_free_parameters("tied", 2, 1)
    varying = fit_mixture(x, FitSettings(k=2, covariance_type="VEV", reg_covar=0.0))
    full = fit_mixture(x, FitSettings(k=2, covariance_type="full", reg_covar=0.0))
    assert varying.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-8)


def test_names():
    assert resolve_covariance_name("vev") == "VEV"
    assert {resolve_covariance_name(m) for m in SKLEARN_NAME} == set(SKLEARN_NAME.values())
    assert parse_covariance_types("all") == list(ALL_COVARIANCE_TYPES) and len(ALL_COVARIANCE_TYPES) == 14
    assert parse_covariance_types("full,VVV,eve") == ["full", "EVE"]
    with pytest.raises(ParameterError, match="unknown covariance type"):
        resolve_covariance_name("VVX")
    with pytest.raises(FitError, match="mclust's model names"):
        parse_covariance_types("full,nope")
