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

The script ends by checking the key numbers against their known answers: the
point estimator's risk ratio (its risk over the exact posterior mean's, 1 at
best), the C2ST against exact draws (0.5 at best) and the largest gap between
empirical and nominal coverage (0 up to Monte Carlo error).

Run ``python plot_diagnostics.py --fast`` for a quick smoke run (small networks,
few simulations) and ``--out DIR`` to save the figures as PNG files.
"""

import argparse
from pathlib import Path

import numpy as np
from _known_answers import (
    caption,
    check_known_answers,
    coverage_error,
    gaussian_replicates_variance,
    risk_ratio_range,
    save_or_show,
    share_limits,
)

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
parser.add_argument("--out", type=Path, default=None, help="save figures here")
# parse_known_args: documentation builders pass their own arguments.
args, _ = parser.parse_known_args()

n_train = 2_000 if args.fast else 20_000
n_test = 300 if args.fast else 2_000
n_simulations = 200 if args.fast else 1_000
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

# The full run uses the estimators' defaults (early stopping).
common = dict(hidden_layer_sizes=(32, 32), max_epochs=30) if args.fast else {}
common["random_state"] = 0
point = NeuralBayesEstimator(**common).fit(X_train, y_train)
# The fast run uses a Gaussian posterior: drawing from a spline flow costs more.
posterior = NeuralPosteriorEstimator(
    "gaussian" if args.fast else "spline", **common
).fit(X_train, y_train)
quantile = NeuralQuantileEstimator(**common).fit(X_train, y_train)


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


def estimates(label):
    """``(n_test, n_parameters)`` estimates of one estimator in the assessment."""
    frame = assessment.estimates.query("estimator == @label")
    return frame.pivot(index="dataset", columns="parameter", values="estimate")[names]


# The estimators of the posterior mean, against the exact one. The quantile
# estimator's median is not one (sigma's posterior is skewed), so it is left out.
max_c2st, excess, slack = (0.8, 0.4, 0.05) if args.fast else (0.6, 0.1, 0.02)
risk_ratio = {
    (label, name): ratio
    for label in ("point", "posterior")
    for name, ratio in zip(
        names,
        risk_ratio_range(
            estimates(label),
            model.posterior_mean(X_test),
            gaussian_replicates_variance(model, X_test),
            excess,
        ),
        strict=True,
    )
}
ratios = "; ".join(
    f"{label} {name} {ratio[0]:.3f}" for (label, name), ratio in risk_ratio.items()
)
print("Risk ratio over the exact posterior mean:", ratios)
figures["recovery"] = plot_recovery(assessment, estimator=["point", "posterior"])
figures["rmse"] = plot_risk(assessment, metric="rmse")
for name in ("recovery", "rmse"):
    caption(
        figures[name],
        f"risk ratio over the exact posterior mean, {n_test:,} test "
        f"data sets:\n{ratios}",
    )

# %%
# Coverage of credible intervals
# ------------------------------
# Points on the diagonal mean intervals that hold the truth as often as they
# claim; below it, intervals are too narrow.

posterior_coverage = coverage(
    posterior, X_test, y_test, parameter_names=names, random_state=0
)
figures["coverage"] = plot_coverage(posterior_coverage)
caption(
    figures["coverage"],
    f"largest |coverage - nominal|: {coverage_error(posterior_coverage, 0)[0]:.3f} "
    f"({n_test:,} test data sets; Monte Carlo s.e. up to "
    f"{posterior_coverage['se'].max():.3f})",
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
    n_simulations=n_simulations,
    n_posterior_samples=100,
    simulator_kwargs={"n_replicates": 10},
    parameter_names=names,
    random_state=0,
)
uniformity = result.uniformity_test()
print(uniformity.round(4).to_string())
figures["sbc_ranks"] = plot_sbc_ranks(result)
figures["sbc_ecdf"] = plot_sbc_ecdf(result)
for name in ("sbc_ranks", "sbc_ecdf"):
    caption(
        figures[name],
        f"{n_simulations:,} simulations; KS p-values "
        + ", ".join(
            f"{n} {p:.2f}"
            for n, p in zip(
                uniformity["parameter"], uniformity["ks_pvalue"], strict=True
            )
        ),
    )

# A quantile estimator has no draws: check instead that each predicted quantile
# lies above the truth as often as its level says.
quantile_check = sbc_ranks(
    quantile, X_test, y_test, parameter_names=names, random_state=0
).quantile_calibration()
print(quantile_check.round(3).to_string())
figures["quantile_calibration"] = plot_coverage(quantile_check)
caption(
    figures["quantile_calibration"],
    f"largest |P(q_tau > theta) - tau|: {coverage_error(quantile_check, 0)[0]:.3f} "
    f"({n_test:,} test data sets; s.e. up to {quantile_check['se'].max():.3f})",
)

# %%
# Posterior draws against exact draws
# -----------------------------------
# C2ST accuracy 0.5 means a classifier cannot tell the network's draws from exact
# ones; values near 1 mean a poor approximation.

n_check = 3 if args.fast else 5
X_check = X_test[:n_check]
n_draws = 500 if args.fast else 10_000
exact_draws = exact.sample(X_check, n_draws, random_state=0)
posterior_draws = posterior.sample(X_check, n_draws, random_state=0)
accuracy = c2st_per_dataset(exact_draws, posterior_draws, random_state=0)
print("C2ST accuracy per data set:", np.round(accuracy, 3))
figures["history"] = plot_history(posterior)
caption(
    figures["history"],
    f"C2ST posterior vs exact draws, mean over {n_check} test data sets: "
    f"{np.mean(accuracy):.3f} (0.5 = indistinguishable)",
)

figures["pairs"] = plot_pairs(posterior_draws[0], truth=y_test[0], names=names)
figures["pairs_exact"] = plot_pairs(exact_draws[0], truth=y_test[0], names=names)
figures["pairs"].suptitle("neural posterior")
figures["pairs_exact"].suptitle("exact posterior")
share_limits(figures["pairs"], figures["pairs_exact"])
for name in ("pairs", "pairs_exact"):
    caption(
        figures[name],
        f"test data set 1; C2ST {accuracy[0]:.3f} ({n_draws:,} + {n_draws:,} draws)",
    )
save_or_show(figures, args.out)

# %%
# Known answers
# -------------
# Each key number against what the exact posterior gives, within what this
# simulation budget reaches.

check_known_answers(
    **{
        f"risk_ratio_{label}_{name}": ratio
        for (label, name), ratio in risk_ratio.items()
    },
    c2st=(np.mean(accuracy), 0.45, max_c2st),
    coverage_error_posterior=coverage_error(posterior_coverage, slack),
    coverage_error_quantile=coverage_error(quantile_check, slack),
)
