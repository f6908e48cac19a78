"""Turn a file's plain data back into an estimator, trusting none of it.

Names resolve through the registry (or the caller's ``custom_objects``) only; every
estimator's parameters are validated before its network is built, and the network
is rebuilt under a size limit set by its saved weights (see ``_rebuild``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from .._saving import PRIVATE_STATE
from ._registry import find

__all__ = ["Decoder"]

# The tags of the JSON tree, each with the other keys its entry holds.
_TAGS = {
    "__ndarray__": {"dtype", "shape"},
    "__tuple__": set(),
    "__dict__": set(),
    "__range__": set(),
    "__callable__": set(),
    "__state_dict__": set(),
    "__estimator__": {"params", "attributes"},
}
_KINDS = {
    "estimator": "estimator classes",
    "callable": "summary networks, losses and activations",
}


def _tag(obj: dict, where: str) -> str:
    tag = next((t for t in _TAGS if t in obj), None)
    if tag is None or set(obj) != {tag, *_TAGS[tag]}:
        raise ValueError(f"{where}: unknown entry with keys {sorted(obj)}.")
    return tag


def _is_state_name(name: str) -> bool:
    """Whether ``name`` is an attribute that ``save`` writes: public and fitted."""
    return name in PRIVATE_STATE or (
        name.isidentifier() and name.endswith("_") and not name.startswith("_")
    )


class Decoder:
    """Decodes a file's JSON tree; ``tensors`` holds the weights it refers to."""

    def __init__(self, tensors: dict, custom_objects: dict | None, device):
        self.tensors = tensors
        self.custom = dict(custom_objects or {})
        self.device = device

    def resolve(self, name, kind: str, where: str):
        """The object a file names: from ``custom_objects``, else the registry."""
        if not isinstance(name, str) or name.count(":") != 1:
            raise ValueError(f"{where}: {name!r} is not a 'module:qualname' name.")
        qualname = name.split(":")[1]
        for key in (name, qualname):
            if key in self.custom:
                return self.custom[key]
        found = find(name, kind)
        if found is None:
            raise ValueError(
                f"{where}: the file names {name!r}, which is not one of the "
                f"{_KINDS[kind]} a skamortise file may name; refused, nothing was "
                "called. If it is your own code and you trust it, pass it: "
                f"load(path, custom_objects={{{qualname!r}: ...}})."
            )
        return found

    def value(self, obj, where: str):
        if isinstance(obj, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if not isinstance(obj, dict):
            return obj  # JSON scalars: None, bool, int, float, str
        tag = _tag(obj, where)
        content = obj[tag]
        if tag == "__ndarray__":
            return self.array(obj, where)
        if tag == "__tuple__" and isinstance(content, list):
            return tuple(self.value(content, where))
        if tag == "__dict__" and isinstance(content, dict):
            return {k: self.value(v, f"{where}.{k}") for k, v in content.items()}
        if tag == "__range__" and isinstance(content, list):
            if len(content) == 3 and all(type(v) is int for v in content):
                return range(*content)
        if tag == "__callable__":
            return self.resolve(content, "callable", where)
        if tag == "__state_dict__" and isinstance(content, str):
            prefix = content + "/"
            return {
                k[len(prefix) :]: v
                for k, v in self.tensors.items()
                if k.startswith(prefix)
            }
        if tag == "__estimator__":
            return self.estimator(obj, where)
        raise ValueError(f"{where}: malformed {tag} entry.")

    def array(self, obj: dict, where: str) -> np.ndarray:
        data = obj["__ndarray__"]
        try:
            dtype = np.dtype(obj["dtype"])
            if dtype.kind not in "biufcUSOMm":
                raise TypeError(f"dtype {dtype} is not a plain array type")
            if dtype.kind == "O":
                array = np.empty(len(data), dtype=object)
                for i, item in enumerate(self.value(data, where)):
                    array[i] = item
            elif dtype.kind in "US":
                # String width from the strings, never from the file's dtype.
                array = np.array(data, dtype=dtype.kind)
            else:
                array = np.array(data, dtype=dtype)
            return array.reshape(obj["shape"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: not a valid array: {err}") from None

    def estimator(self, tree, where: str = "estimator") -> BaseEstimator:
        if not (
            isinstance(tree, dict)
            and _tag(tree, where) == "__estimator__"
            and isinstance(tree["params"], dict)
            and isinstance(tree["attributes"], dict)
        ):
            raise ValueError(f"{where}: not an estimator entry.")
        name = tree["__estimator__"]
        cls = self.resolve(name, "estimator", where)
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise ValueError(f"{where}: {name!r} is not an estimator class.")
        params = {k: self.value(v, f"{where}.{k}") for k, v in tree["params"].items()}
        try:
            est = cls(**params)  # an estimator's __init__ only stores its arguments
            check = getattr(est, "_check_saved_params", None)
            if check is not None:
                check()
            elif hasattr(est, "_parameter_constraints"):
                est._validate_params()
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where} ({cls.__name__}): {err}") from None
        attributes = {}
        for key, value in tree["attributes"].items():
            if not _is_state_name(key):
                raise ValueError(f"{where}.{key}: not a fitted attribute name.")
            attributes[key] = self.value(value, f"{where}.{key}")
        weights = attributes.pop("network_", None)
        for key, value in attributes.items():
            try:
                setattr(est, key, value)
            except AttributeError as err:  # a read-only property
                raise ValueError(f"{where}.{key}: {err}.") from None
        if weights is not None:
            if not (isinstance(weights, dict) and hasattr(est, "_restore_network")):
                raise ValueError(f"{where}.network_: not the weights of a network.")
            try:
                est._restore_network(weights, self.device)
            except ValueError as err:
                raise ValueError(f"{where} ({cls.__name__}): {err}") from err
        return est
