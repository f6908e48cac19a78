"""Four tasks of the SBI benchmark (sbibm 1.1.0), with its observations and references.

Two moons and SLCP use skamortise's models (the benchmark's simulators); SIR and
Lotka-Volterra are implemented here with scipy's ODE solver from the benchmark's
definitions (sbibm/tasks/sir/task.py and sbibm/tasks/lotka_volterra/task.py):

- SIR: population N = 1e6, I0 = 1, R0 = 0, 160 days; parameters (beta, gamma) with a
  log-normal prior, locations (log 0.4, log 0.125), scales (0.5, 0.2); the number of
  infected on days 0, 17, ..., 153 (every 17th of the 161 daily values) is observed as
  Binomial(1000, I / N).
- Lotka-Volterra: x' = alpha x - beta x y, y' = -gamma y + delta x y from (30, 1) over
  20 days; parameters log-normal with locations (-0.125, -3, -0.125, -3), scale 0.5;
  both populations at times 0, 2.1, ..., 18.9 (every 21st of the values saved every
  0.1 days), prey first, observed as LogNormal(log(clip(u, 1e-10, 1e4)), 0.1).

A simulation whose solver fails is NaN, as in the benchmark (the runs then drop it).
Observations 1-10 and the 10,000 reference posterior draws of each come from the
sbibm 1.1.0 wheel (``pip download --no-deps sbibm==1.1.0``), unpacked under
``SBIBM_DIR`` (default /tmp/sbibm_seq).
"""

from __future__ import annotations

import bz2
import os
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.integrate import solve_ivp

from skamortise import models

SBIBM_DIR = Path(os.environ.get("SBIBM_DIR", "/tmp/sbibm_seq")) / "sbibm" / "tasks"


class LogNormalPrior:
    """Independent log-normal prior: ``prior(n, rng)`` and ``log_prob``."""

    def __init__(self, loc, scale):
        self.loc = np.asarray(loc, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    def __call__(self, n, rng):
        return np.exp(self.loc + self.scale * rng.standard_normal((n, len(self.loc))))

    def log_prob(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = stats.norm.logpdf(np.log(theta), self.loc, self.scale) - np.log(
                theta
            )
        out = logs.sum(axis=-1)
        return np.where((theta > 0).all(axis=-1), out, -np.inf)

    def torch(self):
        import torch

        loc = torch.as_tensor(self.loc, dtype=torch.float32)
        scale = torch.as_tensor(self.scale, dtype=torch.float32)
        return torch.distributions.Independent(
            torch.distributions.LogNormal(loc, scale), 1
        )


class BoxPrior:
    """Uniform prior on a box: ``prior(n, rng)`` and ``log_prob``."""

    def __init__(self, low, high):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)

    def __call__(self, n, rng):
        return self.low + (self.high - self.low) * rng.random((n, len(self.low)))

    def log_prob(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        inside = ((theta >= self.low) & (theta <= self.high)).all(axis=-1)
        return np.where(inside, -np.log(self.high - self.low).sum(), -np.inf)

    def torch(self):
        import torch
        from sbi.utils import BoxUniform

        return BoxUniform(
            torch.as_tensor(self.low, dtype=torch.float32),
            torch.as_tensor(self.high, dtype=torch.float32),
        )


def _sir_rhs(t, u, beta, gamma, n):
    s, i, _ = u
    infection = beta * s * i / n
    return [-infection, infection - gamma * i, gamma * i]


def sir_simulator(theta, rng):
    """SIR: ``(n, 10)`` binomial counts of the infected (NaN where the solver fails)."""
    n_pop, times = 1e6, np.arange(0.0, 154.0, 17.0)
    out = np.full((len(theta), len(times)), np.nan)
    for k, (beta, gamma) in enumerate(np.asarray(theta, dtype=np.float64)):
        sol = solve_ivp(
            _sir_rhs,
            (0.0, 160.0),
            [n_pop - 1.0, 1.0, 0.0],
            t_eval=times,
            args=(beta, gamma, n_pop),
            rtol=1e-6,
            atol=1e-6,
        )
        if sol.success and sol.y.shape[1] == len(times):
            out[k] = np.clip(sol.y[1] / n_pop, 0.0, 1.0)
    ok = np.isfinite(out).all(axis=1)
    data = np.full_like(out, np.nan)
    data[ok] = rng.binomial(1000, out[ok])
    return data


def _lv_rhs(t, u, alpha, beta, gamma, delta):
    x, y = u
    return [alpha * x - beta * x * y, -gamma * y + delta * x * y]


def lv_simulator(theta, rng):
    """Lotka-Volterra: ``(n, 20)`` log-normal observations of both populations."""
    times = np.arange(0, 201, 21) * 0.1
    times = times[:10]
    out = np.full((len(theta), 20), np.nan)
    for k, p in enumerate(np.asarray(theta, dtype=np.float64)):
        sol = solve_ivp(
            _lv_rhs,
            (0.0, 20.0),
            [30.0, 1.0],
            t_eval=times,
            args=tuple(p),
            method="LSODA",
            rtol=1e-6,
            atol=1e-8,
        )
        if sol.success and sol.y.shape[1] == len(times):
            out[k] = sol.y.reshape(-1)
    ok = np.isfinite(out).all(axis=1)
    data = np.full_like(out, np.nan)
    mean = np.log(np.clip(out[ok], 1e-10, 1e4))
    data[ok] = np.exp(mean + 0.1 * rng.standard_normal(mean.shape))
    return data


def _two_moons(theta, rng):
    return models.TwoMoons().simulator(theta, rng)


def _slcp(theta, rng):
    return models.SLCP().simulator(theta, rng)


class SBIBMTask:
    def __init__(self, name, label, prior, simulator, bounds):
        self.name, self.label = name, label
        self.prior, self.simulator, self.bounds = prior, simulator, bounds

    def _files(self, i):
        return SBIBM_DIR / self.name / "files" / f"num_observation_{i}"

    def observation(self, i) -> np.ndarray:
        """Observation ``i`` as a ``(1, dim_data)`` array."""
        path = self._files(i) / "observation.csv"
        return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)

    def reference(self, i) -> np.ndarray:
        """The benchmark's 10,000 reference posterior draws for observation ``i``."""
        path = self._files(i) / "reference_posterior_samples.csv.bz2"
        with bz2.open(path, "rt") as f:
            return np.loadtxt(f, delimiter=",", skiprows=1)


TASKS = {
    "two_moons": SBIBMTask(
        "two_moons",
        "two moons",
        BoxPrior([-1, -1], [1, 1]),
        _two_moons,
        [(-1.0, 1.0)] * 2,
    ),
    "slcp": SBIBMTask(
        "slcp", "SLCP", BoxPrior([-3] * 5, [3] * 5), _slcp, [(-3.0, 3.0)] * 5
    ),
    "sir": SBIBMTask(
        "sir",
        "SIR",
        LogNormalPrior([np.log(0.4), np.log(0.125)], [0.5, 0.2]),
        sir_simulator,
        [(0.0, None)] * 2,
    ),
    "lotka_volterra": SBIBMTask(
        "lotka_volterra",
        "Lotka-Volterra",
        LogNormalPrior([-0.125, -3.0, -0.125, -3.0], [0.5] * 4),
        lv_simulator,
        [(0.0, None)] * 4,
    ),
}
