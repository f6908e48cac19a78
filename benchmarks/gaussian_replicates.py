"""Point and quantile estimators against the exact posterior of the conjugate model.

One network is trained across replicate counts m = 1..100 (``fit_simulator`` with
fresh simulations every epoch) and evaluated on held-out data sets at m = 1, 10, 100:

- point: squared-error risk of the network divided by the risk of the exact posterior
  mean (the Bayes limit), per parameter and m; training time; estimates per second;
- quantile: mean absolute error of each predicted quantile against the exact one, and
  the empirical coverage of the central 90% and 95% intervals.

Run: python benchmarks/gaussian_replicates.py point|quantile [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import skamortise
from skamortise import NeuralBayesEstimator, NeuralQuantileEstimator, simulate
from skamortise.models import GaussianReplicates

RESULTS = Path(__file__).parent / "results"
LEVELS = (0.025, 0.05, 0.5, 0.95, 0.975)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"torch {torch.__version__}, skamortise {skamortise.__version__}"
    )


def test_sets(model, n_test, counts=(1, 10, 100), seed=123):
    return {
        m: simulate(
            model.prior, model.simulator, n_test, n_replicates=m, random_state=seed + m
        )
        for m in counts
    }


def train(estimator, model, n_simulations):
    start = time.perf_counter()
    estimator.fit_simulator(
        model.prior,
        model.simulator,
        n_simulations,
        n_replicates=range(1, 101),
        refresh="parameters",
    )
    return time.perf_counter() - start


def run_point(model, args):
    est = NeuralBayesEstimator(n_iter_no_change=args.patience, random_state=0)
    seconds = train(est, model, args.n_simulations)
    rows = []
    for m, (X, y) in test_sets(model, args.n_test, args.m).items():
        start = time.perf_counter()
        neural = est.predict(X)
        rate = len(X) / (time.perf_counter() - start)
        exact = model.posterior_mean(X)
        ratio = ((neural - y) ** 2).mean(0) / ((exact - y) ** 2).mean(0)
        rows.append(
            {
                "m": m,
                "risk_ratio_mu": ratio[0],
                "risk_ratio_sigma": ratio[1],
                "estimates_per_s": rate,
            }
        )
    return est, seconds, rows


def run_quantile(model, args):
    est = NeuralQuantileEstimator(
        quantiles=LEVELS,
        bounds=model.bounds,
        n_iter_no_change=args.patience,
        random_state=0,
    )
    seconds = train(est, model, args.n_simulations)
    rows = []
    for m, (X, y) in test_sets(model, args.n_test, args.m).items():
        q = est.predict_quantiles(X)
        exact = model.posterior_quantile(X, LEVELS)
        row = {"m": m}
        for j, name in enumerate(model.parameter_names):
            row[f"mae_{name}"] = np.abs(q[:, j] - exact[:, j]).mean()
            for level, (lo, hi) in {90: (1, 3), 95: (0, 4)}.items():
                inside = (q[:, j, lo] < y[:, j]) & (y[:, j] < q[:, j, hi])
                exact_inside = (exact[:, j, lo] < y[:, j]) & (y[:, j] < exact[:, j, hi])
                row[f"cover{level}_{name}"] = inside.mean()
                row[f"exact_cover{level}_{name}"] = exact_inside.mean()
        rows.append(row)
    return est, seconds, rows


def table(rows) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        lines.append(
            "| "
            + " | ".join(
                f"{row[k]:.4g}" if isinstance(row[k], float) else str(row[k])
                for k in keys
            )
            + " |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=["point", "quantile"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--n-simulations",
        type=int,
        default=20_000,
        help="fresh training simulations per epoch",
    )
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument(
        "--m",
        type=int,
        nargs="+",
        default=[1, 10, 100],
        help="replicate counts of the test sets",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=10,
        help="n_iter_no_change (fresh data every epoch: no overfitting)",
    )
    args = parser.parse_args()
    if args.quick:
        args.n_simulations, args.n_test = 2_000, 1_000
    model = GaussianReplicates()
    runner = run_point if args.family == "point" else run_quantile
    est, seconds, rows = runner(model, args)
    budget = (
        ""
        if args.quick or args.n_simulations == 20_000
        else f" --n-simulations {args.n_simulations}"
    )
    text = (
        f"### {args.family} estimator, Gaussian replicates (m = 1..100, one network)"
        f"\n\nCommand: `python benchmarks/gaussian_replicates.py {args.family}"
        f"{' --quick' if args.quick else ''} --patience {args.patience}"
        f"{budget}"
        f"{'' if args.m == [1, 10, 100] else ' --m ' + ' '.join(map(str, args.m))}` "
        f"({args.n_simulations} fresh "
        f"simulations per epoch, {est.n_epochs_} epochs, best epoch "
        f"{est.best_epoch_}; {args.n_test} test data sets per m)\n\n"
        f"Machine: {machine()}; n_threads=1.\n\nTraining time: {seconds:.0f} s\n\n"
        f"{table(rows)}\n"
    )
    print(text)
    suffix = "_quick" if args.quick else ""
    (RESULTS / f"{args.family}{suffix}.md").write_text(text)
    (RESULTS / f"{args.family}{suffix}.json").write_text(
        json.dumps(
            {"seconds": seconds, "epochs": est.n_epochs_, "rows": rows},
            default=float,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
