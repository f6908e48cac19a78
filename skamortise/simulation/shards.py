"""Training pairs on disk: a directory of ``.npy`` shards and a manifest.

Layout of a shard directory (written by :class:`ShardWriter`, and by
:func:`skamortise.simulate` with ``out=``)::

    manifest.json        {"format": "skamortise-shards", "version": 1,
                          "shards": [{"n": 1000, "x": "x-000000.npy",
                                      "y": "y-000000.npy", "counts": null}, ...]}
    x-000000.npy         the data sets of shard 0, (n, ...) float64; a shard of
                         data sets with differing replicate counts is padded with
                         zeros to its largest count
    counts-000000.npy    (n,) int64 replicate counts, for padded shards only
    y-000000.npy         (n, n_parameters) parameters, or (n,) labels

The manifest is written last, so a directory whose writing was interrupted has
none and is not taken for a complete set. Reading checks the manifest's names and
sizes and opens the arrays without pickle: a shard directory from elsewhere cannot
run code.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ShardWriter"]

FORMAT = "skamortise-shards"
VERSION = 1
MANIFEST = "manifest.json"
_NAME = re.compile(r"(x|y|counts)-\d{6}\.npy")


@dataclass(frozen=True)
class Shard:
    """One shard's file names (relative to the directory) and size."""

    n: int
    x: str
    y: str
    counts: str | None


class ShardWriter:
    """Write training pairs to a directory of shards, one ``write`` per shard.

    Parameters
    ----------
    directory : str or path-like
        Where to write; created if absent, and it must hold no files.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skamortise.simulation import ShardWriter
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "pairs"
    >>> with ShardWriter(out) as writer:
    ...     writer.write(np.zeros((4, 3, 1)), np.ones((4, 2)))
    ...     writer.write([np.zeros((2, 1)), np.zeros((5, 1))], np.ones((2, 2)))
    >>> writer.n
    6
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        if self.directory.exists() and any(self.directory.iterdir()):
            raise ValueError(
                f"out={str(directory)!r} is not empty; shards are written to a new "
                "or empty directory only, never over earlier ones."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.shards: list[Shard] = []

    @property
    def n(self) -> int:
        """Pairs written so far."""
        return sum(shard.n for shard in self.shards)

    def write(self, X, y) -> None:
        """Write one shard: data sets ``X`` (an array or a list of arrays) and ``y``.

        Parameters
        ----------
        X : ndarray or list of ndarray
            The data sets; a list of arrays whose replicate counts differ is padded
            to its largest count and the counts are stored beside it.
        y : array-like of shape (n,) or (n, n_parameters)
            Their parameters (or labels).
        """
        y = np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X holds {len(X)} data sets but y has {len(y)} rows.")
        if len(y) == 0:
            return
        if y.dtype == object:
            raise TypeError("y must be numbers or strings, not Python objects.")
        values, counts = _padded(X)
        k = len(self.shards)
        shard = Shard(len(y), f"x-{k:06d}.npy", f"y-{k:06d}.npy", None)
        if counts is not None:
            shard = Shard(shard.n, shard.x, shard.y, f"counts-{k:06d}.npy")
            np.save(self.directory / shard.counts, counts)
        np.save(self.directory / shard.x, values)
        np.save(self.directory / shard.y, y)
        self.shards.append(shard)

    def close(self) -> None:
        """Write the manifest, which marks the directory complete."""
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "shards": [shard.__dict__ for shard in self.shards],
        }
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(manifest, handle)
            os.replace(tmp, self.directory / MANIFEST)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:  # an interrupted write leaves no manifest behind
            self.close()


def _padded(X) -> tuple[np.ndarray, np.ndarray | None]:
    """One array, and the replicate counts when the data sets' counts differ."""
    if isinstance(X, np.ndarray):
        return np.asarray(X, dtype=np.float64), None
    rows = [np.asarray(x, dtype=np.float64) for x in X]
    shapes = {x.shape for x in rows}
    if len(shapes) == 1:
        return np.stack(rows), None
    if len({x.shape[1:] for x in rows}) != 1:
        raise ValueError("The data sets of a shard must share their event shape.")
    counts = np.array([len(x) for x in rows], dtype=np.int64)
    values = np.zeros((len(rows), counts.max(), *rows[0].shape[1:]))
    for i, x in enumerate(rows):
        values[i, : len(x)] = x
    return values, counts


def read_manifest(directory) -> list[Shard]:
    """The shards of a directory written by :class:`ShardWriter`, checked."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ValueError(
            f"{str(directory)!r} holds no {MANIFEST}: not a shard directory, or its "
            "writing did not finish."
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} manifest.")
    if manifest.get("version") != VERSION:
        raise ValueError(
            f"{path} has format version {manifest.get('version')!r}; this version "
            f"of skamortise reads version {VERSION}."
        )
    entries = manifest.get("shards")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path} lists no shards.")
    return [_shard(entry, path) for entry in entries]


def _shard(entry, path) -> Shard:
    if not isinstance(entry, dict) or set(entry) != {"n", "x", "y", "counts"}:
        raise ValueError(f"{path} has a malformed shard entry: {entry!r}.")
    n = entry["n"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{path}: a shard's n must be a positive int; got {n!r}.")
    names = [entry["x"], entry["y"]] + (
        [entry["counts"]] * (entry["counts"] is not None)
    )
    for name in names:
        # Plain names only: a manifest must not point outside its directory.
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"{path} names an unexpected shard file: {name!r}.")
    return Shard(n, entry["x"], entry["y"], entry["counts"])


def open_shard(directory, shard: Shard):
    """The arrays of one shard, memory-mapped read-only: ``(X, counts, y)``."""
    directory = Path(directory)

    def load(name):
        array = np.load(directory / name, mmap_mode="r", allow_pickle=False)
        if len(array) != shard.n:
            raise ValueError(
                f"{directory / name} holds {len(array)} rows but the manifest says "
                f"{shard.n}."
            )
        return array

    counts = None if shard.counts is None else load(shard.counts)
    return load(shard.x), counts, load(shard.y)
