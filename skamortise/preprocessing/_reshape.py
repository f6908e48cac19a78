"""Move between wide tables and the replicated layout."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import _LayoutTransformer, unpad


class ReshapeReplicates(_LayoutTransformer):
    """Flatten replicated data into a table, or keep (restore) its replicate axis.

    Parameters
    ----------
    layout : {"flatten", "replicates"}, default="flatten"
        ``"flatten"`` turns ``(n, m, d)`` into ``(n, m * d)`` (replicate by
        replicate), for estimators that take one vector per data set; the replicate
        count must then be the one seen in ``fit``. 2-D input passes through.
        ``"replicates"`` gives the replicated layout: a wide 2-D table
        ``(n, m * n_features)`` becomes ``(n, m, n_features)``, while replicated
        arrays and ragged lists pass through, so a DataFrame of replicates can feed
        a DeepSet.
    n_features : int, default=1
        Features per replicate when ``layout="replicates"`` splits a 2-D table;
        the columns are read replicate by replicate.

    Attributes
    ----------
    n_features_in_ : int
        Columns of a 2-D input, or features per replicate of replicated input.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame with string columns.
    n_replicates_ : int or None
        Replicates per data set seen in ``fit`` (for ``"flatten"``), None for 2-D
        input.

    See Also
    --------
    ReplicateSummaries : a flat summary whatever the replicate count.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.preprocessing import ReshapeReplicates
    >>> X = np.arange(12.0).reshape(2, 3, 2)
    >>> ReshapeReplicates().fit_transform(X).shape
    (2, 6)
    >>> wide = X.reshape(2, 6)
    >>> ReshapeReplicates("replicates", n_features=2).fit_transform(wide).shape
    (2, 3, 2)
    """

    _parameter_constraints: dict = {
        "layout": [StrOptions({"flatten", "replicates"})],
        "n_features": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, layout="flatten", n_features=1):
        self.layout = layout
        self.n_features = n_features

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the input layout.

        Parameters
        ----------
        X : array-like of shape (n_datasets, n_features) or \
                (n_datasets, n_replicates, n_features), or list of arrays
            Data sets.
        y : None
            Ignored.

        Returns
        -------
        self : ReshapeReplicates
            The fitted transformer.
        """
        data = self._validate(X, reset=True)
        self.n_replicates_ = None
        if data.replicated:
            self.n_replicates_ = int(data.values.shape[1])
            if self.layout == "flatten":
                self._check_equal(data)
        elif self.layout == "replicates" and self.n_features_in_ % self.n_features:
            raise ValueError(
                f"X has {self.n_features_in_} feature(s), which cannot be split into "
                f"replicates of n_features={self.n_features}."
            )
        return self

    def _check_equal(self, data) -> None:
        if data.mask is not None:
            raise ValueError(
                "layout='flatten' needs the same replicate count in every data set; "
                "use ReplicateSummaries for ragged data."
            )
        if (
            self.n_replicates_ is not None
            and data.values.shape[1] != self.n_replicates_
        ):
            raise ValueError(
                f"X has {data.values.shape[1]} replicates per data set, but "
                f"ReshapeReplicates was fitted with {self.n_replicates_}; flattening "
                "needs a fixed count."
            )

    def transform(self, X):
        """Reshape ``X``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets in a layout seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_datasets, n_columns) or \
                (n_datasets, n_replicates, n_features), or list of arrays
            The flat table, or the replicated layout.
        """
        check_is_fitted(self)
        data = self._validate(X, reset=False)
        if self.layout == "flatten":
            if data.replicated:
                self._check_equal(data)
                if self.n_replicates_ is None:
                    raise ValueError(
                        "ReshapeReplicates was fitted on a 2-D table; X is replicated."
                    )
            elif self.n_replicates_ is not None:
                raise ValueError(
                    "ReshapeReplicates was fitted on replicated data; X is a 2-D table."
                )
            return self._container(data.values.reshape(len(data), -1), X)
        if data.replicated:
            return unpad(data.values, data.mask)
        return data.values.reshape(len(data), -1, self.n_features)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the input features; by default those seen in ``fit``, else
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            For ``"flatten"``: the input names of a 2-D table, or
            ``<feature>_r<replicate>``. For ``"replicates"``: the names of the
            features of one replicate.
        """
        check_is_fitted(self, "n_features_in_")
        names = self._input_names(input_features)
        if self.layout == "flatten":
            if self.n_replicates_ is None:
                return np.asarray(names, dtype=object)
            out = [f"{n}_r{r}" for r in range(self.n_replicates_) for n in names]
            return np.asarray(out, dtype=object)
        if self.n_replicates_ is None:
            names = [f"x{j}" for j in range(self.n_features)]
        return np.asarray(names, dtype=object)
