"""The estimator families, one module each."""

from .point import NeuralBayesEstimator
from .quantile import NeuralQuantileEstimator

__all__ = ["NeuralBayesEstimator", "NeuralQuantileEstimator"]
