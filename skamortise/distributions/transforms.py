"""Bijections from the real line onto a parameter's support."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor
from torch.distributions import Transform, constraints
from torch.nn import functional as F


def _softplus_inverse(x: Tensor) -> Tensor:
    """``log(expm1(x))`` for ``x > 0``, without overflow or loss of precision."""
    return x + torch.log(-torch.expm1(-x))


class _OpenBox(constraints.Constraint):
    """``lower < theta < upper`` in every coordinate (open sides may be infinite)."""

    is_discrete = False
    event_dim = 1

    def __init__(self, lower: Tensor, upper: Tensor) -> None:
        self.lower, self.upper = lower, upper
        super().__init__()

    def check(self, value: Tensor) -> Tensor:
        lower = self.lower.to(value)
        upper = self.upper.to(value)
        return ((value > lower) & (value < upper)).all(-1)


class BoundsTransform(Transform):
    """Map unconstrained ``u`` in ``R^p`` onto a box-shaped parameter support.

    Coordinate by coordinate, with ``l`` and ``h`` the lower and upper bounds:

    - no bound: ``theta = u``;
    - lower only: ``theta = l + softplus(u)``;
    - upper only: ``theta = h - softplus(-u)``;
    - both: ``theta = l + (h - l) * sigmoid(u)``.

    A :class:`torch.distributions.Transform` with ``event_dim=1``: compose it into a
    :class:`~torch.distributions.TransformedDistribution` to carry a density on the
    real line onto the support, with ``transform.inv`` the way back.

    Parameters
    ----------
    lower : array-like of shape (p,)
        Lower bounds, ``-inf`` for none.
    upper : array-like of shape (p,)
        Upper bounds, ``inf`` for none.
    cache_size : int, default=0
        See :class:`torch.distributions.Transform`.

    Attributes
    ----------
    lower, upper : Tensor of shape (p,)
        The bounds, float64.
    n_parameters : int
        Number of coordinates ``p``.
    is_identity : bool
        True when no coordinate is bounded.

    Notes
    -----
    Softplus rather than ``exp`` for one-sided bounds: it is the identity far from
    the bound, so a network's output keeps its scale and gradients do not explode
    for large ``u``. Every map is increasing in its own coordinate, so quantiles of
    a marginal pass through it. All methods work elementwise on any leading shape
    ``(..., p)`` and follow the dtype and device of their input.

    A density ``q_u`` on the unconstrained scale gives the density on the
    constrained scale as ``log q(theta) = log q_u(u) - log_abs_det_jacobian(u,
    theta)`` with ``u = inv(theta)``.

    Examples
    --------
    >>> import torch
    >>> t = BoundsTransform.from_bounds([(0, None), (None, None), (0, 1)])
    >>> theta = t(torch.zeros(1, 3))
    >>> theta
    tensor([[0.6931, 0.0000, 0.5000]])
    >>> t.inv(theta)
    tensor([[0., 0., 0.]])
    """

    domain = constraints.real_vector
    bijective = True
    sign = +1

    def __init__(self, lower: ArrayLike, upper: ArrayLike, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        lower_np = np.asarray(_to_numpy(lower), dtype=np.float64)
        upper_np = np.asarray(_to_numpy(upper), dtype=np.float64)
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
        self.lower = torch.as_tensor(lower_np)
        self.upper = torch.as_tensor(upper_np)
        # Finite stand-ins for open sides keep every branch of the torch.where
        # calls finite, so no inf * 0 turns into a nan gradient.
        self._lo = torch.as_tensor(np.where(has_lower, lower_np, 0.0))
        self._hi = torch.as_tensor(np.where(has_upper, upper_np, 1.0))
        self._both = torch.as_tensor(has_lower & has_upper)
        self._lower_only = torch.as_tensor(has_lower & ~has_upper)
        self._upper_only = torch.as_tensor(~has_lower & has_upper)
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

    @constraints.dependent_property(is_discrete=False, event_dim=1)
    def codomain(self) -> constraints.Constraint:
        return _OpenBox(self.lower, self.upper)

    def with_cache(self, cache_size: int = 1) -> BoundsTransform:
        if self._cache_size == cache_size:
            return self
        return BoundsTransform(self.lower, self.upper, cache_size=cache_size)

    def __setstate__(self, state: dict) -> None:
        # Pickles from releases where the transform was an ``nn.Module`` hold the
        # bounds among its buffers; rebuild from those.
        buffers = state.get("_buffers")
        if buffers is not None:
            self.__init__(buffers["lower"], buffers["upper"])
            return
        self.__dict__.update(state)

    def _cast(self, x: Tensor) -> tuple[Tensor, ...]:
        # The input decides dtype and device, so one transform serves any input.
        lo = self._lo.to(device=x.device, dtype=x.dtype)
        hi = self._hi.to(device=x.device, dtype=x.dtype)
        masks = (self._both, self._lower_only, self._upper_only)
        return (lo, hi, *(m.to(device=x.device) for m in masks))

    def _call(self, u: Tensor) -> Tensor:
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

    def _inverse(self, theta: Tensor) -> Tensor:
        # Values on or beyond a bound are first moved just inside it, so the
        # result is always finite.
        lo, hi, both, lower_only, upper_only = self._cast(theta)
        tiny = torch.finfo(theta.dtype).tiny
        above = (theta - lo).clamp(min=tiny)
        below = (hi - theta).clamp(min=tiny)
        u = torch.where(lower_only, _softplus_inverse(above), theta)
        u = torch.where(upper_only, -_softplus_inverse(below), u)
        return torch.where(both, above.log() - below.log(), u)

    def log_abs_det_jacobian(self, u: Tensor, theta: Tensor | None = None) -> Tensor:
        """``log|det d theta / d u|`` at ``u``, shape ``u.shape[:-1]``.

        ``theta`` (the image of ``u``) is accepted for the ``Transform`` interface
        and not needed.
        """
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

    def __repr__(self) -> str:
        pairs = ", ".join(
            f"({lo:g}, {hi:g})"
            for lo, hi in zip(self.lower.tolist(), self.upper.tolist(), strict=True)
        )
        return f"{type(self).__name__}(bounds=[{pairs}])"


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)
