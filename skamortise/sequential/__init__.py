"""Sequential inference for one observed data set, with truncated proposals.

When simulations are expensive and one data set is observed, training over the
whole prior spends most simulations on parameters the data rule out.
``fit_sequential`` of :class:`~skamortise.NeuralPosteriorEstimator` and
:class:`~skamortise.NeuralRatioEstimator` simulates in rounds, each from the prior
truncated to the current posterior's highest-probability region (TSNPE, Deistler et
al., 2022), and trains on all simulations so far.

- :class:`TruncatedPrior`: the prior restricted to a posterior's region, a prior in
  the simulation protocol (rejection sampling, importance resampling when the region
  is tiny).
- :class:`FocusWarning`: a focused estimator was given other data.
- :class:`TruncationWarning`: the region was too small for rejection sampling.
"""

from ._region import TruncatedPrior, TruncationWarning
from ._rounds import FocusWarning

__all__ = ["FocusWarning", "TruncatedPrior", "TruncationWarning"]
