"""Held-out quality of a learned log ratio, skamortise against sbi's default NRE.

The score of a classifier is the mean log softmax probability of the dependent
parameter among itself and 9 parameters of other held-out pairs (the NRE-B objective,
sbi's training loss), on 4,000 held-out pairs of the benchmark's simulation pool
(pairs after the training budget). It is unchanged by adding any function of the data
to the logit, so it compares an exactly normalised ratio (skamortise) with sbi's
unnormalised one; higher is better, chance is log(1/10) = -2.303. Unlike the C2ST of
one observation it averages over thousands of data sets, so differences of 0.01
between configurations trained on the same simulations are meaningful.

    python benchmarks/nre_heldout_score.py --task two_moons --sims 1000 --seeds 0 1
    python benchmarks/nre_heldout_score.py --ska-kwargs '{"activation": "silu"}'
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import torch
from _common import TASKS, log, sbi_log_directory, simulations, torch_threads

from skamortise import NeuralRatioEstimator

N_HELD_OUT = 4000
N_CONTRASTS = 9


def contrasts(y_test, seed=0):
    """``(m, 1 + N_CONTRASTS, p)``: each pair's parameter, then others'."""
    rng = np.random.default_rng(seed)
    m = len(y_test)
    index = (np.arange(m)[:, None] + rng.integers(1, m, (m, N_CONTRASTS))) % m
    return np.concatenate([y_test[:, None], y_test[index]], axis=1)


def softmax_score(logits) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    return float(np.mean(logits[:, 0] - np.logaddexp.reduce(logits, axis=1)))


def score_skamortise(task, X, y, X_test, thetas, seed, kwargs):
    est = NeuralRatioEstimator(bounds=task.bounds, random_state=seed, **kwargs)
    est.fit(X, y)
    return softmax_score(est.log_ratio(X_test, thetas)), est.n_epochs_


def score_sbi(task, X, y, X_test, thetas, seed):
    from sbi.inference import NRE

    with torch_threads(1):
        torch.manual_seed(seed)
        with sbi_log_directory():
            inference = NRE(prior=task.sbi_prior(), show_progress_bars=False)
        net = inference.append_simulations(
            torch.as_tensor(y, dtype=torch.float32),
            torch.as_tensor(X, dtype=torch.float32),
        ).train()
        m, k, p = thetas.shape
        with torch.no_grad():
            logits = net.unnormalized_log_ratio(
                torch.as_tensor(thetas.reshape(m * k, p), dtype=torch.float32),
                torch.as_tensor(np.repeat(X_test, k, axis=0), dtype=torch.float32),
            )
    return softmax_score(logits.numpy().reshape(m, k)), int(
        inference._summary["epochs_trained"][-1]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="two_moons", choices=list(TASKS))
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--ska-kwargs", type=json.loads, default={})
    parser.add_argument("--no-sbi", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    task = TASKS[args.task]
    X, y = simulations(task, 10000, 10000)
    X_test = X[args.sims : args.sims + N_HELD_OUT]
    thetas = contrasts(y[args.sims : args.sims + N_HELD_OUT])
    X, y = X[: args.sims], y[: args.sims]
    for seed in args.seeds:
        value, epochs = score_skamortise(
            task, X, y, X_test, thetas, seed, args.ska_kwargs
        )
        log(
            f"{args.task} n={args.sims} seed={seed} skamortise "
            f"{json.dumps(args.ska_kwargs)}: score {value:.4f} ({epochs} epochs)"
        )
        if not args.no_sbi:
            value, epochs = score_sbi(task, X, y, X_test, thetas, seed)
            log(
                f"{args.task} n={args.sims} seed={seed} sbi: score {value:.4f} "
                f"({epochs} epochs)"
            )


if __name__ == "__main__":
    main()
