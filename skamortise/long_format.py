"""Long-format tables to the package's data layout and back, and tidy outputs.

Field data often come as one table row per replicate (an observation, an
individual, a time point) with a column naming the data set it belongs to. The
estimators take replicated arrays ``(n_datasets, n_replicates, n_features)`` or,
when the counts differ, a list of ``(n_replicates_i, n_features)`` arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._data import as_data

__all__ = ["from_long", "to_long", "tidy"]


def from_long(
    frame: pd.DataFrame,
    id_column: str,
    value_columns: Sequence[str] | None = None,
):
    """Group a long-format table into replicated data sets.

    Parameters
    ----------
    frame : DataFrame
        One row per replicate.
    id_column : str
        Column naming the data set of each row.
    value_columns : sequence of str or None, default=None
        Columns holding the features of a replicate, in order; None takes every
        column but ``id_column``.

    Returns
    -------
    X : ndarray of shape (n_datasets, n_replicates, n_features) or list of ndarray
        One entry per data set, in order of first appearance; rows keep their
        order within a data set. A list of ``(n_replicates_i, n_features)`` arrays
        when the replicate counts differ.
    ids : Index
        The data-set ids, aligned with ``X`` (use it to align a parameter table:
        ``y = parameters.loc[ids]``).

    See Also
    --------
    to_long : the inverse.

    Examples
    --------
    >>> import pandas as pd
    >>> from skamortise.long_format import from_long
    >>> frame = pd.DataFrame({"site": ["a", "a", "b", "b", "b"],
    ...                       "count": [3.0, 4.0, 0.0, 1.0, 2.0]})
    >>> X, ids = from_long(frame, "site")
    >>> [x.shape for x in X], list(ids)
    ([(2, 1), (3, 1)], ['a', 'b'])
    """
    if id_column not in frame.columns:
        raise KeyError(f"id_column {id_column!r} is not a column of the frame.")
    if value_columns is None:
        value_columns = [c for c in frame.columns if c != id_column]
    value_columns = list(value_columns)
    if not value_columns:
        raise ValueError("The frame has no value columns besides the id column.")
    if frame[id_column].isna().any():
        raise ValueError(f"id_column {id_column!r} holds missing ids.")
    groups = frame.groupby(id_column, sort=False)[value_columns]
    ids = pd.Index(list(groups.groups), name=id_column)
    order = {key: i for i, key in enumerate(ids)}
    arrays: list = [None] * len(ids)
    for key, group in groups:
        key = key[0] if isinstance(key, tuple) and len(key) == 1 else key
        arrays[order[key]] = group.to_numpy(dtype=np.float64)
    data = as_data(arrays, event_ndim=1, name="frame")
    if data.mask is None:
        return data.values, ids
    return arrays, ids


def to_long(
    X,
    ids=None,
    *,
    id_column: str = "dataset",
    value_columns: Sequence[str] | None = None,
    replicate_column: str | None = None,
) -> pd.DataFrame:
    """Write replicated data sets as a long-format table, one row per replicate.

    Parameters
    ----------
    X : array-like of shape (n_datasets, n_replicates, n_features) or list of arrays
        Replicated data sets (a 2-D array is one replicate per data set).
    ids : sequence or None, default=None
        Id of each data set; None numbers them ``0, 1, ...``.
    id_column : str, default="dataset"
        Name of the id column.
    value_columns : sequence of str or None, default=None
        Names of the feature columns; None gives ``x0, x1, ...``.
    replicate_column : str or None, default=None
        If given, a column numbering the replicates within each data set.

    Returns
    -------
    frame : DataFrame
        Columns ``id_column``, then ``replicate_column`` if given, then the
        values; a fresh ``RangeIndex``.

    See Also
    --------
    from_long : the inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.long_format import to_long
    >>> to_long([np.array([[3.0], [4.0]]), np.array([[0.0]])], ["a", "b"],
    ...         id_column="site", value_columns=["count"])
      site  count
    0    a    3.0
    1    a    4.0
    2    b    0.0
    """
    data = as_data(X, event_ndim=1)
    values = data.values if data.replicated else data.values[:, None, :]
    n, m, d = values.shape
    mask = np.ones((n, m), dtype=bool) if data.mask is None else data.mask
    if ids is None:
        ids = np.arange(n)
    ids = np.asarray(ids, dtype=object) if not isinstance(ids, pd.Index) else ids
    if len(ids) != n:
        raise ValueError(f"Got {len(ids)} ids for {n} data sets.")
    if value_columns is None:
        value_columns = [f"x{j}" for j in range(d)]
    value_columns = list(value_columns)
    if len(value_columns) != d:
        raise ValueError(
            f"Got {len(value_columns)} value columns for {d} features per replicate."
        )
    rows, cols = np.nonzero(mask)
    frame = {id_column: pd.Index(ids).take(rows)}
    if replicate_column is not None:
        frame[replicate_column] = cols
    frame.update(zip(value_columns, values[rows, cols].T, strict=True))
    return pd.DataFrame(frame)


def tidy(output, value_name: str = "value") -> pd.DataFrame:
    """One row per number: a tidy table from an estimator's pandas output.

    Parameters
    ----------
    output : DataFrame or Series
        What an estimator returns under ``set_output(transform="pandas")``:
        estimates (columns are parameters; a Series for one parameter), quantiles
        or intervals (columns ``(parameter, level)``), or samples (index
        ``(dataset, draw)``).
    value_name : str, default="value"
        Name of the value column.

    Returns
    -------
    frame : DataFrame
        Columns ``dataset`` (the index name when set), the other index levels,
        ``parameter``, the column levels below it (``quantile``, ``bound``, ...)
        and ``value_name``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skamortise.long_format import tidy
    >>> estimates = pd.DataFrame({"birth": [0.1, 0.2], "death": [0.3, 0.4]})
    >>> tidy(estimates)
       dataset parameter  value
    0        0     birth    0.1
    1        0     death    0.3
    2        1     birth    0.2
    3        1     death    0.4
    """
    if isinstance(output, pd.Series):
        output = output.to_frame(output.name if output.name is not None else "theta_0")
    if not isinstance(output, pd.DataFrame):
        raise TypeError(
            "tidy expects the DataFrame or Series an estimator returns under "
            f"set_output(transform='pandas'); got {type(output).__name__}."
        )
    frame = output.copy()
    index_names = [
        name if name is not None else ("dataset" if i == 0 else f"level_{i}")
        for i, name in enumerate(frame.index.names)
    ]
    frame.index = frame.index.set_names(index_names)
    column_names = [
        name if name is not None else ("parameter" if i == 0 else f"level_{i}")
        for i, name in enumerate(frame.columns.names)
    ]
    frame.columns = frame.columns.set_names(column_names)
    long = frame.stack(list(range(frame.columns.nlevels)))
    return long.rename(value_name).reset_index()
