"""Assessment and calibration diagnostics for amortised estimators.

The diagnostics use estimators only through their methods (``predict``,
``predict_interval``, ``predict_quantiles``, ``sample``), so they check any object
that has them.

- :func:`assess` and :class:`Assessment`: risk, bias, RMSE, coverage, interval
  width, interval score, posterior contraction and z-scores on a test set, per
  estimator, parameter and replicate count.
- :func:`coverage`: empirical against nominal coverage at several levels.
- :func:`sbc`, :func:`sbc_ranks` and :class:`SBCResult`: simulation-based
  calibration.
- :func:`tarp` and :class:`TARPResult`: expected coverage of random balls, a joint
  calibration check of posterior draws.
- :func:`c2st` and :func:`c2st_per_dataset`: classifier two-sample tests.
- :func:`misspecification_test` and :class:`MisspecificationResult`: do observed
  data look like the simulations the estimator was trained on?
- :class:`OutOfRangeWarning`: raised by estimators with ``warn_out_of_range=True``.
"""

from .._training_range import OutOfRangeWarning
from .assess import assess
from .assessment import Assessment
from .c2st import c2st, c2st_per_dataset
from .coverage import coverage
from .misspecification import MisspecificationResult, misspecification_test
from .reliability import (
    ReliabilityResult,
    expected_calibration_error,
    reliability,
    reliability_from_proba,
)
from .sbc import sbc, sbc_ranks
from .sbc_result import SBCResult
from .tarp import TARPResult, tarp

__all__ = [
    "OutOfRangeWarning",
    "ReliabilityResult",
    "expected_calibration_error",
    "reliability",
    "reliability_from_proba",
    "Assessment",
    "MisspecificationResult",
    "SBCResult",
    "TARPResult",
    "assess",
    "c2st",
    "c2st_per_dataset",
    "coverage",
    "misspecification_test",
    "sbc",
    "sbc_ranks",
    "tarp",
]
