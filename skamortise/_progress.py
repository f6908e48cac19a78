"""The one progress-bar maker: tqdm when ``verbose`` asks for it, else nothing."""

from __future__ import annotations


def progress(
    iterable,
    *,
    verbose: int,
    total: int | None,
    desc: str,
    unit: str = "chunk",
    initial: int = 0,
):
    """Wrap ``iterable`` in a progress bar when ``verbose`` is positive.

    Returns ``iterable`` itself otherwise, so callers that update the bar test for
    its methods (``set_postfix``, ``close``) rather than for ``verbose``.
    """
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial)
