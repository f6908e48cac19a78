"""Saving and loading fitted estimators in a safe, versioned format.

A file is one ``torch.save`` archive holding only plain data: strings (JSON for the
hyperparameters and fitted attributes), numbers, and tensors (network weights). It is
read with ``torch.load(weights_only=True)``, which refuses pickled objects, so loading a
file never runs code from it. Classes are recorded by name and re-created only from the
``skamortise`` and ``sklearn`` namespaces; any other class or function (a custom
summary network or loss) must be passed to :func:`load` by the user.

Format (version 1)::

    {"format": "skamortise", "format_version": 1, "skamortise_version": "...",
     "estimator": "<JSON tree of the estimator>", "tensors": {"<key>": Tensor, ...}}

The JSON tree encodes an estimator as ``{"__estimator__": "module:Class", "params":
{...}, "attributes": {...}}``; arrays as ``{"__ndarray__": [...], "dtype": "..."}``;
network weights as ``{"__state_dict__": "<key prefix>"}`` pointing into ``tensors``.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator

FORMAT = "skamortise"
FORMAT_VERSION = 1
# Migrations from older format versions: {old_version: function(archive) -> archive}.
MIGRATIONS: dict = {}
_ALLOWED_MODULES = ("skamortise.", "sklearn.")

__all__ = ["save", "load", "FORMAT_VERSION"]


class _Encoder:
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
        if isinstance(obj, type) or callable(obj):
            return {"__callable__": f"{obj.__module__}:{obj.__qualname__}"}
        raise TypeError(f"{where}: cannot save an object of type {type(obj).__name__}.")

    def estimator(self, est: BaseEstimator, where: str = "estimator"):
        params = {
            k: self.value(v, f"{where}.{k}")
            for k, v in est.get_params(deep=False).items()
        }
        attributes = {}
        for name, value in vars(est).items():
            if name in params or not (name.endswith("_") or name in _PRIVATE_STATE):
                continue
            if name == "parameter_transform_":
                continue  # rebuilt from the bounds parameter
            try:
                attributes[name] = self.value(value, f"{where}.{name}")
            except TypeError:
                self.skipped.append(f"{where}.{name}")
        cls = type(est)
        return {
            "__estimator__": f"{cls.__module__}:{cls.__qualname__}",
            "params": params,
            "attributes": attributes,
        }


# Private attributes that are part of a fitted estimator's state.
_PRIVATE_STATE = ("_y_ndim", "_sklearn_output_config")


def save(estimator: BaseEstimator, path) -> None:
    """Save a fitted (or unfitted) estimator or pipeline to ``path``.

    Attributes that are not plain data (e.g. a prior object kept by a ratio
    estimator) are left out with a warning; they can be passed again at use.
    """
    encoder = _Encoder()
    tree = encoder.estimator(estimator)
    if encoder.skipped:
        warnings.warn(
            "These attributes are not plain data and were not saved: "
            + ", ".join(encoder.skipped),
            UserWarning,
            stacklevel=2,
        )
    from . import __version__

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


class _Decoder:
    def __init__(self, tensors, custom_objects, device):
        self.tensors = tensors
        self.custom = dict(custom_objects or {})
        self.device = device

    def resolve(self, name: str):
        qualname = name.split(":", 1)[1]
        if name in self.custom or qualname in self.custom:
            return self.custom.get(name, self.custom.get(qualname))
        module = name.split(":", 1)[0]
        if not (module + ".").startswith(_ALLOWED_MODULES):
            raise ValueError(
                f"The file refers to {name!r}, which is outside skamortise and "
                f"scikit-learn; pass it explicitly: load(path, custom_objects="
                f"{{{qualname!r}: ...}})."
            )
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj

    def value(self, obj):
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__ndarray__" in obj:
            data = (
                self.value(obj["__ndarray__"])
                if obj["dtype"] == "object"
                else obj["__ndarray__"]
            )
            array = np.array(data, dtype=obj["dtype"])
            return array.reshape(obj["shape"])
        if "__tuple__" in obj:
            return tuple(self.value(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: self.value(v) for k, v in obj["__dict__"].items()}
        if "__range__" in obj:
            return range(*obj["__range__"])
        if "__callable__" in obj:
            return self.resolve(obj["__callable__"])
        if "__state_dict__" in obj:
            prefix = obj["__state_dict__"] + "/"
            return {
                k[len(prefix) :]: v
                for k, v in self.tensors.items()
                if k.startswith(prefix)
            }
        if "__estimator__" in obj:
            return self.estimator(obj)
        raise ValueError(f"Unknown entry in the file: {sorted(obj)}.")

    def estimator(self, tree):
        cls = self.resolve(tree["__estimator__"])
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise ValueError(f"{tree['__estimator__']} is not an estimator class.")
        est = cls(**{k: self.value(v) for k, v in tree["params"].items()})
        attributes = {k: self.value(v) for k, v in tree["attributes"].items()}
        weights = attributes.pop("network_", None)
        for name, value in attributes.items():
            setattr(est, name, value)
        if weights is not None:
            est._restore_network(weights, self.device)
        return est


def load(path, *, custom_objects: dict | None = None, device: str = "cpu"):
    """Load an estimator saved by :func:`save` (or ``est.save``).

    Parameters
    ----------
    path : str or path-like
        The file.
    custom_objects : dict, default=None
        Classes or functions outside skamortise and scikit-learn that the estimator
        uses (a custom summary network, a callable loss), by name.
    device : str, default="cpu"
        Where to put the network; a model trained on a GPU loads on a CPU-only
        machine.

    Returns
    -------
    estimator

    Raises
    ------
    ValueError
        If the file is not a skamortise file, holds anything but plain data (it is
        never executed), or has a format version this release cannot read.
    """
    raw = Path(path).read_bytes()
    try:
        archive = torch.load(io.BytesIO(raw), map_location=device, weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{path} is not a skamortise file or holds objects other than plain data "
            f"(refused, nothing was executed): {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}"
        ) from None
    if not isinstance(archive, dict) or archive.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skamortise file.")
    version = archive.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {version} (written by skamortise "
            f"{archive.get('skamortise_version')}); this skamortise reads format "
            f"versions up to {FORMAT_VERSION}. Upgrade skamortise to load it."
        )
    while version < FORMAT_VERSION:
        if version not in MIGRATIONS:
            raise ValueError(
                f"{path} has format version {version}, which this skamortise (format "
                f"version {FORMAT_VERSION}) can no longer read."
            )
        archive, version = MIGRATIONS[version](archive), version + 1
    decoder = _Decoder(archive["tensors"], custom_objects, device)
    return decoder.estimator(json.loads(archive["estimator"]))
