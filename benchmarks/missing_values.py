"""Missing values: one masked network against the exact posterior at several rates.

Gaussian replicates (conjugate normal-inverse-gamma prior) lose replicates
completely at random at a rate drawn per data set (``MissingCompletelyAtRandom``);
one point network and one quantile network, each trained once with
``missing="mask"`` on fresh simulations every epoch, are evaluated on held-out data
sets of ``m = 20`` replicates missing exactly 0%, 10%, 25% and 50% of them, against
the exact posterior given the observed replicates. Training draws the rate from
U(0, 0.6) and the recorded count from 16..24 (``--train-rates``, ``--train-m``), so
that the observed counts of the test sets (10 to 20) lie inside the training range
rather than at its edges, where networks are least accurate:

- point: squared-error risk divided by that of the exact posterior mean;
- quantile: empirical coverage of the central 90% interval (5% and 95% quantiles),
  next to the coverage of the exact interval on the same data sets.

Run: python benchmarks/missing_values.py point|quantile [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from gaussian_replicates import machine, table

from skamortise import NeuralBayesEstimator, NeuralQuantileEstimator
from skamortise.models import GaussianReplicates
from skamortise.simulation import MissingCompletelyAtRandom

RESULTS = Path(__file__).parent / "results"
RATES = (0.0, 0.1, 0.25, 0.5)
LEVELS = (0.05, 0.5, 0.95)


def observed(X) -> list:
    """Each data set's observed replicates (the exact posterior conditions on them)."""
    return [x[~np.isnan(x).all(axis=1)] for x in X]


def test_sets(model, n_test, m, seed=123):
    sets = {}
    for k, rate in enumerate(RATES):
        rng = np.random.default_rng(seed + k)
        theta = model.prior(n_test, rng)
        X = MissingCompletelyAtRandom(model.simulator, rate=rate)(
            theta, rng, n_replicates=m
        )
        sets[rate] = (X, theta)
    return sets


def train(estimator, model, args):
    start = time.perf_counter()
    low, high = args.train_m
    estimator.fit_simulator(
        model.prior,
        MissingCompletelyAtRandom(model.simulator, rate=tuple(args.train_rates)),
        args.n_simulations,
        n_replicates=range(low, high + 1),
        refresh="parameters",
    )
    return time.perf_counter() - start


def run_point(model, args):
    est = NeuralBayesEstimator(
        missing="mask", n_iter_no_change=args.patience, random_state=0
    )
    seconds = train(est, model, args)
    rows = []
    for rate, (X, y) in test_sets(model, args.n_test, args.m).items():
        neural = est.predict(X)
        exact = model.posterior_mean(observed(X))
        ratio = ((neural - y) ** 2).mean(0) / ((exact - y) ** 2).mean(0)
        rows.append(
            {"rate": rate, "risk_ratio_mu": ratio[0], "risk_ratio_sigma": ratio[1]}
        )
    return est, seconds, rows


def run_quantile(model, args):
    est = NeuralQuantileEstimator(
        quantiles=LEVELS,
        bounds=model.bounds,
        missing="mask",
        n_iter_no_change=args.patience,
        random_state=0,
    )
    seconds = train(est, model, args)
    rows = []
    for rate, (X, y) in test_sets(model, args.n_test, args.m).items():
        q = est.predict_quantiles(X)
        exact = model.posterior_quantile(observed(X), LEVELS)
        row = {"rate": rate}
        for j, name in enumerate(model.parameter_names):
            inside = (q[:, j, 0] < y[:, j]) & (y[:, j] < q[:, j, 2])
            exact_inside = (exact[:, j, 0] < y[:, j]) & (y[:, j] < exact[:, j, 2])
            row[f"cover90_{name}"] = inside.mean()
            row[f"exact_cover90_{name}"] = exact_inside.mean()
            row[f"mae_median_{name}"] = np.abs(q[:, j, 1] - exact[:, j, 1]).mean()
        rows.append(row)
    return est, seconds, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=["point", "quantile"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-simulations", type=int, default=20_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--m", type=int, default=20, help="replicates per test set")
    parser.add_argument(
        "--train-rates",
        type=float,
        nargs=2,
        default=[0.0, 0.6],
        metavar=("LOW", "HIGH"),
    )
    parser.add_argument(
        "--train-m", type=int, nargs=2, default=[16, 24], metavar=("LOW", "HIGH")
    )
    parser.add_argument("--patience", type=int, default=10)
    args = parser.parse_args()
    if args.quick:
        args.n_simulations, args.n_test = 2_000, 1_000
    model = GaussianReplicates()
    runner = run_point if args.family == "point" else run_quantile
    est, seconds, rows = runner(model, args)
    command = (
        f"python benchmarks/missing_values.py {args.family}"
        f"{' --quick' if args.quick else ''} --n-simulations {args.n_simulations} "
        f"--n-test {args.n_test} --m {args.m} --patience {args.patience} "
        f"--train-rates {args.train_rates[0]:g} {args.train_rates[1]:g} "
        f"--train-m {args.train_m[0]} {args.train_m[1]}"
    )
    text = (
        f"### {args.family} estimator, Gaussian replicates missing at random "
        f"(test m = {args.m}; training rates U({args.train_rates[0]:g}, "
        f"{args.train_rates[1]:g}), m = {args.train_m[0]}..{args.train_m[1]}; "
        "one network)\n\n"
        f"Command: `{command}` ({est.n_epochs_} epochs, best epoch "
        f"{est.best_epoch_}; {args.n_test} test data sets per rate)\n\n"
        f"Machine: {machine()}; n_threads=1.\n\nTraining time: {seconds:.0f} s\n\n"
        f"{table(rows)}\n"
    )
    print(text)
    suffix = "_quick" if args.quick else ""
    name = f"missing_{args.family}{suffix}"
    (RESULTS / f"{name}.md").write_text(text)
    (RESULTS / f"{name}.json").write_text(
        json.dumps(
            {"seconds": seconds, "epochs": est.n_epochs_, "rows": rows},
            default=float,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
