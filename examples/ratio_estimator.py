"""Neural ratio estimation: MCMC posteriors, a prior chosen after training, likelihood.

A :class:`~skamortise.NeuralRatioEstimator` is a classifier trained to tell pairs
``(x_i, theta_i)`` simulated together from pairs whose parameters were shuffled
across data sets. At its optimum, its logit is the log likelihood-to-evidence ratio
``log r(x, theta) = log p(x | theta) - log p(x)``: the log likelihood up to a
constant in ``theta``. That one function serves both schools of inference.

- **Bayesian, under any prior**: the posterior is proportional to ``prior(theta) *
  r(x, theta)``, sampled here by vectorised slice-sampling MCMC
  (:meth:`~skamortise.NeuralRatioEstimator.sample`). The prior is an argument of
  ``sample``, not of training, so it can be changed afterwards without simulating
  or training again (as long as the new posterior stays where the training
  parameters put mass).
- **Likelihood-based**: the maximum likelihood estimate maximises ``log r``
  (``predict``); ``lr_test`` compares ``2 (max log r - log r(theta_0))`` with a
  chi-square law (Wilks); ``confidence_interval`` gives profile-likelihood
  intervals, the values ``theta_j`` whose profile log-likelihood is within
  ``chi2_1(0.95) / 2`` of the maximum.

The model has ``m = 10`` replicates ``x_j ~ N(mu, sigma^2)``, trained under the
conjugate prior of :class:`skamortise.models.GaussianReplicates`. Every answer is
checked against the exact likelihood: the posterior under the training prior
against exact draws, the posterior under a new prior against a grid, the MLE
against the sample mean and standard deviation, and the test and intervals against
the exact profile likelihood. The figure shows both posteriors (the new prior pulls
``mu`` towards 1 and ``sigma`` towards 1) and the profile log-likelihood of ``mu``
with the 95% cut-off. The script ends by checking both posteriors against the exact
ones with a classifier two-sample test (C2ST; 0.5 means indistinguishable).

Run ``python examples/ratio_estimator.py [--fast] [--out DIR]``.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _known_answers import caption, check_known_answers, grid_draws, save_or_show
from scipy import stats

from skamortise import NeuralRatioEstimator, simulate
from skamortise.diagnostics import c2st
from skamortise.models import GaussianReplicates

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args = parser.parse_args()

m = 10
n_train = 3_000 if args.fast else 20_000
n_draws = 500 if args.fast else 10_000

model = GaussianReplicates()
X, y = simulate(model.prior, model.simulator, n_train, n_replicates=m, random_state=0)
# The full run uses the estimator's defaults (early stopping); the fast run a
# smaller network for fewer epochs.
small = dict(hidden_layer_sizes=(32, 32), max_epochs=60)
nre = NeuralRatioEstimator(
    bounds=model.bounds, random_state=0, **(small if args.fast else {})
).fit(X, y)

theta_true = np.array([0.4, 0.8])
x_obs = model.simulator(theta_true[None], np.random.default_rng(1), n_replicates=m)
x = x_obs[0, :, 0]


def new_prior(theta):
    """A prior chosen after training: mu ~ N(1, 0.2^2), sigma ~ LogNormal(0, 0.3)."""
    theta = np.atleast_2d(theta)
    return stats.norm.logpdf(theta[:, 0], 1.0, 0.2) + stats.lognorm.logpdf(
        theta[:, 1], s=0.3
    )


# --- the exact likelihood on a grid, for checking --------------------------------
mu_grid = np.linspace(-1.5, 2.5, 241)
sigma_grid = np.linspace(0.2, 2.5, 231)
MU, SIGMA = np.meshgrid(mu_grid, sigma_grid, indexing="ij")
loglik = stats.norm.logpdf(x[:, None, None], MU, SIGMA).sum(axis=0)
points = np.column_stack([MU.ravel(), SIGMA.ravel()])


def grid_moments(log_density):
    weights = np.exp(log_density - log_density.max()).ravel()
    weights /= weights.sum()
    mean = weights @ points
    return mean, np.sqrt(weights @ (points - mean) ** 2), weights.reshape(MU.shape)


# --- posteriors: the training prior, then a new one -------------------------------
under_training_prior = nre.sample(
    x_obs, n_draws, prior=model.prior_log_prob, random_state=0
)[0]
exact_draws = model.posterior_sample(x_obs, n_draws, np.random.default_rng(0))[0]
under_new_prior = nre.sample(x_obs, n_draws, prior=new_prior, random_state=0)[0]
new_mean, new_sd, new_density = grid_moments(
    loglik + new_prior(points).reshape(MU.shape)
)
new_exact_draws = grid_draws(
    [mu_grid, sigma_grid], new_density, n_draws, np.random.default_rng(0)
)
accuracy = {
    "training prior": c2st(exact_draws, under_training_prior, random_state=0),
    "new prior": c2st(new_exact_draws, under_new_prior, random_state=0),
}

rows = {
    "NRE, training prior": under_training_prior,
    "exact, training prior": exact_draws,
    "NRE, new prior": under_new_prior,
}
rows = {k: [*v.mean(0), *v.std(0)] for k, v in rows.items()}
rows["exact (grid), new prior"] = [*new_mean, *new_sd]
print(f"true (mu, sigma) = {theta_true.tolist()}; posterior means and sds")
columns = ["mean mu", "mean sigma", "sd mu", "sd sigma"]
print(pd.DataFrame(rows, index=columns).T.round(3).to_string())
print(
    "C2ST accuracy, NRE vs exact draws:", {k: round(v, 3) for k, v in accuracy.items()}
)

# --- likelihood: MLE, a test, profile intervals ----------------------------------
mle_exact = np.array([x.mean(), x.std()])
statistic, pvalue = nre.lr_test(x_obs, theta_true)
exact_statistic = 2 * (loglik.max() - stats.norm.logpdf(x, *theta_true).sum())
interval = nre.confidence_interval(x_obs, alpha=0.05)[0]
cutoff = stats.chi2.ppf(0.95, df=1) / 2
profiles = [loglik.max(axis=1), loglik.max(axis=0)]  # over sigma, over mu
exact_interval = [
    (g[p >= loglik.max() - cutoff].min(), g[p >= loglik.max() - cutoff].max())
    for g, p in zip([mu_grid, sigma_grid], profiles, strict=True)
]
print("\nMaximum likelihood and 95% profile-likelihood intervals")
print(
    pd.DataFrame(
        {
            "MLE (NRE)": nre.predict(x_obs)[0],
            "MLE (exact)": mle_exact,
            "interval (NRE)": [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in interval],
            "interval (exact)": [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in exact_interval],
        },
        index=model.parameter_names,
    )
    .round(3)
    .to_string()
)
print(
    f"\nLikelihood-ratio test of the true value: statistic {statistic[0]:.2f} "
    f"(exact {exact_statistic:.2f}), p-value {pvalue[0]:.3f} "
    f"(exact {stats.chi2.sf(exact_statistic, 2):.3f})"
)

# --- figure ----------------------------------------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(11, 3.5))
_, _, training_density = grid_moments(
    loglik + model.prior_log_prob(points).reshape(MU.shape)
)
panels = [
    (training_density, under_training_prior, "training prior"),
    (new_density, under_new_prior, "new prior"),
]
for ax, (density, draws, title) in zip(axes, panels, strict=False):
    ax.contour(MU, SIGMA, density, levels=5, colors="k", linewidths=0.8)
    ax.scatter(*draws[:1000].T, s=2, alpha=0.3)
    ax.plot(*theta_true, "rx")
    ax.set(
        xlabel="mu",
        ylabel="sigma",
        title=f"posterior, {title}\nC2ST vs exact {accuracy[title]:.3f}",
        xlim=(-0.8, 1.6),
        ylim=(0.3, 2.0),
    )
# Profile log-likelihood of mu: exact, and from the learned log ratio on the grid.
learned = nre.log_ratio(x_obs, points[None]).reshape(MU.shape)
ax = axes[2]
ax.plot(mu_grid, profiles[0] - profiles[0].max(), "k", label="exact")
profile_nre = learned.max(axis=1)
ax.plot(mu_grid, profile_nre - profile_nre.max(), "C0--", label="NRE")
ax.axhline(-cutoff, color="grey", lw=1, ls=":", label="95% cut-off")
ax.axvspan(*interval[0], alpha=0.15, label="NRE interval")
ax.set(
    xlabel="mu",
    ylabel="profile log-likelihood",
    ylim=(-6, 0.5),
    xlim=(-0.8, 1.6),
    title="profile likelihood of mu",
)
ax.legend(fontsize=7)
fig.tight_layout()

caption(
    fig,
    f"Contours: exact posterior; dots: NRE draws (MCMC). C2ST NRE vs exact, "
    f"{n_draws:,} + {n_draws:,} draws (0.5 = indistinguishable): training prior "
    f"{accuracy['training prior']:.3f}, new prior {accuracy['new prior']:.3f}",
)
save_or_show({"ratio": fig}, args.out)

# --- known answers: the exact posteriors ---------------------------------------------
c2st_max = 0.75 if args.fast else 0.6
check_known_answers(
    c2st_training_prior=(accuracy["training prior"], 0.45, c2st_max),
    c2st_new_prior=(accuracy["new prior"], 0.45, c2st_max),
)
