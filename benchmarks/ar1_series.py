"""Series summary networks against the exact posterior of a stationary AR(1) model.

Model: ``skamortise.models.AR1`` (``phi ~ Uniform(-0.95, 0.95)``, known ``sigma = 1``,
stationary start), whose posterior is exact on a 5,000-cell grid. For each summary
network (``"rnn"``, ``"tcn"``) and family, ONE network is trained across lengths
50..200: ``fit_simulator`` draws fresh series every epoch, each with its length drawn
uniformly from 50..200 (a ragged list, masked). It is evaluated on 10,000 held-out
series at each length 50, 100 and 200 (the same series for every network):

- point (``NeuralBayesEstimator``, squared error): the risk ratio, the network's
  mean squared error divided by that of the exact posterior mean (the Bayes risk),
  with its Monte Carlo s.e. (of the excess loss, paired by series);
- quantile (``NeuralQuantileEstimator``, levels 0.05 / 0.5 / 0.95, ``bounds`` the
  prior's support): the coverage of the central 90% interval, the exact interval's
  coverage on the same series (its Monte Carlo s.e. is 0.3 points), and the mean
  absolute error of each quantile against the exact one.

Training time is reported as wall time and as the process's CPU time (on a shared
machine the CPU time is the steadier number).

Run: python benchmarks/ar1_series.py [--networks rnn tcn] [--families point quantile]
Each run is merged into benchmarks/results/ar1.json and rendered to
benchmarks/results/ar1.md; then python benchmarks/collect.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import machine_info, machine_markdown

from skamortise import NeuralBayesEstimator, NeuralQuantileEstimator, simulate
from skamortise.models import AR1

RESULTS = Path(__file__).parent / "results"
LEVELS = (0.05, 0.5, 0.95)
TRAIN_LENGTHS = range(50, 201)
TEST_SEED = 2024


def machine() -> dict:
    info = machine_info()
    info["nproc"] = os.cpu_count()  # `nproc` reports OMP_NUM_THREADS=1 as 1 core
    return info


def test_sets(model, lengths, n_test):
    """Held-out series and their exact posterior mean and quantiles, per length."""
    sets = {}
    for n_times in lengths:
        X, y = simulate(
            model.prior,
            model.simulator,
            n_test,
            simulator_kwargs={"n_times": n_times},
            random_state=TEST_SEED + n_times,
        )
        sets[n_times] = {
            "X": X,
            "y": y,
            "mean": model.posterior_mean(X),
            "quantiles": model.posterior_quantile(X, LEVELS),
        }
    return sets


def make_estimator(family, network, args, model):
    common = dict(
        summary_network=network,
        summary_network_kwargs=NETWORK_KWARGS[network],
        activation=args.activation,
        batch_size=args.batch_size,
        n_iter_no_change=args.patience,
        max_epochs=args.max_epochs,
        random_state=0,
    )
    if family == "point":
        return NeuralBayesEstimator(**common)
    return NeuralQuantileEstimator(quantiles=LEVELS, bounds=model.bounds, **common)


def evaluate(family, est, sets):
    rows = []
    for n_times, s in sets.items():
        y = s["y"][:, 0]
        if family == "point":
            estimate = est.predict(s["X"])[:, 0]
            # Paired by series: the excess loss over the Bayes estimator's, whose
            # mean and s.e. relative to the Bayes risk give the ratio and its s.e.
            excess = (estimate - y) ** 2 - (s["mean"][:, 0] - y) ** 2
            bayes = np.mean((s["mean"][:, 0] - y) ** 2)
            rows.append(
                {
                    "n_times": n_times,
                    "risk_ratio": 1 + excess.mean() / bayes,
                    "risk_ratio_se": excess.std() / np.sqrt(len(y)) / bayes,
                }
            )
            continue
        q, exact = est.predict_quantiles(s["X"])[:, 0], s["quantiles"][:, 0]
        row = {
            "n_times": n_times,
            "coverage90": np.mean((q[:, 0] < y) & (y < q[:, 2])),
            "exact_coverage90": np.mean((exact[:, 0] < y) & (y < exact[:, 2])),
        }
        for k, level in enumerate(LEVELS):
            row[f"mae_q{round(100 * level):02d}"] = np.mean(
                np.abs(q[:, k] - exact[:, k])
            )
        rows.append(row)
    return rows


def run(family, network, args, model, sets):
    est = make_estimator(family, network, args, model)
    wall, cpu = time.perf_counter(), time.process_time()
    est.fit_simulator(
        model.prior,
        model.simulator,
        args.n_simulations,
        simulator_kwargs={"n_times": TRAIN_LENGTHS},
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "command": " ".join(["python benchmarks/ar1_series.py", *sys.argv[1:]]),
        "family": family,
        "network": network,
        "network_kwargs": NETWORK_KWARGS[network],
        "activation": args.activation,
        "n_simulations": args.n_simulations,
        "batch_size": args.batch_size,
        "patience": args.patience,
        "epochs": est.n_epochs_,
        "best_epoch": est.best_epoch_,
        "train_wall_s": wall,
        "train_cpu_s": cpu,
        "load_average": os.getloadavg()[0],
        "n_test": args.n_test,
        "rows": evaluate(family, est, sets),
    }


# The encoders benchmarked; the MLP after them is the estimators' default (64, 64).
NETWORK_KWARGS = {"rnn": {"hidden_size": 64}, "tcn": {"channels": (32, 32, 32)}}


def fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def table(rows) -> list[str]:
    keys = list(dict.fromkeys(k for row in rows for k in row))  # older runs: fewer
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += [
        "| " + " | ".join(fmt(row.get(k, "")) for k in keys) + " |" for row in rows
    ]
    return lines


def render(results: dict, machine_line: str) -> str:
    n_test = min(r["n_test"] for r in results.values())
    lines = [
        "### AR(1) series: recurrent and convolutional summaries vs the exact "
        "posterior",
        "",
        "Commands: "
        + "; ".join(sorted({f"`{r['command']}`" for r in results.values()})),
        "",
        machine_line.strip(),
        "n_threads=1; the load average at the end of each training is in the table.",
        "",
        "One network per row of the first table, trained across lengths 50..200 "
        "(fresh simulations every epoch, a length drawn uniformly per series), "
        f"evaluated on {n_test:,} held-out series per length. risk_ratio_se is "
        "the Monte Carlo s.e. of the risk ratio (the excess loss over the exact "
        "posterior mean's, paired by series); a 90% coverage has a s.e. of "
        f"{100 * np.sqrt(0.09 / n_test):.1f} points.",
        "",
        "| network | family | encoder, activation | sims/epoch | epochs (best) "
        "| train wall s | train CPU s | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        lines.append(
            f"| {r['network']} | {r['family']} | {r['network_kwargs']}, "
            f"{r['activation']} | "
            f"{r['n_simulations']} | {r['epochs']} ({r['best_epoch']}) | "
            f"{r['train_wall_s']:.0f} | {r['train_cpu_s']:.0f} | "
            f"{r['load_average']:.1f} |"
        )
    for family in ("point", "quantile"):
        rows = [
            {"network": r["network"], **row}
            for r in results.values()
            if r["family"] == family
            for row in r["rows"]
        ]
        if rows:
            lines += ["", f"{family}:", "", *table(rows)]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["rnn", "tcn"])
    parser.add_argument("--families", nargs="+", default=["point", "quantile"])
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--n-simulations", type=int, default=20_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--activation", default="silu")
    parser.add_argument("--quick", action="store_true", help="smoke run, no files")
    args = parser.parse_args()
    if args.quick:
        args.n_simulations, args.n_test, args.max_epochs = 500, 200, 2
    torch.set_num_threads(1)
    model = AR1()
    sets = test_sets(model, args.lengths, args.n_test)
    path = RESULTS / "ar1.json"
    for network in args.networks:
        for family in args.families:
            result = run(family, network, args, model, sets)
            print(json.dumps(result, default=float), flush=True)
            if args.quick:
                continue
            # Read again just before writing: runs in parallel share the file.
            results = json.loads(path.read_text()) if path.exists() else {}
            results[f"{network}/{family}"] = result
            results = dict(sorted(results.items()))
            path.write_text(json.dumps(results, indent=1, default=float))
            markdown = render(results, machine_markdown(machine()))
            (RESULTS / "ar1.md").write_text(markdown)


if __name__ == "__main__":
    main()
