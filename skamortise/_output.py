"""Labelled pandas versions of the estimators' array outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import get_config


def estimates_frame(values: np.ndarray, names, index, one_d: bool):
    """``(n, p)`` estimates as a DataFrame (a Series when ``y`` was 1-D)."""
    if one_d:
        return pd.Series(values.reshape(-1), index=index, name=names[0])
    return pd.DataFrame(values, index=index, columns=list(names))


def levels_frame(values: np.ndarray, names, levels, index, level_name: str):
    """``(n, p, k)`` outputs as a DataFrame with (parameter, level) columns."""
    n, p, k = values.shape
    columns = pd.MultiIndex.from_product(
        [list(names), list(levels)], names=["parameter", level_name]
    )
    return pd.DataFrame(values.reshape(n, p * k), index=index, columns=columns)


def samples_frame(values: np.ndarray, names, index):
    """``(n, s, p)`` draws as a DataFrame indexed by (dataset, draw)."""
    n, s, p = values.shape
    rows = pd.MultiIndex.from_product(
        [list(index), range(s)], names=["dataset", "draw"]
    )
    return pd.DataFrame(values.reshape(n * s, p), index=rows, columns=list(names))


def _check_finite_output(values: np.ndarray) -> None:
    if not np.isfinite(values).all():
        raise ValueError(
            "The network produced non-finite outputs for some data sets: the input "
            "is probably far outside the training data."
        )


class OutputConfigMixin:
    """``set_output(transform=...)``: arrays by default, pandas when asked."""

    def set_output(self, *, transform=None):
        """Choose the container of the inference methods' outputs.

        Parameters
        ----------
        transform : {"default", "pandas"} or None
            ``"pandas"`` labels outputs with the parameter names (from a ``y``
            DataFrame at fit): estimates as a DataFrame (a Series for 1-D ``y``),
            quantiles and intervals with (parameter, level) columns, samples indexed
            by (dataset, draw). ``"default"`` returns arrays; None leaves it
            unchanged. sklearn's global ``transform_output`` config is honoured too.

        Returns
        -------
        self : estimator
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(
                f"transform must be 'default' or 'pandas'; got {transform!r}."
            )
        self._sklearn_output_config = {"transform": transform}
        return self

    def _pandas(self) -> bool:
        choice = getattr(self, "_sklearn_output_config", {}).get("transform", "default")
        if choice == "default":
            choice = get_config().get("transform_output", "default")
        return choice == "pandas"


class OutputMixin(OutputConfigMixin):
    """Arrays by default, labelled pandas objects under ``set_output("pandas")``.

    Reads ``parameter_names_`` (default ``theta_j``), ``_y_ndim`` (estimates are
    1-D when ``y`` was, or when they come 1-D) and, for probabilities,
    ``classes_`` from the fitted estimator.
    """

    def _index(self, X, n):
        if isinstance(X, pd.DataFrame | pd.Series) and len(X.index) == n:
            return X.index
        return range(n)

    def _names(self, n_parameters: int) -> list[str]:
        names = getattr(self, "parameter_names_", None)
        if names is None or len(names) != n_parameters:
            return [f"theta_{j}" for j in range(n_parameters)]
        return list(names)

    def _output_estimates(self, values: np.ndarray, X):
        _check_finite_output(values)
        one_d = values.ndim == 1 or getattr(self, "_y_ndim", None) == 1
        if self._pandas():
            names = self._names(1 if one_d else values.shape[1])
            return estimates_frame(values, names, self._index(X, len(values)), one_d)
        return values.reshape(-1) if one_d else values

    def _output_levels(self, values: np.ndarray, X, levels, level_name: str):
        _check_finite_output(values)
        if self._pandas():
            return levels_frame(
                values,
                self._names(values.shape[1]),
                levels,
                self._index(X, len(values)),
                level_name,
            )
        return values

    def _output_samples(self, values: np.ndarray, X):
        _check_finite_output(values)
        if self._pandas():
            return samples_frame(
                values, self._names(values.shape[2]), self._index(X, len(values))
            )
        return values

    def _output_proba(self, values: np.ndarray, X):
        """``(n, n_classes)`` probabilities (or their logs), columns ``classes_``."""
        if self._pandas():
            return pd.DataFrame(
                values, index=self._index(X, len(values)), columns=list(self.classes_)
            )
        return values
