"""--standardize: fit on z-scores, report in the data's units, same model as a fit in those units."""

import numpy as np
import pytest

from emstudio.core import FitSettings, fit_mixture, initial_params, log_likelihood
from emstudio.core.transform import Standardisation
from emstudio.errors import DataError
from tests.conftest import DATASETS


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_standardised_fit_reports_original_units(covariance_type):
    X = DATASETS["2d"]() * np.array([1e-4, 1e3]) + np.array([5.0, -2e4])
    st = Standardisation.of(X)
    Z = st.apply(X)
    result = st.result_to_original(fit_mixture(Z, FitSettings(k=3, covariance_type=covariance_type)))
    # log L in the file is that of the reported parameters on the original data.
    assert abs(log_likelihood(X, result.params) - result.log_likelihood) < 1e-8 * abs(result.log_likelihood)
    assert result.n_parameters == fit_mixture(Z, FitSettings(k=3, covariance_type=covariance_type)).n_parameters
    history = np.array([ll for _, ll in result.history])
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))


def test_full_model_is_equivariant_under_standardising():
    """For a full model, fitting z and mapping back equals fitting x from the mapped start."""
    X = DATASETS["2d"]() * np.array([3.0, 0.5]) + 10.0
    st = Standardisation.of(X)
    start_z = initial_params(st.apply(X), 3, "full", "kmeans", np.random.default_rng(0))
    via_z = st.result_to_original(fit_mixture(st.apply(X), FitSettings(k=3, init=start_z, tol=0, max_iter=30,
                                                                      reg_covar=0.0)))
    direct = fit_mixture(X, FitSettings(k=3, init=st.params_to_original(start_z), tol=0, max_iter=30, reg_covar=0.0))
    assert np.allclose(via_z.params.means, direct.params.means, rtol=1e-8)
    assert np.allclose(via_z.params.covariances, direct.params.covariances, rtol=1e-7)
    assert abs(via_z.log_likelihood - direct.log_likelihood) < 1e-8 * abs(direct.log_likelihood)


def test_standardising_values_near_float64_limits():
    for factor in (1e100, 1e200):
        X = DATASETS["2d"]() * factor
        st = Standardisation.of(X)
        Z = st.apply(X)
        assert np.all(np.isfinite(Z)) and np.allclose(Z.std(axis=0), 1.0)
        assert np.allclose(Z.mean(axis=0), 0, atol=1e-12)
        fit = fit_mixture(Z, FitSettings(k=3))
        if factor == 1e100:
            result = st.result_to_original(fit)
            assert np.all(np.isfinite(result.params.covariances)) and np.isfinite(result.log_likelihood)
        else:  # covariances of 1e400 cannot be written in the data's units
            with pytest.raises(DataError, match="overflow"):
                st.result_to_original(fit)
