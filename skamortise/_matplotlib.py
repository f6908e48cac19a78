"""matplotlib, imported on demand, and the figure layouts every plot shares.

matplotlib is an optional dependency: it is imported only when a figure is drawn,
so the rest of the package works without it.
"""

from __future__ import annotations

__all__ = ["PANEL", "panels", "pyplot", "single_axes"]

PANEL = 3.2  # inches per panel side


def pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "Plotting needs matplotlib, an optional dependency of skamortise; "
            "install it with `pip install matplotlib`."
        ) from err
    return plt


def panels(fig, nrows: int, ncols: int):
    """A figure (new unless given) and a ``(nrows, ncols)`` array of axes in it."""
    if fig is None:
        fig = pyplot().figure(
            figsize=(PANEL * ncols, PANEL * nrows), layout="constrained"
        )
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def single_axes(ax, figsize=(4.5, 3.5)):
    """The figure and axes to draw one panel on (new unless ``ax`` is given)."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return fig, ax
