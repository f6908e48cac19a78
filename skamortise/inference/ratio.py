"""Inference from a log ratio on the box where it was learned.

A log ratio ``log p(X | theta) - log p(X)`` is a log likelihood up to a constant per
data set: with a prior it is a posterior to sample, on its own a likelihood to
maximise, test and profile. The ratio estimator and ensembles of ratio estimators
hand their ratio of fixed data sets (``log_ratio(theta)``, ``(n_datasets, k,
n_parameters) -> (n_datasets, k)``) to these functions, with the box
``[lower, upper]`` (tensors of shape ``(n_parameters,)``) that inference must stay
inside.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from .._runtime import torch_generator
from ._tensor import LogFn
from .box import sample_log_density
from .likelihood_ratio import profile_interval
from .optimize import maximize
from .priors import prior_log_density

__all__ = [
    "LogRatioFunction",
    "box_maximum",
    "map_estimate",
    "posterior_log_fn",
    "profile_intervals",
    "sample_posterior",
    "simple_lr_test",
]

# Uniform starts on the box for every maximisation, from a fixed seed (one set,
# shared by every data set), so that estimates are reproducible.
N_STARTS = 8
START_SEED = 0


class LogRatioFunction:
    """``theta (n, k, p) -> log r(X_i, theta) (n, k)`` for fixed data sets ``X``.

    Returned by :meth:`skamortise.NeuralRatioEstimator.log_ratio_function`: a ratio
    head ``head(summary, z)`` with the summaries of the data sets, computed once,
    held fixed, and the parameters taken to the head's scale by
    ``parameter_map.inv``.
    """

    def __init__(self, head, summary, parameter_map):
        self._head, self.summary, self._map = head, summary, parameter_map

    @property
    def n_datasets(self) -> int:
        """Number of data sets."""
        return len(self.summary)

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        return self._head(self.summary, self._map.inv(theta))


def posterior_log_fn(log_ratio: LogFn, prior) -> tuple[LogFn, bool]:
    """``log prior + log ratio``, and whether the prior is differentiable.

    ``prior`` is any form :func:`~skamortise.inference.prior_log_density` accepts
    (None: flat).
    """
    log_prior, differentiable = prior_log_density(prior)

    def log_fn(theta):
        return log_prior(theta) + log_ratio(theta)

    return log_fn, differentiable


def sample_posterior(
    log_ratio: LogFn,
    prior,
    lower: torch.Tensor,
    upper: torch.Tensor,
    n_datasets: int,
    n_samples: int,
    **options,
) -> tuple[np.ndarray, object]:
    """Draws from ``prior(theta) exp(log_ratio(theta))`` on the box.

    ``options`` (``method``, ``n_chains``, ``warmup``, ``thin``, ``generator``) go
    to :func:`~skamortise.inference.sample_log_density`. Returns float64 draws
    ``(n_datasets, n_samples, n_parameters)`` and the sampler's result.
    """
    method = options.get("method", "mcmc")
    if method not in ("mcmc", "importance", "grid"):
        raise ValueError(
            f"method must be 'mcmc', 'importance' or 'grid'; got {method!r}."
        )
    log_fn, _ = posterior_log_fn(log_ratio, prior)
    samples, info = sample_log_density(
        log_fn, lower, upper, n_datasets, n_samples, **options
    )
    return np.asarray(samples, dtype=np.float64), info


def box_maximum(
    log_fn: LogFn, lower: torch.Tensor, upper: torch.Tensor, n_datasets: int
) -> tuple[np.ndarray, np.ndarray]:
    """The maximiser of ``log_fn`` on the box per data set, and its value.

    Gradient ascent from :data:`N_STARTS` uniform starts (seed :data:`START_SEED`);
    ``log_fn`` must be differentiable.
    """
    generator = torch_generator(START_SEED)
    u = torch.rand(1, N_STARTS, len(lower), generator=generator, dtype=torch.float64)
    starts = (lower + (upper - lower) * u.to(lower)).expand(n_datasets, -1, -1)
    return maximize(log_fn, starts, bounds=(lower, upper))


def map_estimate(
    log_ratio: LogFn,
    prior,
    lower: torch.Tensor,
    upper: torch.Tensor,
    n_datasets: int,
) -> np.ndarray:
    """The maximiser of ``log prior + log ratio`` on the box, per data set.

    The prior must be a torch distribution: its gradient is used.
    """
    log_fn, differentiable = posterior_log_fn(log_ratio, prior)
    if not differentiable:
        raise TypeError(
            "predict_map needs a torch.distributions prior (its "
            "gradient is used); sample() accepts any prior."
        )
    return box_maximum(log_fn, lower, upper, n_datasets)[0]


def simple_lr_test(
    log_ratio: LogFn,
    y0,
    lower: torch.Tensor,
    upper: torch.Tensor,
    n_datasets: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Likelihood-ratio test of ``theta = y0`` per data set (Wilks).

    ``y0`` broadcasts to ``(n_datasets, n_parameters)``. The statistic
    ``2 (max log r - log r(y0))``, clipped at 0, is compared with the chi-square
    distribution with ``n_parameters`` degrees of freedom; returns the statistics
    and p-values.
    """
    shape = (n_datasets, len(lower))
    y0 = np.array(np.broadcast_to(np.asarray(y0, dtype=np.float64), shape))
    _, best = box_maximum(log_ratio, lower, upper, n_datasets)
    with torch.no_grad():
        null = log_ratio(torch.as_tensor(y0).to(lower)[:, None])[:, 0].cpu().numpy()
    statistic = np.maximum(2 * (np.asarray(best) - null), 0.0)
    return statistic, stats.chi2.sf(statistic, df=y0.shape[1])


def profile_intervals(
    log_ratio: LogFn,
    lower: torch.Tensor,
    upper: torch.Tensor,
    n_datasets: int,
    alpha: float,
) -> np.ndarray:
    """Wilks profile-likelihood interval of every parameter, per data set.

    Returns an array ``(n_datasets, n_parameters, 2)`` of lower and upper ends,
    profiled around the maximum of the log ratio on the box.
    """
    theta_hat, _ = box_maximum(log_ratio, lower, upper, n_datasets)
    out = np.empty((n_datasets, len(lower), 2))
    for j in range(len(lower)):
        result = profile_interval(log_ratio, theta_hat, j, alpha, bounds=(lower, upper))
        out[:, j, 0], out[:, j, 1] = result.lower, result.upper
    return out
