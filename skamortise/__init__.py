"""skamortise: amortised neural simulation-based inference for scikit-learn.

A network is trained once on simulated (data, parameter) pairs, ``fit(X=data,
y=parameters)``, and then infers the parameters of any new data set in one forward
pass.
"""

from . import long_format, pipeline, preprocessing
from .estimators import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
)
from .io import load, save
from .pipeline import make_pipeline
from .simulation import simulate

__version__ = "0.1.0"

__all__ = [
    "NeuralBayesEstimator",
    "NeuralPosteriorEstimator",
    "NeuralQuantileEstimator",
    "NeuralRatioEstimator",
    "simulate",
    "make_pipeline",
    "load",
    "save",
    "long_format",
    "pipeline",
    "preprocessing",
    "__version__",
]
