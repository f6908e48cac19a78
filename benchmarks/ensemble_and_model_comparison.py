"""Deep ensembles and amortised model comparison against exact answers.

Ensembles (conjugate Gaussian model, ``GaussianReplicates``, m = 10 replicates, a
DeepSet on the raw replicates, one fixed training set):

- point: squared-error risk of the network divided by the risk of the exact
  posterior mean (the Bayes estimator), for each of 5 single networks (the
  ensemble's members, i.e. 5 seeds) and for their ensemble;
- posterior (Gaussian NPE): expected KL divergence from the exact posterior,
  estimated as the test mean of ``log p(theta | X) - log q(theta | X)``, for the
  single networks and for the ensemble's mixture.

Model comparison: x_j ~ N(0, sigma^2), j = 1..10, with sigma^2 ~ InvGamma(3, 2)
("narrow") or InvGamma(3, 6) ("wide"); the exact Bayes factor is closed form. A
NeuralModelComparison trained on a balanced set is compared with the exact
posterior model probability (mean and 99th-percentile absolute error, log Bayes
factor error, expected calibration error, Brier score, accuracy), also under an
unbalanced prior applied after training, and as an ensemble of 5.

Run: python benchmarks/ensemble_and_model_comparison.py [--quick] [--n-jobs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from scipy import special, stats

import skamortise
from skamortise import NeuralBayesEstimator, NeuralPosteriorEstimator, simulate
from skamortise.diagnostics.reliability import reliability, reliability_from_proba
from skamortise.ensemble import NeuralEnsemble
from skamortise.estimators.model_comparison import NeuralModelComparison
from skamortise.models import GaussianReplicates
from skamortise.simulation import simulate_models

RESULTS = Path(__file__).parent / "results"
M = 10
PRIORS = {"narrow": (3.0, 2.0), "wide": (3.0, 6.0)}


def machine() -> str:
    with open("/proc/cpuinfo") as info:
        cpu = next(
            (line.split(":", 1)[1].strip() for line in info if "model name" in line),
            platform.processor(),
        )
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"torch {torch.__version__}, skamortise {skamortise.__version__}; load "
        f"average at start {os.getloadavg()[0]:.1f} (shared machine)"
    )


def markdown(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- ensembles on the conjugate model ------------------------------------------------
def exact_log_posterior(model, X, theta):
    """Exact log density of (mu, sigma) under the normal-inverse-gamma posterior."""
    q = model.posterior_params(X)
    mu, sigma = theta[:, 0], theta[:, 1]
    return (
        stats.invgamma.logpdf(sigma**2, q["alpha"], scale=q["beta"])
        + np.log(2 * sigma)
        + stats.norm.logpdf(mu, q["mu"], sigma / np.sqrt(q["kappa"]))
    )


def run_ensembles(args):
    model = GaussianReplicates()
    X, y = simulate(
        model.prior, model.simulator, args.n_train, n_replicates=M, random_state=0
    )
    X_test, y_test = simulate(
        model.prior, model.simulator, args.n_test, n_replicates=M, random_state=1
    )
    bayes = ((model.posterior_mean(X_test) - y_test) ** 2).mean(axis=0)
    exact_lp = exact_log_posterior(model, X_test, y_test)
    options = dict(max_epochs=args.max_epochs, n_iter_no_change=10)
    rows, notes = [], []

    point = NeuralEnsemble(
        NeuralBayesEstimator(**options), 5, n_jobs=args.n_jobs, random_state=0
    )
    start = time.perf_counter()
    point.fit(X, y)
    notes.append(f"point ensemble training: {time.perf_counter() - start:.0f} s")

    def risk(est):
        return ((est.predict(X_test) - y_test) ** 2).mean(axis=0) / bayes

    singles = np.array([risk(m) for m in point.estimators_])
    ens = risk(point)
    for j, name in enumerate(model.parameter_names):
        rows.append(
            {
                "quantity": f"risk ratio {name}",
                "single mean": float(singles[:, j].mean()),
                "single best": float(singles[:, j].min()),
                "single worst": float(singles[:, j].max()),
                "ensemble of 5": float(ens[j]),
            }
        )

    posterior = NeuralEnsemble(
        NeuralPosteriorEstimator("gaussian", bounds=model.bounds, **options),
        5,
        n_jobs=args.n_jobs,
        random_state=0,
    )
    start = time.perf_counter()
    posterior.fit(X, y)
    notes.append(f"posterior ensemble training: {time.perf_counter() - start:.0f} s")
    kl_single = np.array(
        [np.mean(exact_lp - m.log_prob(X_test, y_test)) for m in posterior.estimators_]
    )
    kl_ens = float(np.mean(exact_lp - posterior.log_prob(X_test, y_test)))
    rows.append(
        {
            "quantity": "expected KL(exact, q) (nats)",
            "single mean": float(kl_single.mean()),
            "single best": float(kl_single.min()),
            "single worst": float(kl_single.max()),
            "ensemble of 5": kl_ens,
        }
    )
    return rows, notes


# -- model comparison ----------------------------------------------------------------
def log_evidence(X, a, b):
    """Closed-form ``log p(X | model)``: sigma^2 ~ InvGamma(a, b) integrated out."""
    s = (np.asarray(X)[..., 0] ** 2).sum(axis=1)
    m = np.asarray(X).shape[1]
    return (
        -m / 2 * np.log(2 * np.pi)
        + a * np.log(b)
        - special.gammaln(a)
        + special.gammaln(a + m / 2)
        - (a + m / 2) * np.log(b + s / 2)
    )


def make_model(a, b):
    def prior(n, rng):
        return 1.0 / rng.gamma(a, 1.0 / b, size=(n, 1))

    def simulator(sigma2, rng, n_replicates=M):
        noise = rng.standard_normal((len(sigma2), n_replicates, 1))
        return np.sqrt(sigma2)[:, :, None] * noise

    return prior, simulator


def exact(X, prior):
    log_bf = log_evidence(X, *PRIORS["wide"]) - log_evidence(X, *PRIORS["narrow"])
    log_odds = log_bf + np.log(prior[1] / prior[0])
    return special.expit(log_odds), log_bf


def comparison_row(name, p_wide, X, y, prior, log_bf=None, seconds=None):
    p_exact, log_bf_exact = exact(X, prior)
    err = np.abs(p_wide - p_exact)
    proba = np.column_stack([1 - p_wide, p_wide])
    calib = reliability_from_proba(y, proba, classes=np.array(["narrow", "wide"]))
    row = {
        "estimator": name,
        "prior (narrow, wide)": f"({prior[0]}, {prior[1]})",
        "MAE P(wide|X)": float(err.mean()),
        "99% abs error": float(np.quantile(err, 0.99)),
        "MAE log BF (|log BF|<3)": float("nan"),
        "ECE": calib.expected_calibration_error,
        "Brier": calib.brier,
        "accuracy": float(np.mean(np.where(p_wide > 0.5, "wide", "narrow") == y)),
        "train s": float("nan") if seconds is None else seconds,
    }
    if log_bf is not None:
        central = np.abs(log_bf_exact) < 3
        row["MAE log BF (|log BF|<3)"] = float(
            np.abs(log_bf - log_bf_exact)[central].mean()
        )
    return row, calib


def run_model_comparison(args):
    models = {name: make_model(*ab) for name, ab in PRIORS.items()}
    X, y = simulate_models(models, args.n_train, random_state=2)
    X_test, y_test = simulate_models(models, args.n_test, random_state=3)
    options = dict(max_epochs=args.max_epochs, n_iter_no_change=10)
    rows = []

    clf = NeuralModelComparison(random_state=0, **options)
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    p = clf.predict_proba(X_test)[:, 1]
    log_bf = clf.bayes_factor(X_test, "wide", "narrow", log=True)
    rows.append(
        comparison_row(
            "exact posterior", exact(X_test, (0.5, 0.5))[0], X_test, y_test, (0.5, 0.5)
        )[0]
    )
    row, calib = comparison_row(
        "NeuralModelComparison", p, X_test, y_test, (0.5, 0.5), log_bf, seconds
    )
    rows.append(row)
    diagram = reliability(clf, X_test, y_test, n_bins=10).table
    diagram = diagram[diagram["class"] == "wide"]

    # An unbalanced prior applied after training: the test set follows it.
    prior = (0.8, 0.2)
    X_u, y_u = simulate_models(models, args.n_test, proportions=prior, random_state=4)
    reweighted = NeuralModelComparison(class_prior=prior, random_state=0, **options)
    reweighted.fit(X, y)
    rows.append(
        comparison_row("exact posterior", exact(X_u, prior)[0], X_u, y_u, prior)[0]
    )
    rows.append(
        comparison_row(
            "NeuralModelComparison, class_prior",
            reweighted.predict_proba(X_u)[:, 1],
            X_u,
            y_u,
            prior,
            reweighted.bayes_factor(X_u, "wide", "narrow", log=True),
        )[0]
    )

    ensemble = NeuralEnsemble(
        NeuralModelComparison(**options), 5, n_jobs=args.n_jobs, random_state=0
    )
    start = time.perf_counter()
    ensemble.fit(X, y)
    seconds = time.perf_counter() - start
    rows.append(
        comparison_row(
            "NeuralEnsemble of 5",
            ensemble.predict_proba(X_test)[:, 1],
            X_test,
            y_test,
            (0.5, 0.5),
            ensemble.bayes_factor(X_test, "wide", "narrow", log=True),
            seconds,
        )[0]
    )
    columns = ["bin", "lower", "upper", "n", "mean_predicted", "frequency", "se"]
    diagram_rows = diagram[columns].to_dict("records")
    return rows, diagram_rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.n_test, args.max_epochs = 2_000, 2_000, 40
    else:
        args.n_train, args.n_test, args.max_epochs = 10_000, 10_000, 100
    header = machine()
    start = time.perf_counter()
    ensemble_rows, notes = run_ensembles(args)
    comparison_rows, diagram_rows = run_model_comparison(args)
    total = time.perf_counter() - start
    command = (
        "python benchmarks/ensemble_and_model_comparison.py"
        + (" --quick" if args.quick else "")
        + f" --n-jobs {args.n_jobs}"
    )
    text = (
        "### Deep ensembles and neural model comparison against exact answers\n\n"
        f"Command: `{command}` ({args.n_train} training and {args.n_test} test data "
        f"sets, m = {M} replicates, default networks (DeepSet, (64, 64)), "
        f"max_epochs={args.max_epochs}, n_iter_no_change=10; total {total:.0f} s)\n\n"
        f"Machine: {header}; n_threads=1 per member.\n\n"
        "#### Ensemble of 5 vs single networks (conjugate Gaussian model)\n\n"
        "Risk ratio: network risk / exact posterior mean's risk (1 is optimal). "
        "The single networks are the ensemble's 5 members (seeds).\n\n"
        f"{markdown(ensemble_rows)}\n\n" + "; ".join(notes) + "\n\n"
        "#### Posterior model probabilities vs the exact Bayes factor\n\n"
        f"{markdown(comparison_rows)}\n\n"
        "#### Reliability diagram of P(wide | X), NeuralModelComparison\n\n"
        f"{markdown(diagram_rows)}\n"
    )
    print(text)
    output = args.output
    if output is None and not args.quick:
        output = RESULTS / "ensemble.md"
    if output is not None:
        output.write_text(text)


if __name__ == "__main__":
    main()
