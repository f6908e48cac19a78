"""Tensor plumbing shared by the inference routines.

Every routine accepts numpy arrays or torch tensors, works in torch on the device
of its inputs and hands numpy float64 back. The helpers here keep those
conversions, the parameter bounds and the random generator in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

LogFn = Callable[[torch.Tensor], torch.Tensor]
Bounds = tuple[Sequence[float] | np.ndarray | torch.Tensor, ...] | None


def as_tensor(
    value: np.ndarray | torch.Tensor | Sequence[float] | float,
    like: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return ``value`` as a floating torch tensor.

    Tensors keep their dtype and device unless ``like`` is given; numpy input is
    copied first (read-only arrays cannot back a tensor) and becomes float64.
    """
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if not tensor.is_floating_point():
            tensor = tensor.double()
    else:
        tensor = torch.as_tensor(np.array(value, dtype=np.float64, copy=True))
    if like is not None:
        tensor = tensor.to(dtype=like.dtype, device=like.device)
    return tensor


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Return a float64 numpy copy of ``tensor``."""
    return tensor.detach().to("cpu", torch.float64).numpy().copy()


def bounds_tensors(
    bounds: Bounds, n_parameters: int, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lower, upper)`` of shape ``(n_parameters,)``; ``None`` means unbounded."""
    if bounds is None:
        lower = torch.full((n_parameters,), -torch.inf)
        upper = torch.full((n_parameters,), torch.inf)
        return lower.to(like), upper.to(like)
    if len(bounds) != 2:
        raise ValueError("bounds must be a pair (lower, upper).")
    lower = as_tensor(bounds[0], like).reshape(-1).expand(n_parameters).clone()
    upper = as_tensor(bounds[1], like).reshape(-1).expand(n_parameters).clone()
    if torch.any(lower >= upper):
        raise ValueError("every lower bound must be smaller than its upper bound.")
    return lower, upper


def make_generator(
    generator: torch.Generator | int | None, device: torch.device | str = "cpu"
) -> torch.Generator:
    """Return a generator: an int seeds a new one, ``None`` seeds one from the OS."""
    if isinstance(generator, torch.Generator):
        return generator
    new = torch.Generator(device=device)
    if generator is None:
        new.seed()
    else:
        new.manual_seed(int(generator))
    return new


def rand(
    shape: Sequence[int], generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """Uniform(0, 1) draws made on the generator's device, then moved to ``like``.

    Drawing where the generator lives lets a CPU generator drive a GPU run and
    keeps the stream identical across devices.
    """
    draw = torch.rand(tuple(shape), generator=generator, device=generator.device)
    return draw.to(dtype=like.dtype, device=like.device)


def randn(
    shape: Sequence[int], generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """Standard normal draws; see :func:`rand` for the device handling."""
    draw = torch.randn(tuple(shape), generator=generator, device=generator.device)
    return draw.to(dtype=like.dtype, device=like.device)


def nan_to_neginf(value: torch.Tensor) -> torch.Tensor:
    """Score NaN log densities as ``-inf``, leaving infinities alone.

    ``torch.nan_to_num`` would also turn ``-inf`` into the most negative float,
    which then passes for a finite, valid point.
    """
    return torch.where(torch.isnan(value), torch.full_like(value, -torch.inf), value)


def safe_log_fn(
    log_fn: LogFn,
    theta: torch.Tensor,
    lower: torch.Tensor,
    upper: torch.Tensor,
    fallback: torch.Tensor | None = None,
) -> torch.Tensor:
    """Evaluate ``log_fn`` with points outside the bounds scored ``-inf``.

    Out-of-bounds points are swapped for ``fallback`` (a valid point) before the
    call, so ``log_fn`` never sees them: priors such as ``torch.distributions.Beta``
    raise on values outside their support. NaN is treated as ``-inf``.
    """
    inside = torch.all((theta >= lower) & (theta <= upper), dim=-1)
    if fallback is not None and not bool(inside.all()):
        theta = torch.where(inside.unsqueeze(-1), theta, fallback)
    with torch.no_grad():
        value = log_fn(theta)
    value = torch.as_tensor(value).to(theta)
    value = nan_to_neginf(value)
    return torch.where(inside, value, torch.full_like(value, -torch.inf))


# Largest number of (data set, point) pairs scored in one call of log_fn by the
# samplers that score many points at once: bounds the network's activations.
POINTS_PER_CALL = 2**18


def chunked_log_fn(
    log_fn: LogFn,
    theta: torch.Tensor,
    lower: torch.Tensor,
    upper: torch.Tensor,
    fallback: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`safe_log_fn` over ``theta`` ``(n, k, p)`` in slices of ``k``."""
    n, k = theta.shape[:2]
    step = max(1, POINTS_PER_CALL // n)
    if k <= step:
        return safe_log_fn(log_fn, theta, lower, upper, fallback)
    return torch.cat(
        [
            safe_log_fn(
                log_fn,
                theta[:, i : i + step],
                lower,
                upper,
                None if fallback is None else fallback[:, i : i + step],
            )
            for i in range(0, k, step)
        ],
        dim=1,
    )
