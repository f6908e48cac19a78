"""Writing estimators in skamortise's safe, versioned format (see :mod:`skamortise.io`).

The writer sits below the estimators, so that ``est.save`` needs nothing above
them; reading, which must know every class a file may name, is in
:mod:`skamortise.io`.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ._version import __version__

FORMAT = "skamortise"
# 2: the data's location and scale are network weights (see skamortise.io).
FORMAT_VERSION = 2


def qualified_name(obj) -> str:
    """``"module:qualname"``, the name a file records for a class or function."""
    return f"{obj.__module__}:{obj.__qualname__}"


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PRIVATE_STATE",
    "Encoder",
    "qualified_name",
    "save",
]

# Private attributes that are part of a fitted estimator's state; every other saved
# attribute is public and ends with an underscore.
PRIVATE_STATE = ("_y_ndim", "_sklearn_output_config")


class Encoder:
    """Encodes values as JSON-ready data, collecting network weights in ``tensors``."""

    def __init__(self):
        self.tensors: dict[str, torch.Tensor] = {}
        self.skipped: list[str] = []

    def value(self, obj, where: str):
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                return {
                    "__ndarray__": [self.value(v, where) for v in obj.ravel()],
                    "dtype": "object",
                    "shape": list(obj.shape),
                }
            return {
                "__ndarray__": obj.tolist(),
                "dtype": str(obj.dtype),
                "shape": list(obj.shape),
            }
        if isinstance(obj, tuple):
            return {"__tuple__": [self.value(v, where) for v in obj]}
        if isinstance(obj, list):
            return [self.value(v, where) for v in obj]
        if isinstance(obj, dict):
            if not all(isinstance(k, str) for k in obj):
                raise TypeError(f"{where}: only dicts with string keys can be saved.")
            return {
                "__dict__": {k: self.value(v, f"{where}.{k}") for k, v in obj.items()}
            }
        if isinstance(obj, range):
            return {"__range__": [obj.start, obj.stop, obj.step]}
        if isinstance(obj, torch.nn.Module):
            key = f"t{len(self.tensors)}"
            for name, tensor in obj.state_dict().items():
                self.tensors[f"{key}/{name}"] = tensor.detach().cpu()
            return {"__state_dict__": key}
        if isinstance(obj, BaseEstimator):
            return self.estimator(obj, where)
        if callable(obj) and hasattr(obj, "__qualname__"):  # a class or function
            return {"__callable__": qualified_name(obj)}
        raise TypeError(f"{where}: cannot save an object of type {type(obj).__name__}.")

    def estimator(self, est: BaseEstimator, where: str = "estimator"):
        params = {
            k: self.value(v, f"{where}.{k}")
            for k, v in est.get_params(deep=False).items()
        }
        attributes = {}
        for name, value in vars(est).items():
            if name in params or not (name.endswith("_") or name in PRIVATE_STATE):
                continue
            if name == "parameter_transform_":
                continue  # rebuilt from the bounds parameter
            try:
                attributes[name] = self.value(value, f"{where}.{name}")
            except TypeError:
                self.skipped.append(f"{where}.{name}")
        return {
            "__estimator__": qualified_name(type(est)),
            "params": params,
            "attributes": attributes,
        }


def save(estimator: BaseEstimator, path) -> None:
    """Save a fitted (or unfitted) estimator or pipeline to ``path``.

    Attributes that are not plain data (e.g. a prior object kept by a ratio
    estimator) are left out with a warning; they can be passed again at use.
    """
    encoder = Encoder()
    tree = encoder.estimator(estimator)
    if encoder.skipped:
        warnings.warn(
            "These attributes are not plain data and were not saved: "
            + ", ".join(encoder.skipped),
            UserWarning,
            stacklevel=2,
        )
    archive = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skamortise_version": __version__,
        "estimator": json.dumps(tree),
        "tensors": encoder.tensors,
    }
    path = Path(path)
    # Write to a temporary file first so that a crash never leaves half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(archive, handle)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
