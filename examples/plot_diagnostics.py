"""
Checking amortised estimators: risk, coverage, SBC and C2ST
===========================================================

A network that infers parameters in one forward pass must be checked before its
answers are trusted. This example trains three estimators on the same simulations
of a model whose posterior is known exactly, iid ``N(mu, sigma^2)`` replicates
under a normal-inverse-gamma prior, and runs every diagnostic of
:mod:`skamortise.diagnostics` on them:

- :func:`~skamortise.diagnostics.assess`: risk, bias, RMSE and interval scores on
  a held-out test set, side by side and per number of replicates;
- :func:`~skamortise.diagnostics.coverage`: credible intervals against their
  nominal level;
- :func:`~skamortise.diagnostics.sbc`: simulation-based calibration ranks, and the
  quantile analogue for a quantile estimator;
- :func:`~skamortise.diagnostics.c2st_per_dataset`: how far posterior draws are
  from exact ones.

Run ``python plot_diagnostics.py --fast`` for a quick smoke run (small networks,
few simulations) and ``--output DIR`` to save the figures as PNG files.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skamortise import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    simulate,
)
from skamortise.diagnostics import (
    assess,
    c2st_per_dataset,
    coverage,
    sbc,
    sbc_ranks,
)
from skamortise.models import GaussianReplicates
from skamortise.plotting import (
    plot_coverage,
    plot_history,
    plot_pairs,
    plot_recovery,
    plot_risk,
    plot_sbc_ecdf,
    plot_sbc_ranks,
)

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--output", type=Path, default=None, help="save figures here")
# parse_known_args: documentation builders pass their own arguments.
args, _ = parser.parse_known_args()

n_train = 2_000 if args.fast else 20_000
n_test = 300 if args.fast else 2_000
n_sims = 200 if args.fast else 1_000
max_epochs = 5 if args.fast else 200
hidden = (16, 16) if args.fast else (64, 64)
replicate_counts = [5, 10, 20]

figures = {}

# %%
# Simulate training and test data
# -------------------------------
# Each data set holds 5, 10 or 20 replicates, so the estimators learn to use
# however many observations they are given; the data are a ragged list.

model = GaussianReplicates()
names = list(model.parameter_names)
X_train, y_train = simulate(
    model.prior,
    model.simulator,
    n_train,
    n_replicates=replicate_counts,
    random_state=0,
)
X_test, y_test = simulate(
    model.prior,
    model.simulator,
    n_test,
    n_replicates=replicate_counts,
    random_state=1,
)

# %%
# Train three estimators
# ----------------------
# A point estimator of the posterior mean, a posterior estimator that can draw
# samples, and a quantile estimator of marginal posterior quantiles.

common = {"hidden_layer_sizes": hidden, "max_epochs": max_epochs, "random_state": 0}
point = NeuralBayesEstimator(**common).fit(X_train, y_train)
# The fast run uses a Gaussian posterior: drawing from a spline flow costs more.
posterior = NeuralPosteriorEstimator(
    "gaussian" if args.fast else "spline", **common
).fit(X_train, y_train)
quantile = NeuralQuantileEstimator(**common).fit(X_train, y_train)

figures["history"] = plot_history(posterior)


class ExactPosterior:
    """The model's exact posterior, wrapped with the methods diagnostics use."""

    def predict(self, X):
        return model.posterior_mean(X)

    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        return model.posterior_sample(X, n_samples, rng)


exact = ExactPosterior()

# %%
# Assess on the test set
# ----------------------
# The exact posterior mean attains the Bayes risk, the smallest possible; the
# networks should come close. Errors shrink with more replicates.

assessment = assess(
    {"exact": exact, "point": point, "posterior": posterior, "quantile": quantile},
    X_test,
    y_test,
    parameter_names=names,
    random_state=0,
)
print(assessment.summary().round(3).to_string())
figures["recovery"] = plot_recovery(assessment, estimator=["point", "posterior"])
figures["rmse"] = plot_risk(assessment, metric="rmse")

# %%
# Coverage of credible intervals
# ------------------------------
# Points on the diagonal mean intervals that hold the truth as often as they
# claim; below it, intervals are too narrow.

figures["coverage"] = plot_coverage(
    coverage(posterior, X_test, y_test, parameter_names=names, random_state=0)
)

# %%
# Simulation-based calibration
# ----------------------------
# Ranks of the true parameters among posterior draws are uniform for a calibrated
# posterior. The Kolmogorov-Smirnov p-value is the recommended summary.

result = sbc(
    posterior,
    model.prior,
    model.simulator,
    n_sims=n_sims,
    n_posterior_samples=100,
    simulator_kwargs={"n_replicates": 10},
    parameter_names=names,
    random_state=0,
)
print(result.uniformity_test().round(4).to_string())
figures["sbc_ranks"] = plot_sbc_ranks(result)
figures["sbc_ecdf"] = plot_sbc_ecdf(result)

# A quantile estimator has no draws: check instead that each predicted quantile
# lies above the truth as often as its level says.
quantile_check = sbc_ranks(
    quantile, X_test, y_test, parameter_names=names, random_state=0
).quantile_calibration()
print(quantile_check.round(3).to_string())
figures["quantile_calibration"] = plot_coverage(quantile_check)

# %%
# Posterior draws against exact draws
# -----------------------------------
# C2ST accuracy 0.5 means a classifier cannot tell the network's draws from exact
# ones; values near 1 mean a poor approximation.

n_check = 3 if args.fast else 10
X_check = X_test[:n_check]
n_draws = 500 if args.fast else 2_000
accuracy = c2st_per_dataset(
    exact.sample(X_check, n_draws, random_state=0),
    posterior.sample(X_check, n_draws, random_state=0),
    random_state=0,
)
print("C2ST accuracy per data set:", np.round(accuracy, 3))

figures["pairs"] = plot_pairs(
    posterior.sample(X_test[:1], n_draws, random_state=1)[0],
    truth=y_test[0],
    names=names,
)

if args.output is not None:
    args.output.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        fig.savefig(args.output / f"{name}.png", dpi=100)
elif not args.fast:
    plt.show()
