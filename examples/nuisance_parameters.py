"""Nuisance parameters: simulate them, train on the parameters of interest only.

A data set holds ``m = 5`` replicates ``x_j ~ N(mu, sigma^2)``; we want ``mu``, and
the noise level ``sigma`` is a nuisance. Bayesian inference on ``mu`` alone uses
its *marginal* posterior, ``p(mu | x) = integral p(mu, sigma | x) d sigma``, which
accounts for not knowing ``sigma``. Amortised inference gets it for free: simulate
``(mu, sigma)`` from the prior and the data from both, but give the estimator only
``y = mu``. Minimising ``-log q(mu | x)`` over such pairs makes ``q`` approach the
marginal posterior, because the pairs ``(x, mu)`` are draws from the joint
distribution with ``sigma`` integrated out; no integral is ever computed.

Under the conjugate normal-inverse-gamma prior of
:class:`skamortise.models.GaussianReplicates`, the marginal posterior of ``mu`` is
a Student-t with ``2 alpha`` degrees of freedom, known exactly. The script compares
three answers for ``mu``:

- the **neural posterior** trained on ``mu`` only (a spline flow);
- the **exact marginal** Student-t posterior;
- a **plug-in** normal posterior, the conditional posterior of ``mu`` given
  ``sigma`` with ``sigma`` fixed at the sample standard deviation, as if it were
  known. It ignores the uncertainty about ``sigma``: with few replicates its tails
  are too light and its intervals too short.

The figure overlays the three densities for three observed data sets; the tables
compare quantiles for one data set and the empirical coverage of central credible
intervals over a test set drawn from the prior (only the plug-in falls short).
The script ends by checking the neural posterior against both known answers: a
classifier two-sample test (C2ST) against exact Student-t draws for each observed
data set (0.5 means indistinguishable), and the coverage of its central credible
intervals against their nominal levels.

Run ``python examples/nuisance_parameters.py [--fast] [--out DIR]``.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _known_answers import caption, check_known_answers, coverage_error, save_or_show
from scipy import stats

from skamortise import NeuralPosteriorEstimator, simulate
from skamortise.diagnostics import c2st, coverage
from skamortise.models import GaussianReplicates

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args = parser.parse_args()

m = 5
n_train = 3_000 if args.fast else 20_000
n_test = 300 if args.fast else 2_000
n_draws = 500 if args.fast else 10_000
levels = [0.5, 0.8, 0.9, 0.95]

model = GaussianReplicates()
X, theta = simulate(
    model.prior, model.simulator, n_train, n_replicates=m, random_state=0
)
mu = theta[:, 0]  # sigma (theta[:, 1]) is simulated but never shown to the network

# The full run uses the estimator's defaults (a spline flow, early stopping).
small = dict(
    distribution_kwargs=dict(n_transforms=2, hidden_features=32),
    hidden_layer_sizes=(32, 32),
    max_epochs=20,
)
npe = NeuralPosteriorEstimator(
    "spline", random_state=0, **(small if args.fast else {})
).fit(X, mu)


def exact_marginal(X):
    """The exact Student-t marginal posterior of mu, one frozen law per data set."""
    q = model.posterior_params(X)
    scale = np.sqrt(q["beta"] / (q["alpha"] * q["kappa"]))
    return stats.t(df=2 * q["alpha"], loc=q["mu"], scale=scale)


def plug_in(X):
    """Posterior of mu given sigma, with sigma fixed at the sample sd."""
    q = model.posterior_params(X)
    sigma = np.asarray(X)[..., 0].std(axis=1, ddof=1)
    return stats.norm(loc=q["mu"], scale=sigma / np.sqrt(q["kappa"]))


# --- three observed data sets ------------------------------------------------
rng = np.random.default_rng(1)
theta_obs = np.array([[0.0, 0.5], [1.0, 1.0], [-0.5, 2.0]])
x_obs = model.simulator(theta_obs, rng, n_replicates=m)
draws = npe.sample(x_obs, n_draws, random_state=0)[..., 0]
exact, naive = exact_marginal(x_obs), plug_in(x_obs)
exact_draws = exact.rvs(size=(n_draws, 3), random_state=np.random.default_rng(0)).T
accuracy = [c2st(e, d, random_state=0) for e, d in zip(exact_draws, draws, strict=True)]

probs = np.array([0.025, 0.25, 0.5, 0.75, 0.975])
table = pd.DataFrame(
    {
        "neural (mu only)": np.quantile(draws[0], probs),
        "exact Student-t": exact.ppf(probs[:, None])[:, 0],
        "plug-in normal": naive.ppf(probs[:, None])[:, 0],
    },
    index=pd.Index(probs, name="level"),
)
print(f"Posterior quantiles of mu, data set 1 (true mu = {theta_obs[0, 0]})")
print(table.round(3).to_string())

fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=False)
for i, ax in enumerate(axes):
    grid = np.linspace(*exact.ppf([[0.001], [0.999]])[:, i], 300)
    ax.hist(draws[i], bins=60, density=True, alpha=0.4, label="neural (mu only)")
    ax.plot(grid, exact.pdf(grid[:, None])[:, i], "k", label="exact Student-t")
    ax.plot(grid, naive.pdf(grid[:, None])[:, i], "r--", label="plug-in normal")
    ax.axvline(theta_obs[i, 0], color="grey", lw=1, ls=":")
    ax.set(xlabel="mu", title=f"sigma = {theta_obs[i, 1]}; C2ST {accuracy[i]:.3f}")
axes[0].legend(fontsize=7)
fig.tight_layout()

# --- calibration over the prior ------------------------------------------------
X_test, theta_test = simulate(
    model.prior, model.simulator, n_test, n_replicates=m, random_state=2
)
mu_test = theta_test[:, 0]
neural = coverage(npe, X_test, mu_test, levels, parameter_names=["mu"], random_state=0)
rows = {"neural (mu only)": neural.set_index("level")["coverage"].to_numpy()}
for label, law in (
    ("exact Student-t", exact_marginal(X_test)),
    ("plug-in normal", plug_in(X_test)),
):
    rows[label] = [
        np.mean(np.abs(law.cdf(mu_test) - 0.5) <= level / 2) for level in levels
    ]
print(f"\nCoverage of central credible intervals for mu ({n_test} test data sets)")
print(pd.DataFrame(rows, index=pd.Index(levels, name="nominal")).round(3).to_string())
print("C2ST accuracy, neural vs exact draws:", np.round(accuracy, 3))
caption(
    fig,
    f"C2ST neural vs exact Student-t ({n_draws:,} + {n_draws:,} draws; 0.5 = "
    f"indistinguishable). Coverage of the neural {', '.join(map(str, levels))} "
    f"intervals on {n_test:,} test data sets: "
    + ", ".join(f"{c:.3f}" for c in rows["neural (mu only)"]),
)
save_or_show({"marginals": fig}, args.out)

# --- known answers ---------------------------------------------------------------
c2st_max, slack = (0.65, 0.03) if args.fast else (0.6, 0.01)
check_known_answers(
    **{f"c2st_{i + 1}": (a, 0.45, c2st_max) for i, a in enumerate(accuracy)},
    coverage_error=coverage_error(neural, slack),
)
