"""Peaks over a threshold that differs between data sets: the threshold as a covariate.

Each data set holds the first ``m = 10`` values of a ``N(mu, sigma^2)`` stream that
exceed a threshold ``u``, as a hydrologist keeps the floods above a gauge's alarm
level. The threshold is known but **differs between data sets** (each gauge has its
own), and the exceedances mean little without it: values just above ``u = 1`` say
something else about ``mu`` than the same values above ``u = -1``.

One :class:`~skamortise.NeuralBayesEstimator` is trained once, for every threshold,
on :class:`~skamortise.WithCovariates` input: the replicates go through the DeepSet
summary, the threshold enters the network next to the learned summary. Training
thresholds are drawn uniformly on ``[-1, 1]``; the prior is ``mu ~ N(0, 1)``,
``sigma ~ U(0.5, 2)``.

The likelihood of the exceedances is that of a normal truncated below at ``u``,
``prod_j phi((x_j - mu) / sigma) / (sigma (1 - Phi((u - mu) / sigma)))``, so the
exact posterior mean is computed on a grid. The script reports, at three
thresholds, the risk ratio of the network's estimates against the exact posterior
mean (1 is the best possible), and shows what the same network without the
threshold loses.

Run ``python examples/peaks_over_threshold.py [--fast] [--out DIR]``.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _known_answers import caption, check_known_answers, risk_ratio_range, save_or_show
from scipy import special, stats

from skamortise import NeuralBayesEstimator, WithCovariates

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args = parser.parse_args()

M = 10
SIGMA_RANGE = (0.5, 2.0)
THRESHOLDS = {"low": -1.0, "mid": 0.0, "high": 1.0}


def prior(n, rng):
    """``(mu, sigma)``: ``mu ~ N(0, 1)``, ``sigma ~ U(0.5, 2)``."""
    return np.column_stack([rng.normal(size=n), rng.uniform(*SIGMA_RANGE, size=n)])


def exceedances(theta, u, rng):
    """``(n, M, 1)``: the first ``M`` values above ``u`` of a ``N(mu, sigma^2)``
    stream, i.e. draws of the normal truncated below at ``u``."""
    mu, sigma = theta[:, :1], theta[:, 1:]
    a = (u[:, None] - mu) / sigma
    x = stats.truncnorm.rvs(a, np.inf, size=(len(theta), M), random_state=rng)
    return (mu + sigma * x)[..., None]


def simulate_with_thresholds(n, rng, u=None):
    """Data sets with their thresholds (drawn on [-1, 1] unless given)."""
    theta = prior(n, rng)
    u = rng.uniform(-1.0, 1.0, size=n) if u is None else np.full(n, u)
    return WithCovariates(exceedances(theta, u, rng), u), theta


def exact_moments(X):
    """Posterior means and variances of ``(mu, sigma)`` on a grid, ``(n, 2)`` each."""
    mu = np.linspace(-5.0, 5.0, 401)
    sigma = np.linspace(*SIGMA_RANGE, 121)
    grid_mu, grid_sigma = np.meshgrid(mu, sigma, indexing="ij")
    log_prior = stats.norm.logpdf(grid_mu)
    means, variances = [], []
    log_sigma = np.log(grid_sigma)
    for x, u in zip(X.X[..., 0], X.covariates[:, 0], strict=True):
        # sum_j (x_j - mu)^2 from the sums of x and x^2; 1 - Phi(a) = Phi(-a).
        squares = (x**2).sum() - 2 * grid_mu * x.sum() + M * grid_mu**2
        log_lik = (
            -0.5 * squares / grid_sigma**2
            - M * log_sigma
            - M * special.log_ndtr((grid_mu - u) / grid_sigma)
        )
        log_post = log_prior + log_lik
        w = np.exp(log_post - log_post.max())
        w /= w.sum()
        m = [(w * grid_mu).sum(), (w * grid_sigma).sum()]
        v = [(w * (grid_mu - m[0]) ** 2).sum(), (w * (grid_sigma - m[1]) ** 2).sum()]
        means.append(m)
        variances.append(v)
    return np.array(means), np.array(variances)


n_train = 10_000 if args.fast else 50_000
# What the network may add to the Bayes risk at each budget (see risk_ratio_range).
EXCESS = 0.25 if args.fast else 0.1
n_test = 300 if args.fast else 2_000
rng = np.random.default_rng(0)
X, theta = simulate_with_thresholds(n_train, rng)
settings = dict(random_state=0, n_iter_no_change=10)
if args.fast:
    settings.update(hidden_layer_sizes=(32, 32), max_epochs=60)
with_threshold = NeuralBayesEstimator(**settings).fit(X, theta)
# The same network, blind to the threshold: the exceedances alone.
blind = NeuralBayesEstimator(**settings).fit(X.X, theta)

keys, rows, panels = {}, [], []
for label, u in THRESHOLDS.items():
    X_test, theta_test = simulate_with_thresholds(
        n_test, np.random.default_rng(1 + int(u + 1)), u
    )
    exact_mean, exact_var = exact_moments(X_test)
    estimate = with_threshold.predict(X_test)
    ratios = risk_ratio_range(estimate, exact_mean, exact_var, excess=EXCESS)
    blind_ratios = risk_ratio_range(
        blind.predict(X_test.X), exact_mean, exact_var, excess=EXCESS
    )
    for name, ratio, blind_ratio in zip(
        ("mu", "sigma"), ratios, blind_ratios, strict=True
    ):
        keys[f"risk_ratio_{name}_{label}"] = ratio
        rows.append((u, name, ratio[0], blind_ratio[0]))
    panels.append((u, exact_mean[:, 0], estimate[:, 0]))

print(f"{'threshold':>9} {'parameter':>9} {'with threshold':>15} {'without':>8}")
for u, name, ratio, blind_ratio in rows:
    print(f"{u:>9.1f} {name:>9} {ratio:>15.3f} {blind_ratio:>8.3f}")

fig, axes = plt.subplots(1, len(panels), figsize=(10, 3.4), sharex=True, sharey=True)
for ax, (u, exact_mu, estimate_mu) in zip(axes, panels, strict=True):
    ax.scatter(exact_mu, estimate_mu, s=6, alpha=0.5)
    line = [exact_mu.min(), exact_mu.max()]
    ax.plot(line, line, color="k", lw=1)
    ax.set_title(f"threshold u = {u:g}")
    ax.set_xlabel("exact posterior mean of mu")
axes[0].set_ylabel("network estimate of mu")
fig.tight_layout()
caption(
    fig,
    "One network for all thresholds; risk ratio of mu against the exact posterior "
    "mean: "
    + ", ".join(
        f"u = {u:g}: {ratio:.3f}" for u, name, ratio, _ in rows if name == "mu"
    ),
)
save_or_show({"peaks_over_threshold": fig}, args.out)

check_known_answers(**keys)
