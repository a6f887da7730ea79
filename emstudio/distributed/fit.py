"""A fit on a Dask cluster: the core's fit (core.em.fit_on_engine) over a ClusterEngine.

The starts never gather the data: the data-driven ones (k-means and the others of
core.init.INIT_METHODS) run on a uniform sample of rows (all rows when there are no more than the
sample's size, so that a small data set starts exactly as it does in memory); a start file is used
as it is. The checks of the data run on the cluster's column facts, with the sample standing in
for the rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emstudio.core.checks import check_fit_data
from emstudio.core.em import FitResult, FitSettings, fit_on_engine
from emstudio.core.init import initial_params, params_for_type
from emstudio.core.params import MixtureParams
from emstudio.errors import FitError

#: Rows of the uniform sample the data-driven starts run on (`--sample-rows`).
DEFAULT_SAMPLE_ROWS = 100_000


def fit_on_cluster(engine, settings: FitSettings, *, sample_rows: int = DEFAULT_SAMPLE_ROWS,
                   stop: Callable[[], bool] | None = None,
                   on_snapshot: Callable[[int, object], None] | None = None,
                   sample: np.ndarray | None = None, extra_starts=(), hc_seed: int | None = None,
                   frozen: np.ndarray | None = None, settle: int = 0, bound_terms: bool = False) -> FitResult:
    """Fit a Gaussian mixture by EM over ``engine``'s data (a ClusterEngine), as
    core.em.fit_mixture fits data in memory. FitError / DataError in one line for what cannot be
    fitted. A conjugate prior (settings.prior) is mclust's default one, the data's mean and
    covariance found in one more pass over the blocks; the M-steps are then MAP-EM's, as in memory.

    ``sample``: the rows the data-driven starts run on (a grid's cells share one; default: a new
    uniform sample of ``sample_rows``); ``extra_starts``, ``hc_seed``, ``frozen``, ``settle``,
    ``bound_terms``: as for fit_mixture (the window's Run continues from a state on screen)."""
    settings.validate()
    if settings.prior != "none":
        from emstudio.core.prior import prior_model

        prior_model(settings.covariance_type, engine.n_features)  # one line before any work
    if sample is None:
        sample = engine.sample(sample_rows, settings.seed)
        engine.release_read_blocks()
    check_fit_data(sample, settings.k, list(engine.columns), engine.summary)
    if isinstance(settings.init, MixtureParams) and settings.init.n_features != engine.n_features:
        raise FitError(f"the start has d={settings.init.n_features} dimensions but the data has {engine.n_features}")
    if settings.k > engine.n_samples:
        raise FitError(f"K={settings.k} components, but there are only {engine.n_samples} usable samples")

    def start_of(index: int, rng: np.random.Generator) -> MixtureParams:
        if isinstance(settings.init, MixtureParams):
            return params_for_type(settings.init, settings.covariance_type)
        return initial_params(sample, settings.k, settings.covariance_type, settings.init, rng, settings.reg_covar,
                              stop, index, hc_seed=hc_seed)

    prior = engine.conjugate_prior(settings.k, settings.covariance_type) if settings.prior == "conjugate" else None
    return fit_on_engine(engine, settings, start_of, stop=stop, on_snapshot=on_snapshot, extra_starts=extra_starts,
                         frozen=frozen, settle=settle, bound_terms=bound_terms, prior=prior)
