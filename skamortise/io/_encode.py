"""Turn an estimator into the file's plain data: a JSON tree and named tensors."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ._registry import qualified_name

__all__ = ["Encoder", "PRIVATE_STATE"]

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
