"""Throughput of the vectorised MCMC kernels on a batch of 2-D Gaussian targets.

Draws 1,000 samples for each of 100 data sets (10 chains each, 200 warm-up steps)
with every method and prints kept samples per second, warm-up included.

Run with ``python benchmarks/mcmc_throughput.py``.
"""

from __future__ import annotations

import time

import torch

from skamortise.inference import sample_mcmc

N_DATASETS = 100
N_SAMPLES = 1_000
N_CHAINS = 10
WARMUP = 200


def make_target(generator: torch.Generator):
    """Correlated 2-D Gaussians with a different mean and covariance per data set."""
    means = 3.0 * torch.randn(N_DATASETS, 2, generator=generator, dtype=torch.float64)
    factor = torch.randn(N_DATASETS, 2, 2, generator=generator, dtype=torch.float64)
    covs = factor @ factor.transpose(1, 2) + 0.1 * torch.eye(2, dtype=torch.float64)
    target = torch.distributions.MultivariateNormal(means[:, None], covs[:, None])
    return target.log_prob, means


def main() -> None:
    torch.set_num_threads(1)
    log_fn, means = make_target(torch.Generator().manual_seed(0))
    init = means[:, None, :].expand(-1, N_CHAINS, -1).clone()
    for method in ("slice", "rwm"):
        start = time.perf_counter()
        result = sample_mcmc(
            log_fn,
            init,
            N_SAMPLES,
            method=method,
            n_chains=N_CHAINS,
            warmup=WARMUP,
            generator=1,
        )
        elapsed = time.perf_counter() - start
        rate = N_DATASETS * N_SAMPLES / elapsed
        # The worst parameter of each data set, summed over data sets.
        ess_rate = result.ess.min(axis=1).sum() / elapsed
        print(
            f"{method:>5}: {elapsed:6.2f} s, {rate:9.0f} samples/s, "
            f"{ess_rate:8.0f} effective samples/s, "
            f"max R-hat {result.rhat.max():.3f}"
        )


if __name__ == "__main__":
    main()
