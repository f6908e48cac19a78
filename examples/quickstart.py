"""Gaussian replicates: train once, then estimate for any data set in milliseconds.

Data sets hold m iid N(mu, sigma^2) replicates; (mu, sigma) have a conjugate
normal-inverse-gamma prior, so the exact posterior mean is known and the neural
estimator can be checked against it. One DeepSet network is trained across replicate
counts 1..100 and then used at any m in that range (outside it, it extrapolates).
On 1,000 test data sets the script checks the point estimator's risk ratio (its mean
squared error over that of the exact posterior mean, the smallest possible: 1 is
perfect) and the coverage of the 90% quantile intervals.

Run: python examples/quickstart.py [--fast]
"""

import argparse
import time

import numpy as np
import pandas as pd
from _known_answers import (
    check_known_answers,
    coverage_range,
    gaussian_replicates_variance,
    risk_ratio_range,
)

from skamortise import NeuralBayesEstimator, NeuralQuantileEstimator, simulate
from skamortise.models import GaussianReplicates

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="a smaller run for CI")
args = parser.parse_args()
n_train = 3_000 if args.fast else 10_000

model = GaussianReplicates()
X, y = simulate(
    model.prior, model.simulator, n_train, n_replicates=range(1, 101), random_state=0
)
y = pd.DataFrame(y, columns=model.parameter_names)

start = time.perf_counter()
point = NeuralBayesEstimator(random_state=0).fit(X, y)
intervals = NeuralQuantileEstimator(
    quantiles=(0.05, 0.5, 0.95), bounds=model.bounds, random_state=0
).fit(X, y)
print(
    f"trained two networks on {n_train} simulations in "
    f"{time.perf_counter() - start:.0f} s"
)

# Five new data sets with different replicate counts (a ragged list is fine).
rng = np.random.default_rng(1)
truth = model.prior(5, rng)
data = [
    model.simulator(t[None], rng, n_replicates=m)[0]
    for t, m in zip(truth, [2, 5, 20, 50, 100], strict=True)
]

start = time.perf_counter()
estimate = point.predict(data)
q = intervals.predict_quantiles(data)
elapsed = 1e3 * (time.perf_counter() - start)

table = pd.DataFrame(
    {
        "m": [len(d) for d in data],
        "mu": truth[:, 0],
        "mu_hat": estimate[:, 0],
        "mu_exact": model.posterior_mean(data)[:, 0],
        "mu_90%": [f"[{a:.2f}, {b:.2f}]" for a, b in q[:, 0, [0, 2]]],
        "sigma": truth[:, 1],
        "sigma_hat": estimate[:, 1],
        "sigma_exact": model.posterior_mean(data)[:, 1],
        "sigma_90%": [f"[{a:.2f}, {b:.2f}]" for a, b in q[:, 1, [0, 2]]],
    }
)
print(table.round(3).to_string(index=False))
print(
    f"inference for 5 data sets: {elapsed:.1f} ms "
    "(estimates vs. the exact posterior mean, *_exact)"
)

# --- known answers on 1,000 test data sets --------------------------------------
X_test, y_test = simulate(
    model.prior, model.simulator, 1_000, n_replicates=range(1, 101), random_state=2
)
# The fast run's small budget costs accuracy: a risk ratio up to about 1.3 and
# quantile intervals that cover about 7 points short of 90%.
excess, slack = (0.4, 0.1) if args.fast else (0.1, 0.02)
risk_ratio = risk_ratio_range(
    point.predict(X_test),
    model.posterior_mean(X_test),
    gaussian_replicates_variance(model, X_test),
    excess,
)
bounds = intervals.predict_interval(X_test, alpha=0.1)
covered = ((bounds[..., 0] <= y_test) & (y_test <= bounds[..., 1])).mean(axis=0)
print(
    f"risk ratio (mu, sigma): {[round(r[0], 3) for r in risk_ratio]}; "
    f"coverage of 90% intervals: {np.round(covered, 3)}"
)
check_known_answers(
    risk_ratio_mu=risk_ratio[0],
    risk_ratio_sigma=risk_ratio[1],
    coverage_90_mu=coverage_range(covered[0], 0.9, 1_000, slack),
    coverage_90_sigma=coverage_range(covered[1], 0.9, 1_000, slack),
)
