"""skamortise: amortised neural simulation-based inference for scikit-learn.

A network is trained once on simulated (data, parameter) pairs, ``fit(X=data,
y=parameters)``, and then infers the parameters of any new data set in one forward
pass.
"""

from . import ensemble, long_format, pipeline, preprocessing
from ._version import __version__
from .bootstrap import BootstrapResult, bootstrap
from .covariates import WithCovariates
from .ensemble import NeuralEnsemble
from .estimators import (
    NeuralBayesEstimator,
    NeuralModelComparison,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
)
from .io import load, save
from .pipeline import make_pipeline
from .simulation import simulate, simulate_models

__all__ = [
    "NeuralBayesEstimator",
    "NeuralEnsemble",
    "NeuralModelComparison",
    "simulate_models",
    "ensemble",
    "NeuralPosteriorEstimator",
    "NeuralQuantileEstimator",
    "NeuralRatioEstimator",
    "simulate",
    "bootstrap",
    "BootstrapResult",
    "WithCovariates",
    "make_pipeline",
    "load",
    "save",
    "long_format",
    "pipeline",
    "preprocessing",
    "__version__",
]
