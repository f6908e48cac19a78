"""Labelled pandas versions of the estimators' array outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
