"""The estimator families, one module each."""

from .point import NeuralBayesEstimator
from .posterior import NeuralPosteriorEstimator
from .quantile import NeuralQuantileEstimator
from .ratio import NeuralRatioEstimator

__all__ = [
    "NeuralBayesEstimator",
    "NeuralPosteriorEstimator",
    "NeuralQuantileEstimator",
    "NeuralRatioEstimator",
]
