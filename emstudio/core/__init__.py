"""The mathematics of EM for Gaussian mixtures: numpy only, no Qt, no files, no printing."""

from emstudio.core.em import (
    FitResult,
    FitSettings,
    Snapshot,
    aic,
    bic,
    fit_mixture,
    icl,
    iterate_em,
    predict,
    responsibilities,
)
from emstudio.core.engine import MixtureEngine, PassResult
from emstudio.core.estep import BoundTerms, bound_terms, e_step, log_gaussian_prob, log_likelihood
from emstudio.core.init import INIT_METHODS, initial_params, params_for_type
from emstudio.core.mstep import SufficientStats, expected_complete_log_likelihood, m_step, sufficient_statistics
from emstudio.core.params import COVARIANCE_TYPES, MixtureParams, make_params, n_free_parameters
from emstudio.core.stepper import HalfStep, Stepper

__all__ = [
    "BoundTerms", "COVARIANCE_TYPES", "FitResult", "FitSettings", "HalfStep", "Stepper", "INIT_METHODS", "MixtureEngine",
    "MixtureParams", "PassResult", "Snapshot", "SufficientStats", "aic", "bic", "bound_terms", "e_step",
    "expected_complete_log_likelihood", "fit_mixture", "icl", "initial_params", "iterate_em",
    "log_gaussian_prob", "log_likelihood", "m_step", "make_params", "n_free_parameters",
    "params_for_type", "predict", "responsibilities", "sufficient_statistics",
]
