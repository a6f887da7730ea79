"""The fused, chunked, threaded pass agrees with the plain reference E-step and M-step."""

import numpy as np
import pytest

from emstudio.core import (
    MixtureEngine, bound_terms, e_step, expected_complete_log_likelihood, m_step, make_params,
    sufficient_statistics,
)

COV_TYPES = ["full", "tied", "diag", "spherical"]
# tol = 0 never converges: scikit-learn says so every time.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _random_params(rng, X, k, covariance_type):
    d = X.shape[1]
    a = rng.normal(size=(k, d, d))
    full = a @ np.swapaxes(a, 1, 2) + 2.0 * np.eye(d)
    cov = {"full": full, "tied": full[0], "diag": rng.uniform(0.5, 3.0, (k, d)),
           "spherical": rng.uniform(0.5, 3.0, k)}[covariance_type]
    weights = rng.dirichlet(np.ones(k))
    return make_params(weights, X[rng.choice(X.shape[0], k, replace=False)], cov, covariance_type)


@pytest.mark.parametrize("d", [1, 2, 10, 20])
@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("chunk_rows, n_threads", [(None, 1), (1024, 2), (1000, 3)])
def test_pass_matches_reference(d, covariance_type, chunk_rows, n_threads):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(4000, d)) * 3 + 100.0
    X[:1500] += 6.0
    params = _random_params(rng, X, 3, covariance_type)
    with MixtureEngine(X, covariance_type, chunk_rows=chunk_rows, n_threads=n_threads) as engine:
        result = engine.run_pass(params)
        resp, _ = engine.responsibilities(params)
    log_norm, log_resp = e_step(X, params)
    terms = bound_terms(X, log_resp, params)
    scale = abs(terms.log_likelihood)
    assert abs(result.log_likelihood - log_norm.sum()) < 1e-11 * scale
    assert abs(result.expected_complete - terms.expected_complete) < 1e-11 * scale
    assert abs(result.entropy - terms.entropy) < 1e-9 * max(terms.entropy, 1.0)
    assert abs(result.sum_log_max_resp - log_resp.max(axis=1).sum()) < 1e-9 * max(1.0, terms.entropy)
    assert np.allclose(resp, np.exp(log_resp), rtol=0, atol=1e-12)
    reference = sufficient_statistics(X, np.exp(log_resp), covariance_type, centre=engine.centre)
    ours = m_step(result.stats, covariance_type, 1e-6)
    theirs = m_step(reference, covariance_type, 1e-6)
    assert np.allclose(ours.means, theirs.means, rtol=1e-11, atol=0)
    assert np.allclose(ours.covariances, theirs.covariances, rtol=1e-10, atol=1e-12)
    assert np.allclose(ours.weights, theirs.weights, rtol=1e-11, atol=0)
    # Q from the statistics alone equals Q summed over the samples.
    assert abs(expected_complete_log_likelihood(result.stats, params) - terms.expected_complete) < 1e-10 * scale


def test_far_away_points_do_not_underflow_to_nan():
    """Points thousands of standard deviations from every component still get finite values."""
    X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [1e4, 1e4]])
    params = make_params([0.5, 0.5], [[0, 0], [0.05, 0.05]], [[1e-2, 1e-2]] * 2, "diag")
    with MixtureEngine(X, "diag") as engine:
        result = engine.run_pass(params)
        resp, _ = engine.responsibilities(params)
    assert np.isfinite(result.log_likelihood) and np.all(np.isfinite(resp))
    assert np.allclose(resp.sum(axis=1), 1.0)


def test_engine_never_changes_the_callers_data():
    X = np.asfortranarray(np.random.default_rng(0).normal(size=(500, 3)) + 10.0)
    before = X.copy()
    with MixtureEngine(X, "full") as engine:
        engine.run_pass(make_params([1.0], [X.mean(axis=0)], [np.eye(3)]))
    assert np.array_equal(X, before)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("separation", [1e4, 1e6, 1e8])
def test_clusters_far_apart_keep_full_precision(covariance_type, separation):
    """Unit clusters far apart: the features would cancel, so the pass must take the exact route.

    The responsibilities are exactly 0 or 1 at these separations, so the fit is the reference fit
    (scikit-learn at 1e4, where it is still exact) with the second cluster translated.
    """
    from sklearn.mixture import GaussianMixture

    from emstudio.core import FitSettings, fit_mixture

    def layout(shift):
        rng = np.random.default_rng(0)
        X = np.vstack([rng.normal(size=(300, 2)), rng.normal(size=(200, 2)) + shift])
        cov = {"full": [np.eye(2)] * 2, "tied": np.eye(2), "diag": [[1.0, 1.0]] * 2,
               "spherical": [1.0, 1.0]}[covariance_type]
        return X, make_params([0.6, 0.4], [[0.1, 0.1], [shift - 0.1, shift]], cov, covariance_type)

    X, start = layout(separation)
    log_norm, _ = e_step(X, start)
    with MixtureEngine(X, covariance_type) as engine:
        assert abs(engine.run_pass(start).log_likelihood - log_norm.sum()) < 1e-9 * abs(log_norm.sum())
    ours = fit_mixture(X, FitSettings(k=2, covariance_type=covariance_type, init=start, max_iter=10, tol=0))
    X_ref, start_ref = layout(1e4)
    prec = np.linalg.inv(start_ref.covariances) if covariance_type in ("full", "tied") else 1 / start_ref.covariances
    reference = GaussianMixture(2, covariance_type=covariance_type, weights_init=start_ref.weights,
                                means_init=start_ref.means, precisions_init=prec, max_iter=10, tol=0).fit(X_ref)
    assert np.allclose(ours.params.covariances, reference.covariances_, rtol=1e-6, atol=1e-6)
    assert np.allclose(ours.params.means - [[0, 0], [separation, separation]],
                       reference.means_ - [[0, 0], [1e4, 1e4]], rtol=0, atol=1e-6)
    reference_log_l = reference.score(X_ref) * len(X_ref)
    assert abs(ours.log_likelihood - reference_log_l) < 1e-6 * abs(reference_log_l)
    assert ours.degenerate == ()
    history = np.array([ll for _, ll in ours.history])
    assert np.all(np.diff(history) >= -1e-9 * abs(history[-1]))


def test_same_result_on_any_number_of_threads():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50_000, 3))
    params = _random_params(rng, X, 4, "full")
    results = []
    for threads in (1, 2, 3):
        with MixtureEngine(X, "full", n_threads=threads, chunk_rows=4096) as engine:
            results.append(engine.run_pass(params))
    for other in results[1:]:
        assert other.log_likelihood == results[0].log_likelihood
        assert np.array_equal(other.stats.sum_xx, results[0].stats.sum_xx)


def test_zero_reg_covar_collapse_stays_finite_and_flagged():
    from emstudio.core import FitSettings, fit_mixture

    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(100, 2)), np.tile([[4.0, 4.0]], (10, 1))])
    start = make_params([0.5, 0.5], [[0, 0], [4, 4]], [np.eye(2)] * 2)
    result = fit_mixture(X, FitSettings(k=2, init=start, reg_covar=0.0, max_iter=50))
    assert np.isfinite(result.log_likelihood) and result.log_likelihood > 0  # the likelihood soars...
    assert result.degenerate == (1,)  # ...and the collapse is named
    assert np.all(np.isfinite(result.params.covariances))
    assert np.linalg.eigvalsh(result.params.covariances[1]).min() > 0


@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("separation", [3.0, 1e8])  # the features, then the whitened route
def test_one_chunk_pass_is_the_block_pass(covariance_type, separation):
    """Data of one chunk take the engine's short path (no pool, kept features); its sums are
    exactly those of core.block_pass run on the same rows as one block (the Dask engine's path)."""
    from emstudio.core.block_pass import block_sums, finish_pass, plan_pass

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(150, 3)), rng.normal(size=(122, 3)) + separation])
    with MixtureEngine(X, covariance_type) as engine:
        params = _random_params(rng, X, 4, covariance_type)
        plan = plan_pass(engine.layout, params)
        block = finish_pass(engine.layout, plan, params, block_sums(engine.layout, plan, engine.data_t))
        for _ in range(2):  # the second pass uses the kept features
            ours = engine.run_pass(params)
            assert ours.log_likelihood == block.log_likelihood
            assert ours.entropy == block.entropy
            assert np.array_equal(ours.stats.n_k, block.stats.n_k)
            assert np.array_equal(ours.stats.sum_xx, block.stats.sum_xx)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_m_step_parameters_are_read_only(covariance_type):
    """The M-step's θ takes its arrays without copying them: they must still be read-only."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 2))
    with MixtureEngine(X, covariance_type) as engine:
        params = _random_params(rng, X, 3, covariance_type)
        new = m_step(engine.run_pass(params).stats, covariance_type, 1e-6, previous=params)
    for array in (new.weights, new.means, new.covariances):
        assert array.dtype == np.float64 and not array.flags.writeable
        with pytest.raises(ValueError):
            array[...] = 0.0
