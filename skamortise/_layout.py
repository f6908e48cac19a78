"""Input validation for every data layout, shared by the estimators' base.

Tabular data go through scikit-learn's ``validate_data``; replicated, ragged,
gridded and series data through :mod:`skamortise._data`; set-level covariates
are split off first (:class:`skamortise.WithCovariates`). At fit the layout is
recorded (``replicated_``, ``event_shape_``, ``n_features_in_``); later calls are
checked against it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.validation import validate_data

from ._checks import _ndim, _parameter_names, is_table
from ._data import Data, as_data, as_series
from .covariates import split_covariates
from .nn import is_series_network


class LayoutMixin:
    """Validation of ``X`` (and ``y`` at fit) in the layout the estimator expects.

    Needs ``summary_network``, ``summary_network_kwargs`` and ``missing``.
    """

    def _event_ndim(self) -> int:
        # Grid summary networks (CNNs) declare how many trailing axes form one event,
        # as an attribute or, when it depends on their kwargs, through a hook.
        spec = self.summary_network
        from_kwargs = getattr(spec, "event_ndim_from_kwargs", None)
        if from_kwargs is not None:
            return int(from_kwargs(self.summary_network_kwargs or {}))
        return int(getattr(spec, "event_ndim", 1))

    def _is_series(self) -> bool:
        # The network, not the shape, says whether the second axis is time.
        return is_series_network(self.summary_network)

    def _is_tabular(self, X) -> bool:
        if self._is_series():
            return False
        return self._event_ndim() == 1 and is_table(X)

    def _as_data(self, X) -> Data:
        if self._is_series():
            return as_series(X, missing=self.missing)
        return as_data(X, event_ndim=self._event_ndim(), missing=self.missing)

    def _validate_table(self, *arrays, **kwargs):
        """scikit-learn's ``validate_data`` for tabular ``X`` (and ``y``), NaN in
        ``X`` allowed with ``missing="mask"`` and otherwise refused with a hint."""
        masked = self.missing == "mask"
        try:
            return validate_data(
                self,
                *arrays,
                dtype=np.float64,
                ensure_all_finite="allow-nan" if masked else True,
                **kwargs,
            )
        except ValueError as err:
            if masked or "Input X contains NaN" not in str(err):
                raise
            raise ValueError(
                f"{err}\nPass missing='mask' to treat NaN entries as missing values."
            ) from err

    def _validate_X(self, X, *, reset: bool) -> Data:
        X, covariates = split_covariates(X)
        data = self._with_covariates(self._validate_layout(X, reset=reset), covariates)
        if not reset:
            self._check_layout(data)
        return data

    def _with_covariates(self, data: Data, covariates) -> Data:
        """``data`` with its validated set-level covariates (None for plain data)."""
        if covariates is not None:
            covariates = check_array(
                covariates, dtype=np.float64, input_name="covariates"
            )
            check_consistent_length(data.values, covariates)
        return replace(data, covariates=covariates)

    def _validate_layout(self, X, *, reset: bool) -> Data:
        if self._is_tabular(X):
            if not reset and getattr(self, "replicated_", False):
                raise ValueError(
                    f"{type(self).__name__} was fitted on replicated data; pass X as "
                    "(n_datasets, n_replicates, n_features) or a list of "
                    "(n_replicates, n_features) arrays."
                )
            values = self._validate_table(X, reset=reset)
            return Data(values, None, False)
        data = self._as_data(X)
        if reset:
            self._reset_features(data.event_shape)
        return data

    def _reset_features(self, event_shape: tuple) -> None:
        """``n_features_in_`` of data validated without ``validate_data``."""
        self.n_features_in_ = math.prod(event_shape)
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _check_layout(self, data: Data) -> None:
        if data.replicated != self.replicated_:
            kind = "replicated" if self.replicated_ else "one vector per data set"
            raise ValueError(
                f"{type(self).__name__} was fitted on {kind} data; X has shape "
                f"{data.values.shape}, which does not match."
            )
        if data.event_shape != self.event_shape_:
            raise ValueError(
                f"X has {data.event_shape} features per replicate, but "
                f"{type(self).__name__} is expecting {self.event_shape_} "
                "features as input."
            )
        expected = getattr(self, "n_covariates_", 0)
        if data.n_covariates != expected:
            raise ValueError(
                f"{type(self).__name__} was fitted with {expected} set-level "
                f"covariate(s); X has {data.n_covariates}. Pass X as "
                "skamortise.WithCovariates(X, covariates) with as many covariates "
                "as at fit, or plain data if there were none."
            )

    def _validate_fit(self, X, y) -> tuple[Data, np.ndarray]:
        X, covariates = split_covariates(X)
        names = _parameter_names(y)
        if y is not None and _ndim(y) > 2:
            raise ValueError(
                f"y must be 1-D or 2-D (n_datasets, n_parameters); got {_ndim(y)} axes."
            )
        if self._is_tabular(X):
            values, y = self._validate_table(X, y, multi_output=True, y_numeric=True)
            # y_numeric converts object arrays only; numpy strings would pass.
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            data = Data(values, None, False)
        else:
            if y is None:
                raise ValueError(
                    f"This {type(self).__name__} estimator requires y to be passed, "
                    "but the target y is None."
                )
            data = self._validate_layout(X, reset=True)
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            check_consistent_length(data.values, y)
        data = self._with_covariates(data, covariates)
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] == 0):
            raise ValueError(
                f"y must be 1-D or 2-D with at least one column; got {y.shape}."
            )
        y2 = y.reshape(len(y), -1)
        if names is None or len(names) != y2.shape[1]:
            names = [f"theta_{j}" for j in range(y2.shape[1])]
        return data, y2, y.ndim, names
