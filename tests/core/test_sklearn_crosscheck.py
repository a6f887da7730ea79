"""EM matches scikit-learn from the same start, after a fixed number of iterations (tol = 0)."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from emstudio.core import FitSettings, fit_mixture, initial_params, log_likelihood
from tests.conftest import DATASETS

COV_TYPES = ["full", "tied", "diag", "spherical"]


def _sklearn_precisions(start):
    if start.covariance_type in ("full", "tied"):
        return np.linalg.inv(start.covariances)
    return 1.0 / start.covariances


def _sklearn_fit(X, start, k, n_iter, reg_covar):
    model = GaussianMixture(k, covariance_type=start.covariance_type, weights_init=start.weights,
                            means_init=start.means, precisions_init=_sklearn_precisions(start),
                            max_iter=n_iter, tol=0.0, reg_covar=reg_covar)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "did not converge": tol = 0 never does
        model.fit(X)
    return model


def _relative(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(b)), 1e-300)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("init", ["kmeans", "random", "seed-step0"])
def test_em_matches_sklearn_after_fixed_iterations(dataset, covariance_type, init):
    X = DATASETS[dataset]()
    k, n_iter, reg = 3 if dataset != "offset" else 2, 25, 1e-6
    start = initial_params(X, k, covariance_type, init, np.random.default_rng(7), reg)
    ours = fit_mixture(X, FitSettings(k=k, covariance_type=covariance_type, init=start,
                                      max_iter=n_iter, tol=0.0, reg_covar=reg))
    theirs = _sklearn_fit(X, start, k, n_iter, reg)
    assert ours.n_iter == n_iter and not ours.converged
    assert _relative(ours.params.weights, theirs.weights_) < 1e-6
    assert _relative(ours.params.means, theirs.means_) < 1e-6
    assert _relative(ours.params.covariances, theirs.covariances_) < 1e-6
    # scikit-learn's lower_bound_ is log L before its last M-step: compare the final parameters' log L.
    sk_log_l = theirs.score(X) * X.shape[0]
    assert abs(ours.log_likelihood - sk_log_l) <= 1e-6 * abs(sk_log_l)
    assert abs(ours.log_likelihood - log_likelihood(X, ours.params)) <= 1e-9 * abs(sk_log_l)
    assert abs(ours.bic - theirs.bic(X)) <= 1e-6 * abs(theirs.bic(X))
    assert abs(ours.aic - theirs.aic(X)) <= 1e-6 * abs(theirs.aic(X))


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_labels_match_sklearn_predict(covariance_type):
    from emstudio.core import predict, responsibilities

    X = DATASETS["2d"]()
    start = initial_params(X, 3, covariance_type, "kmeans", np.random.default_rng(0))
    ours = fit_mixture(X, FitSettings(k=3, covariance_type=covariance_type, init=start, max_iter=10, tol=0))
    theirs = _sklearn_fit(X, start, 3, 10, 1e-6)
    assert np.array_equal(predict(X, ours.params), theirs.predict(X))
    assert np.allclose(responsibilities(X, ours.params), theirs.predict_proba(X), atol=1e-9)


def test_big_chunked_threaded_pass_matches_sklearn():
    """Many chunks over two threads give the same answer as one pass."""
    rng = np.random.default_rng(11)
    X = np.vstack([rng.normal(size=(20000, 2)), rng.normal(size=(15000, 2)) * 0.5 + 3])
    start = initial_params(X, 4, "full", "kmeans", np.random.default_rng(1))
    ours = fit_mixture(X, FitSettings(k=4, init=start, max_iter=15, tol=0),
                       engine_options={"chunk_rows": 1024, "n_threads": 2})
    theirs = _sklearn_fit(X, start, 4, 15, 1e-6)
    assert _relative(ours.params.means, theirs.means_) < 1e-6
    assert _relative(ours.params.covariances, theirs.covariances_) < 1e-6
