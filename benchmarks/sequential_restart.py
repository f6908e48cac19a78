"""A variant of skamortise's TSNPE that is measured here but not the package's default.

Variant "restart": every round after the first trains a new network (no warm start)
on all simulations so far, with data and parameters standardised by the newest
round's simulations (those drawn from the current region) instead of the first
round's. The package's rounds continue the first round's network and keep its
standardisation (sbi's TSNPE does the same). The variant is built here by replacing
two internals for the run (the round's training source and the table moments); the
package is unchanged.

Two measurements:

- ``task obs seed sims``: C2ST of the variant on an SBI benchmark task (10,000 draws
  against the benchmark's 10,000 reference draws, as ``sequential.py`` scores them),
  appended to ``results/sequential_restart.jsonl``;
- ``--toy``: the spread of the focused posterior on the Gaussian model of
  ``tests/test_sequential.py`` (exact posterior known), per training seed, for the
  package's rounds and the variant (``--toy`` takes the number of seeds).

    OMP_NUM_THREADS=1 python benchmarks/sequential_restart.py lotka_volterra 1 0 10000
    OMP_NUM_THREADS=1 python benchmarks/sequential_restart.py --toy 6
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings

import numpy as np
import torch
from scipy import stats
from sequential import N_DRAWS, RESTART, SAMPLE_SEED, score
from threadpoolctl import threadpool_limits

from skamortise import NeuralPosteriorEstimator, _tables
from skamortise.sequential import _rounds


@contextlib.contextmanager
def restart_variant():
    """Rounds from a new network, standardised by the newest round's simulations."""
    state = {"n": 0, "newest": None}
    source, moments = _rounds._RoundSource, _tables.ArrayTable.moments

    class RestartSource(source):
        def __init__(self, X, y, proposal, first):
            newest = len(y) - state["n"]
            state["n"], state["newest"] = len(y), np.asarray(y[-newest:])
            super().__init__(X, y, proposal, first)

        def open(self, estimator, rng):
            training = super().open(estimator, rng)
            training.continue_training = False
            return training

    def newest_moments(table, to_training_space):
        newest = state["newest"]
        if newest is not None and len(newest) < len(table.y):
            keys = {row.tobytes() for row in newest}
            rows = [i for i, row in enumerate(table.y) if row.tobytes() in keys]
            return moments(table.take(np.asarray(rows)), to_training_space)
        return moments(table, to_training_space)

    _rounds._RoundSource, _tables.ArrayTable.moments = RestartSource, newest_moments
    try:
        yield
    finally:
        _rounds._RoundSource, _tables.ArrayTable.moments = source, moments


def task_run(name, obs, seed, sims):
    from _sbibm_tasks import TASKS

    task = TASKS[name]
    x_obs = task.observation(obs)
    est = NeuralPosteriorEstimator(bounds=task.bounds, random_state=seed)
    with restart_variant(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit_sequential(
            task.prior, task.simulator, x_obs, n_simulations=sims, on_error="drop"
        )
    draws = est.sample(x_obs, N_DRAWS, random_state=SAMPLE_SEED)[0]
    record = {
        "task": name,
        "obs": obs,
        "seed": seed,
        "sims": sims,
        "variant": "restart",
        "c2st": score(task, obs, draws),
        "acceptance": est.acceptance_rates_.tolist(),
    }
    with RESTART.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


# The Gaussian model of tests/test_sequential.py: theta ~ N(0, 3^2 I), x = theta +
# 0.1 noise; the posterior's standard deviation is 0.1 * sqrt(9 / 9.01).
PRIOR_SD, NOISE_SD = 3.0, 0.1
POST_SD = NOISE_SD * np.sqrt(PRIOR_SD**2 / (PRIOR_SD**2 + NOISE_SD**2))
X_OBS = np.array([[2.0, -1.0]])


def _toy_simulator(theta, rng):
    return theta + NOISE_SD * rng.standard_normal(theta.shape)


def toy(n_seeds):
    prior = stats.multivariate_normal(np.zeros(2), PRIOR_SD**2 * np.eye(2))
    for label, variant in (
        ("package", contextlib.nullcontext),
        ("restart", restart_variant),
    ):
        ratios = []
        for seed in range(1, n_seeds + 1):
            est = NeuralPosteriorEstimator(
                "maf", hidden_layer_sizes=(64, 64), random_state=0
            )
            with variant(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit_sequential(
                    prior,
                    _toy_simulator,
                    X_OBS,
                    n_simulations=600,
                    n_rounds=3,
                    random_state=seed,
                )
            draws = est.sample(X_OBS, 4000, random_state=0)[0]
            ratios.append(draws.std(axis=0) / POST_SD)
        ratios = np.array(ratios)
        print(
            f"{label}: posterior sd / exact, mean over {n_seeds} seeds "
            f"{np.round(ratios.mean(axis=0), 3)}, per seed "
            f"{np.round(ratios.mean(axis=1), 2)}",
            flush=True,
        )


if __name__ == "__main__":
    torch.set_num_threads(1)
    with threadpool_limits(1):
        if sys.argv[1] == "--toy":
            toy(int(sys.argv[2]))
        else:
            task_run(sys.argv[1], *map(int, sys.argv[2:5]))
