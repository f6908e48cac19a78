"""Bijections from the real line onto a parameter's support."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn
from torch.nn import functional as F


def _softplus_inverse(x: Tensor) -> Tensor:
    # log(expm1(x)) written so that it neither overflows for large x nor loses
    # precision for small x.
    return x + torch.log(-torch.expm1(-x))


class BoundsTransform(nn.Module):
    """Map unconstrained ``u`` in ``R^p`` onto a box-shaped parameter support.

    Coordinate by coordinate, with ``l`` and ``h`` the lower and upper bounds:

    - no bound: ``theta = u``;
    - lower only: ``theta = l + softplus(u)``;
    - upper only: ``theta = h - softplus(-u)``;
    - both: ``theta = l + (h - l) * sigmoid(u)``.

    Parameters
    ----------
    lower : array-like of shape (p,)
        Lower bounds, ``-inf`` for none.
    upper : array-like of shape (p,)
        Upper bounds, ``inf`` for none.

    Attributes
    ----------
    n_parameters : int
        Number of coordinates ``p``.
    is_identity : bool
        True when no coordinate is bounded.

    Notes
    -----
    Softplus rather than ``exp`` for one-sided bounds: it is the identity far from
    the bound, so a network's output keeps its scale and gradients do not explode
    for large ``u``. All methods work elementwise on any leading shape ``(..., p)``
    and follow the dtype and device of their input.

    A density ``q_u`` on the unconstrained scale gives the density on the
    constrained scale as ``log q(theta) = log q_u(u) - log_abs_det_jacobian(u)``
    with ``u = inverse(theta)``.

    Examples
    --------
    >>> import torch
    >>> t = BoundsTransform.from_bounds([(0, None), (None, None), (0, 1)])
    >>> theta = t(torch.zeros(1, 3))
    >>> theta
    tensor([[0.6931, 0.0000, 0.5000]])
    >>> t.inverse(theta)
    tensor([[0., 0., 0.]])
    """

    def __init__(self, lower: ArrayLike, upper: ArrayLike) -> None:
        super().__init__()
        lower_np = np.asarray(lower, dtype=np.float64)
        upper_np = np.asarray(upper, dtype=np.float64)
        if lower_np.ndim != 1 or upper_np.shape != lower_np.shape:
            raise ValueError(
                "lower and upper must be 1-D and of the same length, got shapes "
                f"{lower_np.shape} and {upper_np.shape}."
            )
        if lower_np.size == 0:
            raise ValueError("lower and upper must hold at least one bound each.")
        if np.isnan(lower_np).any() or np.isnan(upper_np).any():
            raise ValueError("Bounds must not be NaN; use -inf or inf for none.")
        bad = np.flatnonzero(~(lower_np < upper_np))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"Each lower bound must be below its upper bound; parameter {i} has "
                f"lower={lower_np[i]} and upper={upper_np[i]}."
            )
        self.n_parameters = lower_np.size
        has_lower = np.isfinite(lower_np)
        has_upper = np.isfinite(upper_np)
        # Finite stand-ins for open sides keep every branch of the torch.where
        # calls finite, so no inf * 0 turns into a nan gradient.
        lo = np.where(has_lower, lower_np, 0.0)
        hi = np.where(has_upper, upper_np, 1.0)
        # Buffers follow .to(device, dtype); they are rebuilt from the bounds, so
        # they stay out of the state dict.
        self.register_buffer("lower", torch.as_tensor(lower_np), persistent=False)
        self.register_buffer("upper", torch.as_tensor(upper_np), persistent=False)
        self.register_buffer("_lo", torch.as_tensor(lo), persistent=False)
        self.register_buffer("_hi", torch.as_tensor(hi), persistent=False)
        self.register_buffer(
            "_both", torch.as_tensor(has_lower & has_upper), persistent=False
        )
        self.register_buffer(
            "_lower_only", torch.as_tensor(has_lower & ~has_upper), persistent=False
        )
        self.register_buffer(
            "_upper_only", torch.as_tensor(~has_lower & has_upper), persistent=False
        )
        self.is_identity = not (has_lower.any() or has_upper.any())

    @classmethod
    def from_bounds(
        cls,
        bounds: Sequence[tuple[float | None, float | None]],
        n_parameters: int | None = None,
    ) -> BoundsTransform:
        """Build from ``(low, high)`` pairs, ``None`` marking an open side.

        Parameters
        ----------
        bounds : sequence of (float or None, float or None)
            One pair per parameter.
        n_parameters : int, default=None
            If given, the number of pairs ``bounds`` must hold.

        Returns
        -------
        BoundsTransform

        Raises
        ------
        ValueError
            If a pair is malformed, ``low >= high``, or the length is wrong.
        """
        pairs = list(bounds)
        if n_parameters is not None and len(pairs) != n_parameters:
            raise ValueError(
                f"bounds has {len(pairs)} entries but there are {n_parameters} "
                "parameters; give one (low, high) pair per parameter."
            )
        if not pairs:
            raise ValueError("bounds must hold at least one (low, high) pair.")
        lower, upper = [], []
        for i, pair in enumerate(pairs):
            if isinstance(pair, str | bytes) or np.shape(pair) != (2,):
                raise ValueError(
                    f"bounds[{i}] must be a (low, high) pair, got {pair!r}."
                )
            low, high = pair
            lower.append(-math.inf if low is None else float(low))
            upper.append(math.inf if high is None else float(high))
        return cls(lower, upper)

    def _cast(self, x: Tensor) -> tuple[Tensor, ...]:
        # The input decides dtype and device, so a transform that was never moved
        # still serves any input; the casts are no-ops once the module matches.
        lo = self._lo.to(device=x.device, dtype=x.dtype)
        hi = self._hi.to(device=x.device, dtype=x.dtype)
        masks = (self._both, self._lower_only, self._upper_only)
        return (lo, hi, *(m.to(device=x.device) for m in masks))

    def forward(self, u: Tensor) -> Tensor:
        """Map unconstrained ``u`` of shape ``(..., p)`` into the support."""
        lo, hi, both, lower_only, upper_only = self._cast(u)
        width = hi - lo
        # Each half of the sigmoid map is anchored at its nearer bound, so values
        # close to the upper bound keep their precision.
        boxed = torch.where(
            u > 0, hi - width * torch.sigmoid(-u), lo + width * torch.sigmoid(u)
        )
        theta = torch.where(lower_only, lo + F.softplus(u), u)
        theta = torch.where(upper_only, hi - F.softplus(-u), theta)
        return torch.where(both, boxed, theta)

    def inverse(self, theta: Tensor) -> Tensor:
        """Map ``theta`` of shape ``(..., p)`` back to the unconstrained scale.

        Values on or beyond a bound are first moved just inside it, so the result
        is always finite.
        """
        lo, hi, both, lower_only, upper_only = self._cast(theta)
        tiny = torch.finfo(theta.dtype).tiny
        above = (theta - lo).clamp(min=tiny)
        below = (hi - theta).clamp(min=tiny)
        u = torch.where(lower_only, _softplus_inverse(above), theta)
        u = torch.where(upper_only, -_softplus_inverse(below), u)
        return torch.where(both, above.log() - below.log(), u)

    def log_abs_det_jacobian(self, u: Tensor) -> Tensor:
        """Return ``log|det d theta / d u|`` of ``forward``, shape ``u.shape[:-1]``."""
        lo, hi, both, lower_only, upper_only = self._cast(u)
        log_width = (hi - lo).log()
        per_coordinate = torch.where(
            both,
            log_width + F.logsigmoid(u) + F.logsigmoid(-u),
            torch.where(
                lower_only,
                F.logsigmoid(u),
                torch.where(upper_only, F.logsigmoid(-u), torch.zeros_like(u)),
            ),
        )
        return per_coordinate.sum(-1)

    def extra_repr(self) -> str:
        pairs = ", ".join(
            f"({lo:g}, {hi:g})"
            for lo, hi in zip(self.lower.tolist(), self.upper.tolist(), strict=True)
        )
        return f"bounds=[{pairs}]"
