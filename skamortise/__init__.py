"""skamortise: amortised neural simulation-based inference for scikit-learn.

A network is trained once on simulated (data, parameter) pairs, ``fit(X=data,
y=parameters)``, and then infers the parameters of any new data set in one forward
pass.
"""

from .estimators import NeuralBayesEstimator, NeuralQuantileEstimator
from .simulation import simulate

__version__ = "0.1.0"

__all__ = [
    "NeuralBayesEstimator",
    "NeuralQuantileEstimator",
    "simulate",
    "__version__",
]
