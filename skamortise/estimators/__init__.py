"""The estimator families, one module each."""

from .model_comparison import NeuralModelComparison
from .point import NeuralBayesEstimator
from .posterior import NeuralPosteriorEstimator
from .quantile import NeuralQuantileEstimator
from .ratio import NeuralRatioEstimator

__all__ = [
    "NeuralModelComparison",
    "NeuralBayesEstimator",
    "NeuralPosteriorEstimator",
    "NeuralQuantileEstimator",
    "NeuralRatioEstimator",
]
