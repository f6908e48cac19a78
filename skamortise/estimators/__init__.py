"""The estimator families, one module each."""

from .point import NeuralBayesEstimator

__all__ = ["NeuralBayesEstimator"]
