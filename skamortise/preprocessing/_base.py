"""Validation and output containers shared by the summary transformers."""

from __future__ import annotations

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import validate_data

from .._checks import is_table
from .._data import Data, as_data

_CONTAINERS = ("default", "pandas", "polars")


class _LayoutTransformer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """A transformer that accepts every data layout of the package.

    Two-dimensional tables go through sklearn's ``validate_data`` (feature names,
    ``n_features_in_``); replicated arrays ``(n, m, d)`` and ragged lists of
    ``(m_i, d)`` arrays are validated by :func:`skamortise._data.as_data`, so that the
    replicate count may change between ``fit`` and ``transform``. sklearn's automatic
    output wrapping is switched off because some outputs keep a replicate axis; 2-D
    outputs are wrapped here instead.
    """

    def _validate(self, X, *, reset: bool) -> Data:
        if is_table(X):
            values = validate_data(self, X, reset=reset, dtype=np.float64)
            return Data(values, None, False)
        data = as_data(X, event_ndim=1)
        n_features = data.event_shape[0]
        if reset:
            self.n_features_in_ = n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return data

    def _input_names(self, input_features=None) -> list[str]:
        """Names of the input features (per replicate), checked against the fit."""
        if input_features is not None:
            names = [str(name) for name in input_features]
            if len(names) != self.n_features_in_:
                raise ValueError(
                    f"input_features should have length equal to number of features "
                    f"({self.n_features_in_}), got {len(names)}."
                )
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and list(fitted) != names:
                raise ValueError("input_features is not equal to feature_names_in_.")
            return names
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None:
            return [str(name) for name in fitted]
        return [f"x{j}" for j in range(self.n_features_in_)]

    # ----------------------------------------------------------------- output
    def set_output(self, *, transform=None):
        """Choose the container of ``transform`` and ``fit_transform`` outputs.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"pandas"`` (or ``"polars"``) returns 2-D outputs as a data frame with
            the columns of :meth:`get_feature_names_out` (and, for pandas, the index
            of a DataFrame ``X``). Outputs that keep a replicate axis stay arrays
            or lists. None leaves the setting unchanged.

        Returns
        -------
        self : estimator
            The transformer.
        """
        if transform is None:
            return self
        if transform not in _CONTAINERS:
            raise ValueError(
                f"transform must be one of {_CONTAINERS} or None; got {transform!r}."
            )
        self._sklearn_output_config = {"transform": transform}
        return self

    def _container(self, out, X):
        """Wrap a 2-D output in the configured data frame type."""
        choice = getattr(self, "_sklearn_output_config", {}).get("transform")
        if choice in (None, "default"):
            choice = get_config().get("transform_output", "default")
        if choice == "default" or not isinstance(out, np.ndarray) or out.ndim != 2:
            return out
        columns = list(self.get_feature_names_out())
        if choice == "polars":
            import polars as pl

            return pl.DataFrame(out, schema=columns, orient="row")
        import pandas as pd

        index = getattr(X, "index", None)
        if not isinstance(X, pd.DataFrame) or len(index) != len(out):
            index = None
        return pd.DataFrame(out, index=index, columns=columns)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def unpad(values: np.ndarray, mask: np.ndarray | None):
    """A replicated array back in its container: 3-D array, or list when ragged."""
    if mask is None:
        return values
    return [row[keep] for row, keep in zip(values, mask, strict=True)]
