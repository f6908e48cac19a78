"""Coverage of bootstrap intervals on the Gaussian replicates model.

One :class:`~skamortise.NeuralBayesEstimator` (squared loss, so it approximates the
posterior mean) is trained for every replicate count ``m`` in 1..100 at once. For
``m`` = 10, 30 and 100, data sets are drawn from the prior, and both bootstraps
(parametric and nonparametric) give 90% intervals for ``mu`` and ``sigma`` around

- the neural estimator, and
- the exact Bayes estimator, the closed-form posterior mean, as the yardstick.

Both estimators are bootstrapped with the same ``random_state``, so their bootstrap
noise is shared and the difference in coverage is measured more precisely than
either coverage. Interval kinds: ``percentile``, ``basic``, ``bc`` (bias-corrected
percentile) and, for the parametric bootstrap, ``rescaled`` (the basic interval
mapped back through the estimator's Jacobian, ``jacobian=True``, which costs two
more bootstraps here; the wall times include them).

Usage::

    python benchmarks/bootstrap_coverage.py            # 2,000 data sets, ~15 min
    python benchmarks/bootstrap_coverage.py --quick    # smoke run, ~1-2 min
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from scipy import stats

from skamortise import NeuralBayesEstimator
from skamortise.bootstrap import bootstrap
from skamortise.models import GaussianReplicates

MODEL = GaussianReplicates()
KINDS = ("percentile", "basic", "bc", "rescaled")
METHODS = ("parametric", "nonparametric")
ALPHA = 0.10


class ExactPosteriorMean:
    """The Bayes estimator under squared error, in closed form."""

    def predict(self, X):
        return MODEL.posterior_mean(X)


def train(n_simulations: int, max_epochs: int, seed: int) -> NeuralBayesEstimator:
    estimator = NeuralBayesEstimator(
        hidden_layer_sizes=(64, 64),
        activation="silu",
        learning_rate=2e-3,
        batch_size=256,
        max_epochs=max_epochs,
        n_iter_no_change=20,
        random_state=seed,
        n_threads=1,
    )
    # Fresh simulations every epoch; a fixed validation set for early stopping.
    return estimator.fit_simulator(
        MODEL.prior,
        MODEL.simulator,
        n_simulations,
        n_replicates=range(1, 101),
        refresh="parameters",
        n_validation=max(1000, n_simulations // 4),
    )


def coverage_rows(result, theta, m, method, name):
    rows = []
    for kind in KINDS:
        if kind == "rescaled" and result.jacobian is None:
            continue
        bounds = result.interval(alpha=ALPHA, kind=kind)
        covered = (bounds[..., 0] <= theta) & (theta <= bounds[..., 1])
        width = bounds[..., 1] - bounds[..., 0]
        for j, parameter in enumerate(MODEL.parameter_names):
            rows.append(
                dict(
                    m=m,
                    method=method,
                    kind=kind,
                    estimator=name,
                    parameter=parameter,
                    coverage=covered[:, j].mean(),
                    width=width[:, j].mean(),
                )
            )
    return rows


def markdown(table: pd.DataFrame) -> str:
    lines = [
        "| " + " | ".join(map(str, table.columns)) + " |",
        "|" + "---|" * len(table.columns),
    ]
    for row in table.itertuples(index=False):
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--n-datasets", type=int, default=None)
    parser.add_argument("--n-boot", type=int, default=None)
    parser.add_argument("--n-simulations", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n_datasets = args.n_datasets or (200 if args.quick else 2000)
    n_boot = args.n_boot or (100 if args.quick else 400)
    n_simulations = args.n_simulations or (5000 if args.quick else 20000)
    max_epochs = args.max_epochs or (10 if args.quick else 150)

    print(
        f"{os.cpu_count()} CPUs; {n_datasets} data sets per m, n_boot={n_boot}, "
        f"{int(100 * (1 - ALPHA))}% intervals"
    )
    start = time.perf_counter()
    neural = train(n_simulations, max_epochs, args.seed)
    print(
        f"trained in {time.perf_counter() - start:.0f} s: {neural.n_epochs_} epochs "
        f"of {n_simulations} fresh simulations (best epoch {neural.best_epoch_})"
    )
    estimators = {"neural": neural, "exact": ExactPosteriorMean()}

    rng = np.random.default_rng(args.seed + 1)
    rows, accuracy, timing = [], [], []
    for m in (10, 30, 100):
        theta = MODEL.prior(n_datasets, rng)
        X = MODEL.simulator(theta, rng, n_replicates=m)
        # Reference for mu: the exact t interval on the same data sets, which shows
        # how far this draw of data sets moves any coverage from 90%.
        xbar, sd = X[..., 0].mean(axis=1), X[..., 0].std(axis=1, ddof=1)
        half = stats.t.ppf(1 - ALPHA / 2, m - 1) * sd / np.sqrt(m)
        t_cover = (np.abs(xbar - theta[:, 0]) <= half).mean()
        exact, approx = MODEL.posterior_mean(X), neural.predict(X)
        posterior_sd = MODEL.posterior_sample(X, 200, rng).std(axis=1)
        ratio = np.sqrt(((approx - exact) ** 2).mean(0) / (posterior_sd**2).mean(0))
        entry = {
            f"{p}: RMSE(neural - exact) / posterior sd": r
            for p, r in zip(MODEL.parameter_names, ratio, strict=True)
        }
        entry["mu: exact t interval coverage (%)"] = f"{100 * t_cover:.1f}"
        accuracy.append(dict(m=m, **entry))
        for method in METHODS:
            for name, estimator in estimators.items():
                tic = time.perf_counter()
                result = bootstrap(
                    estimator,
                    X,
                    method,
                    n_boot,
                    simulator=MODEL.simulator,
                    batch_size=4000,
                    jacobian=method == "parametric",
                    random_state=1000 * m + len(method),
                )
                timing.append(
                    dict(
                        m=m,
                        method=method,
                        estimator=name,
                        seconds=time.perf_counter() - tic,
                    )
                )
                rows.extend(coverage_rows(result, theta, m, method, name))
        print(f"m={m} done at {time.perf_counter() - start:.0f} s")

    frame = pd.DataFrame(rows)
    wide = frame.pivot_table(
        index=["method", "m", "kind"],
        columns=["parameter", "estimator"],
        values="coverage",
    )
    widths = frame.pivot_table(
        index=["method", "m", "kind"],
        columns=["parameter", "estimator"],
        values="width",
    )
    print()
    print(
        f"Coverage (%) of {int(100 * (1 - ALPHA))}% intervals, {n_datasets} data "
        f"sets per m, n_boot={n_boot} (Monte Carlo s.e. of one coverage ~"
        f"{100 * np.sqrt(ALPHA * (1 - ALPHA) / n_datasets):.1f} points)"
    )
    for method in METHODS:
        table = []
        for (_, m, kind), row in wide.loc[[method]].iterrows():
            entry = {"m": m, "kind": kind}
            for p in MODEL.parameter_names:
                n_cov, e_cov = 100 * row[(p, "neural")], 100 * row[(p, "exact")]
                entry[f"{p} neural"] = n_cov
                entry[f"{p} exact"] = e_cov
                entry[f"{p} diff"] = n_cov - e_cov
            for p in MODEL.parameter_names:
                w = widths.loc[(method, m, kind)]
                entry[f"{p} width ratio"] = w[(p, "neural")] / w[(p, "exact")]
            table.append(entry)
        table = pd.DataFrame(table)
        table["kind"] = pd.Categorical(table["kind"], KINDS)
        table = table.sort_values(["m", "kind"])
        for p in MODEL.parameter_names:
            table[f"{p} width ratio"] = table[f"{p} width ratio"].map("{:.2f}".format)
        print(f"\n{method} bootstrap\n")
        print(markdown(table))
    print("\nNeural estimator accuracy, and a reference coverage for mu\n")
    print(
        markdown(
            pd.DataFrame(accuracy).map(
                lambda v: f"{v:.3f}" if isinstance(v, float) else v
            )
        )
    )
    print("\nBootstrap wall time (s), single process\n")
    times = pd.DataFrame(timing).pivot_table(
        index=["method", "m"], columns="estimator", values="seconds"
    )
    print(
        markdown(
            times.reset_index().map(lambda v: f"{v:.1f}" if isinstance(v, float) else v)
        )
    )
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
