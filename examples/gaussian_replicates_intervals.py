"""Gaussian replicates: point estimates, bootstrap intervals and quantile intervals.

A data set holds ``m`` iid ``N(mu, sigma^2)`` replicates, and ``(mu, sigma)`` has a
conjugate normal-inverse-gamma prior, so every Bayesian answer is known exactly
(:class:`skamortise.models.GaussianReplicates`) and the networks can be checked
against it. Training pairs have between 5 and 50 replicates, so **one network**
serves every replicate count in that range: a DeepSet summary averages over the
replicates and also sees ``log m``.

Three kinds of answers are compared, each amortised:

- **Point estimates**: a :class:`~skamortise.NeuralBayesEstimator` trained with
  squared error estimates the posterior mean, the Bayes estimator of that loss.
- **Bootstrap intervals** around those estimates
  (:func:`skamortise.bootstrap.bootstrap`): the *parametric* bootstrap simulates
  data sets at the estimate, the *nonparametric* one resamples the observed
  replicates; each bootstrap data set is re-estimated by one forward pass. These are
  frequentist confidence intervals. A posterior mean is shrunk towards the prior,
  and its bootstrap samples are shrunk once more, so percentile intervals are
  centred too close to the prior when ``m`` is small; the ``"basic"`` interval
  reflects them about the estimate and undoes that shift.
- **Quantile intervals**: a :class:`~skamortise.NeuralQuantileEstimator` outputs the
  5%, 50% and 95% marginal posterior quantiles (they cannot cross) and so 90%
  credible intervals, compared with the exact Student-t and inverse-gamma quantiles.

The first figure shows, for one parameter value and growing ``m``, the three
intervals for ``mu`` next to the exact credible interval: all shrink like
``1 / sqrt(m)``. The second shows the point estimator's RMSE against ``m`` on a
test set, next to that of the exact posterior mean (the Bayes risk, the smallest
possible). The table at the end gives empirical coverage of the 90% intervals on
test data sets drawn from the prior, where credible intervals must cover 90% on
average. The script ends by checking two known answers: the point estimator's risk
ratio (its mean squared error over that of the exact posterior mean; 1 is the
best possible) and the coverage of the quantile network's 90% intervals over the
whole test set.

Run ``python examples/gaussian_replicates_intervals.py [--fast] [--out DIR]``.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _known_answers import (
    caption,
    check_known_answers,
    coverage_range,
    gaussian_replicates_variance,
    risk_ratio_range,
    save_or_show,
)

from skamortise import NeuralBayesEstimator, NeuralQuantileEstimator, simulate
from skamortise.bootstrap import bootstrap
from skamortise.diagnostics import assess
from skamortise.models import GaussianReplicates
from skamortise.plotting import plot_risk

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args = parser.parse_args()

n_train = 3_000 if args.fast else 20_000
n_test = 1_000
n_boot = 100 if args.fast else 400
# The full run uses the estimators' defaults (early stopping).
network = dict(hidden_layer_sizes=(32, 32), max_epochs=40) if args.fast else {}
network["random_state"] = 0
counts = [5, 10, 20, 50]

model = GaussianReplicates()
names = list(model.parameter_names)

# Training data sets have 5 to 50 replicates: a ragged list of (m, 1) arrays.
X, y = simulate(
    model.prior, model.simulator, n_train, n_replicates=range(5, 51), random_state=0
)
point = NeuralBayesEstimator(**network).fit(X, y)
quantile = NeuralQuantileEstimator(
    quantiles=(0.05, 0.5, 0.95), bounds=model.bounds, **network
).fit(X, y)

# --- one parameter value, growing replicate counts ----------------------------
theta = np.array([[0.5, 1.2]])
rng = np.random.default_rng(1)
largest = model.simulator(theta, rng, n_replicates=max(counts))[0]
# Nested data sets: the first m replicates of one long data set.
observed = [largest[:m] for m in counts]

estimate = point.predict(observed)
exact_mean = model.posterior_mean(observed)
parametric = bootstrap(
    point, observed, "parametric", n_boot, simulator=model.simulator, random_state=0
)
nonparametric = bootstrap(point, observed, "nonparametric", n_boot, random_state=0)
intervals = {
    "quantile network": quantile.predict_interval(observed, alpha=0.1),
    "parametric bootstrap": parametric.interval(alpha=0.1, kind="basic"),
    "nonparametric bootstrap": nonparametric.interval(alpha=0.1, kind="basic"),
    "exact credible": model.posterior_quantile(observed, [0.05, 0.95]),
}

print(f"True (mu, sigma) = {theta[0].tolist()}; point estimates and 90% intervals")
table = pd.DataFrame({"m": counts})
for j, name in enumerate(names):
    table[f"{name}_hat"] = estimate[:, j]
    table[f"{name}_exact"] = exact_mean[:, j]
print(table.round(3).to_string(index=False))
rows = []
for label, bounds in intervals.items():
    for i, m in enumerate(counts):
        rows.append(
            {
                "interval": label,
                "m": m,
                **{
                    f"{n}": f"[{lo:.2f}, {hi:.2f}]"
                    for n, (lo, hi) in zip(names, bounds[i], strict=True)
                },
            }
        )
print(pd.DataFrame(rows).to_string(index=False))

fig, ax = plt.subplots(figsize=(6, 3.5))
offsets = np.linspace(-0.15, 0.15, len(intervals))
for k, (offset, (label, bounds)) in enumerate(
    zip(offsets, intervals.items(), strict=True)
):
    x = np.arange(len(counts)) + offset
    ax.vlines(x, bounds[:, 0, 0], bounds[:, 0, 1], lw=3, color=f"C{k}", label=label)
ax.axhline(theta[0, 0], color="k", ls=":", lw=1, label="true mu")
ax.set_xticks(range(len(counts)), [str(m) for m in counts])
ax.set_xlabel("replicates m")
ax.set_ylabel("90% interval for mu")
ax.legend(fontsize=7)
fig.tight_layout()
figures = {"intervals": fig}

# --- a test set: risk per replicate count and coverage -------------------------
X_test, y_test = simulate(
    model.prior, model.simulator, n_test, n_replicates=counts, random_state=2
)


class ExactPosteriorMean:
    """The Bayes estimator under squared error, for reference."""

    def predict(self, X):
        return model.posterior_mean(X)


assessment = assess(
    {"network": point, "exact": ExactPosteriorMean()},
    X_test,
    y_test,
    parameter_names=names,
)
print("\nRMSE of the posterior-mean estimates by replicate count")
print(assessment.rmse(by_replicates=True).round(3).to_string(index=False))
# The fast run's small budget costs accuracy: a risk ratio up to about 1.3 and
# quantile intervals that cover about 7 points short of 90%.
excess, slack = (0.4, 0.1) if args.fast else (0.1, 0.02)
risk_ratio = dict(
    zip(
        names,
        risk_ratio_range(
            point.predict(X_test),
            model.posterior_mean(X_test),
            gaussian_replicates_variance(model, X_test),
            excess,
        ),
        strict=True,
    )
)
ratios = ", ".join(f"{n} {r[0]:.3f}" for n, r in risk_ratio.items())
print("Risk ratio, network over exact posterior mean:", ratios)
figures["rmse"] = plot_risk(assessment, metric="rmse")
caption(
    figures["rmse"],
    f"{n_test:,} test data sets; risk ratio network / exact posterior mean: {ratios}",
)

# The quantile network's 90% intervals cost one forward pass: check them on all
# test data sets.
bounds = quantile.predict_interval(X_test, alpha=0.1)
quantile_coverage = ((bounds[..., 0] <= y_test) & (y_test <= bounds[..., 1])).mean(0)
caption(
    figures["intervals"],
    f"coverage of the quantile network's 90% intervals on {n_test:,} test data "
    "sets: "
    + ", ".join(f"{n} {c:.3f}" for n, c in zip(names, quantile_coverage, strict=True)),
)

# Coverage of 90% intervals on the first 100 test data sets (the bootstrap
# re-estimates n_boot data sets for each).
subset = X_test[:100]
truth = y_test[:100]
candidates = {
    "quantile network": quantile.predict_interval(subset, alpha=0.1),
    "parametric bootstrap (basic)": bootstrap(
        point,
        subset,
        "parametric",
        n_boot,
        simulator=model.simulator,
        random_state=3,
    ).interval(alpha=0.1, kind="basic"),
    "nonparametric bootstrap (basic)": bootstrap(
        point, subset, "nonparametric", n_boot, random_state=3
    ).interval(alpha=0.1, kind="basic"),
    "exact credible": model.posterior_quantile(subset, [0.05, 0.95]),
}
coverage = pd.DataFrame(
    {
        label: ((b[..., 0] <= truth) & (truth <= b[..., 1])).mean(axis=0)
        for label, b in candidates.items()
    },
    index=names,
).T
print("\nEmpirical coverage of 90% intervals (100 test data sets from the prior)")
print(coverage.round(2).to_string())

save_or_show(figures, args.out)

# --- known answers ----------------------------------------------------------------
check_known_answers(
    **{f"risk_ratio_{n}": r for n, r in risk_ratio.items()},
    **{
        f"coverage_90_{n}": coverage_range(c, 0.9, n_test, slack)
        for n, c in zip(names, quantile_coverage, strict=True)
    },
)
