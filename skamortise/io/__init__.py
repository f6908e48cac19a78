"""Saving and loading fitted estimators in a safe, versioned format.

A file is one ``torch.save`` archive holding only plain data: strings (JSON for the
hyperparameters and fitted attributes), numbers, and tensors (network weights). It is
read with ``torch.load(weights_only=True)``, which refuses pickled objects. Classes
and functions are recorded by name and looked up, by exact name, in a fixed registry
of what a file may name (skamortise's estimators, transformers, pipeline, summary
networks, losses and activations, and scikit-learn's estimator classes); anything
else (a custom summary network or loss) must be passed to :func:`load` by the user.
Parameters are validated before anything is built, and a network is rebuilt under a
size limit set by its saved weights, which it must match exactly.

Format (version 2)::

    {"format": "skamortise", "format_version": 2, "skamortise_version": "...",
     "estimator": "<JSON tree of the estimator>", "tensors": {"<key>": Tensor, ...}}

The JSON tree encodes an estimator as ``{"__estimator__": "module:Class", "params":
{...}, "attributes": {...}}``; arrays as ``{"__ndarray__": [...], "dtype": "...",
"shape": [...]}``; classes and functions as ``{"__callable__": "module:qualname"}``;
network weights as ``{"__state_dict__": "<key prefix>"}`` pointing into ``tensors``.

Version 2 keeps the data's standardisation in the network's weights (the buffers
``standardise.loc`` and ``standardise.scale``); version 1 kept it in the fitted
attributes ``x_loc_`` and ``x_scale_``, and version 1 files are read by moving them
there (``_migrations.py``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from .._saving import FORMAT, FORMAT_VERSION, save
from ._decode import Decoder
from ._migrations import MIGRATIONS

__all__ = ["save", "load", "FORMAT_VERSION"]


def load(path, *, custom_objects: dict | None = None, device: str = "cpu"):
    """Load an estimator saved by :func:`save` (or ``est.save``).

    Of what the file names, loading calls only what a fixed registry holds
    (skamortise's and scikit-learn's estimator classes, skamortise's summary
    networks, losses and activations) and what is passed in ``custom_objects``:
    names resolve through those two, by exact name, and nothing else. Every estimator's
    parameters are validated before anything is built, and each network is rebuilt
    under a size limit set by its saved weights and must match them exactly.

    Parameters
    ----------
    path : str or path-like
        The file.
    custom_objects : dict, default=None
        Classes or functions outside that registry which the estimator uses (a
        custom summary network, a callable loss), by qualified name
        (``"module:qualname"``) or bare ``qualname``. They are code you choose to
        run: pass only what you trust.
    device : str, default="cpu"
        Where to put the network; a model trained on a GPU loads on a CPU-only
        machine.

    Returns
    -------
    estimator

    Raises
    ------
    ValueError
        If the file is not a skamortise file, holds anything but plain data, names
        a class or function outside the registry and ``custom_objects``, holds
        invalid parameters or weights that do not fit them, or has a format
        version this release cannot read.
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
        try:
            archive = MIGRATIONS[version](archive)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        version += 1
    tensors, tree = archive.get("tensors"), archive.get("estimator")
    if not (
        isinstance(tensors, dict)
        and all(isinstance(key, str) for key in tensors)
        and isinstance(tree, str)
    ):
        raise ValueError(f"{path} is not a skamortise file: no estimator or tensors.")
    try:
        tree = json.loads(tree)
        return Decoder(tensors, custom_objects, device).estimator(tree)
    except RecursionError:
        raise ValueError(f"{path}: the estimator entry is nested too deeply.") from None
