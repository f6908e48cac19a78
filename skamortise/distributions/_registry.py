"""Names under which the conditional distribution heads can be built."""

from __future__ import annotations

from typing import Any

from torch import nn

from .coupling import AffineCouplingFlow
from .gaussian import GaussianHead
from .mixture import GaussianMixtureHead
from .spline import MaskedAutoregressiveFlow, NeuralSplineFlow

DISTRIBUTIONS: dict[str, type[nn.Module]] = {
    "gaussian": GaussianHead,
    "mixture": GaussianMixtureHead,
    "coupling": AffineCouplingFlow,
    "spline": NeuralSplineFlow,
    "maf": MaskedAutoregressiveFlow,
}


def build_distribution(
    name: str, n_parameters: int, context_features: int, **options: Any
) -> nn.Module:
    """Build a conditional distribution head by name.

    Parameters
    ----------
    name : {"gaussian", "mixture", "coupling", "spline", "maf"}
        Family of the head; see :data:`DISTRIBUTIONS`.
    n_parameters : int
        Dimension ``p`` of ``theta``.
    context_features : int
        Dimension ``s`` of the context.
    **options
        Keyword arguments of the head's class, e.g. ``n_components`` for
        ``"mixture"`` or ``n_transforms`` and ``hidden_features`` for the flows.

    Returns
    -------
    torch.nn.Module
        A module whose call on a context of shape ``(B, s)`` returns a
        :class:`torch.distributions.Distribution` with batch shape ``(B,)`` and
        event shape ``(p,)``.

    Raises
    ------
    ValueError
        If ``name`` is unknown or a size is not a positive integer.
    TypeError
        If an option does not belong to the chosen head.

    Examples
    --------
    >>> import torch
    >>> head = build_distribution("mixture", n_parameters=2, context_features=3,
    ...                           n_components=3)
    >>> dist = head(torch.zeros(4, 3))
    >>> dist.log_prob(torch.zeros(4, 2)).shape
    torch.Size([4])
    """
    try:
        cls = DISTRIBUTIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown distribution {name!r}; choose one of {sorted(DISTRIBUTIONS)}."
        ) from None
    return cls(n_parameters, context_features, **options)
