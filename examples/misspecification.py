"""Is the model right for these data? Misspecification checks and calibration.

An amortised estimator answers for any input, including data its simulator could
never have produced. This example trains a posterior estimator on data sets of 10
iid ``N(mu, sigma^2)`` replicates (:class:`skamortise.models.GaussianReplicates`)
and then checks, before trusting its answers:

- **inputs outside the training range**: with ``warn_out_of_range=True`` the
  estimator warns when a data set has a replicate count it never saw, or learned
  summaries far from those of its training data;
- **misspecification** (:func:`~skamortise.diagnostics.misspecification_test`):
  a kernel MMD test between the learned summaries of observed data sets and of
  data sets simulated from the model. Data from the model pass; data with
  heavy-tailed (Student-t, 3 degrees of freedom) noise, which the simulator cannot
  produce, are rejected;
- **calibration** of the posterior on simulated test data: TARP
  (:func:`~skamortise.diagnostics.tarp`), and posterior contraction against
  z-scores (:func:`~skamortise.diagnostics.assess`).

The key numbers, printed at the end and checked: the misspecification test's
p-value is not small for data from the model and below 0.01 for heavy-tailed data.

Run ``python examples/misspecification.py [--fast] [--out DIR]``.
"""

import argparse
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skamortise import NeuralPosteriorEstimator, simulate
from skamortise.diagnostics import (
    OutOfRangeWarning,
    assess,
    misspecification_test,
    tarp,
)
from skamortise.models import GaussianReplicates
from skamortise.plotting import plot_contraction

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args, _ = parser.parse_known_args()

n_train = 3_000 if args.fast else 20_000
n_test = 300 if args.fast else 1_000
n_observed = 100
m = 10  # replicates per data set
model = GaussianReplicates()
rng = np.random.default_rng(0)

# %%
# Train a posterior estimator that watches its inputs
# ---------------------------------------------------

X_train, y_train = simulate(
    model.prior, model.simulator, n_train, n_replicates=m, random_state=0
)
estimator = NeuralPosteriorEstimator(
    "gaussian",
    hidden_layer_sizes=(32, 32) if args.fast else (64, 64),
    max_epochs=20 if args.fast else 200,
    bounds=model.bounds,
    warn_out_of_range=True,
    random_state=0,
).fit(X_train, y_train)
print(
    f"trained on {n_train} data sets of {m} replicates ({estimator.n_epochs_} epochs)"
)

# A data set with 200 replicates lies outside the trained range (10): the
# estimator still answers, but says that it extrapolates.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", OutOfRangeWarning)
    estimator.predict(model.simulator(model.prior(1, rng), rng, 200))
print("\nwarning:", caught[0].message if caught else "none")
# The check costs one more pass of the summary network per call; the diagnostics
# below run on simulated data, so it is switched off for them.
estimator.set_params(warn_out_of_range=False)

# %%
# Test observed data against simulations from the model
# ------------------------------------------------------
# The reference: data sets simulated from the training distribution (prior, then
# simulator) with the observed replicate count. The observed data: 100 data sets
# from the model, and 100 whose noise is Student-t with 3 degrees of freedom.

n_reference = 1000 if args.fast else 2000
X_reference, _ = simulate(
    model.prior, model.simulator, n_reference, n_replicates=m, random_state=1
)
theta = model.prior(n_observed, rng)
from_model = model.simulator(theta, rng, m)
heavy_tailed = theta[:, None, :1] + theta[:, None, 1:] * rng.standard_t(
    3, size=(n_observed, m, 1)
)

figures = {}
p_values = {}
for name, X_observed in (("model", from_model), ("student_t3", heavy_tailed)):
    result = misspecification_test(estimator, X_observed, X_reference, random_state=0)
    p_values[name] = result.p_value
    figures[f"misspecification_{name}"] = result.plot()
    print(
        f"{name:>10}: squared MMD {result.statistic:.4f}, p-value {result.p_value:.4f}"
    )

# %%
# Calibration on simulated test data: TARP, contraction and z-scores
# -------------------------------------------------------------------

X_test, y_test = simulate(
    model.prior, model.simulator, n_test, n_replicates=m, random_state=2
)
calibration = tarp(estimator, X_test, y_test, n_samples=500, random_state=0)
test = calibration.uniformity_test()
print(f"\nTARP: KS p-value {test['ks_pvalue']:.3f}, ATC {test['atc']:+.3f}")
figures["tarp"] = calibration.plot().figure

assessment = assess(
    estimator, X_test, y_test, parameter_names=model.parameter_names, random_state=0
)
table = assessment.contraction().merge(assessment.z_scores())
print(table.round(3).to_string(index=False))
figures["contraction"] = plot_contraction(assessment)

if args.out is not None:
    args.out.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        fig.savefig(args.out / f"{name}.png", dpi=120)
plt.close("all")

# %%
# The key numbers
# ---------------
# Under the model the p-value is uniform on (0, 1): below 0.001 one time in a
# thousand. Heavy tails in 100 data sets are far outside the simulations.

print(
    f"\nkey: p_value_model={p_values['model']:.4f} "
    f"p_value_student_t3={p_values['student_t3']:.4f}"
)
assert p_values["model"] > 0.001, p_values
assert p_values["student_t3"] < 0.01, p_values
