"""Reading files of older format versions: each step turns version ``v`` into ``v + 1``.

A step rewrites the archive's plain data only; what it produces is then checked like
any file (names, parameters, weights against the network they describe).
"""

from __future__ import annotations

import json

import numpy as np
import torch

__all__ = ["MIGRATIONS"]

_MOMENTS = {"loc": "x_loc_", "scale": "x_scale_"}


def _float_array(entry, where: str) -> torch.Tensor:
    if isinstance(entry, float | int) and not isinstance(entry, bool):
        return torch.tensor(float(entry), dtype=torch.float64)  # a numpy scalar
    if not (
        isinstance(entry, dict)
        and set(entry) == {"__ndarray__", "dtype", "shape"}
        and entry["dtype"] in ("float32", "float64")
    ):
        raise ValueError(f"{where} is not a float array")
    try:
        array = np.array(entry["__ndarray__"], dtype=np.float64)
        return torch.as_tensor(array.reshape(entry["shape"]))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} is not a float array: {err}") from None


def _move_moments(node, tensors: dict, where: str) -> None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            _move_moments(item, tensors, f"{where}[{i}]")
        return
    if not isinstance(node, dict):
        return
    attributes = node.get("attributes") if "__estimator__" in node else None
    if isinstance(attributes, dict) and "x_loc_" in attributes:
        weights = attributes.get("network_")
        key = weights.get("__state_dict__") if isinstance(weights, dict) else None
        if not isinstance(key, str):
            raise ValueError(f"{where} has x_loc_ but no network weights")
        for name, attribute in _MOMENTS.items():
            entry = attributes.pop(attribute, None)
            tensors[f"{key}/standardise.{name}"] = _float_array(
                entry, f"{where}.{attribute}"
            )
    for name, value in node.items():
        _move_moments(value, tensors, f"{where}.{name}")


def standardisation_into_weights(archive: dict) -> dict:
    """Version 1 to 2: the data's location and scale become network weights.

    Version 1 kept them as the fitted attributes ``x_loc_`` and ``x_scale_``;
    version 2 holds them as the buffers ``standardise.loc`` and
    ``standardise.scale`` of the network's first module.
    """
    tree, tensors = archive.get("estimator"), archive.get("tensors")
    if not (isinstance(tree, str) and isinstance(tensors, dict)):
        return archive  # the loader names what is missing
    tensors = dict(tensors)
    try:
        tree = json.loads(tree)
        _move_moments(tree, tensors, "estimator")
    except RecursionError:
        raise ValueError("the estimator entry is nested too deeply") from None
    except ValueError as err:
        raise ValueError(f"cannot read this format version 1 file: {err}") from None
    return {**archive, "estimator": json.dumps(tree), "tensors": tensors}


# {old_version: function(archive) -> archive of old_version + 1}
MIGRATIONS: dict = {1: standardisation_into_weights}
