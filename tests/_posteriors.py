"""Exact posteriors of ``skamortise.models.GaussianReplicates`` posing as estimators.

The diagnostics use estimators only through their methods, so these objects, whose
answers are exact, let tests compare a diagnostic's output with a known value. The
two parameters ``(mu, sigma)`` have very different posteriors (a Student-t around
the data mean, a square-root inverse gamma on the positive line), so a diagnostic
that mixes up the parameter order gives visibly wrong numbers.
"""

import numpy as np
from scipy import special

from skamortise.models import GaussianReplicates


def posterior_variance(model: GaussianReplicates, X) -> np.ndarray:
    """Exact marginal posterior variances of ``(mu, sigma)``, shape ``(n, 2)``."""
    q = model.posterior_params(X)
    df = 2 * q["alpha"]
    var_mu = q["beta"] / (q["alpha"] * q["kappa"]) * df / (df - 2)
    # E[sigma^2] = beta / (alpha - 1); E[sigma] as in model.posterior_mean.
    e_sigma = np.sqrt(q["beta"]) * np.exp(
        special.gammaln(q["alpha"] - 0.5) - special.gammaln(q["alpha"])
    )
    var_sigma = q["beta"] / (q["alpha"] - 1) - e_sigma**2
    return np.column_stack([var_mu, var_sigma])


class ExactPosterior:
    """Exact joint posterior draws; ``scale`` stretches them about the exact mean.

    ``scale=1`` is calibrated; ``scale < 1`` is overconfident (too narrow) and
    ``scale > 1`` underconfident (too wide).
    """

    def __init__(self, model: GaussianReplicates, scale: float = 1.0):
        self.model = model
        self.scale = scale

    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        draws = self.model.posterior_sample(X, n_samples, rng)
        if self.scale == 1.0:
            return draws
        mean = self.model.posterior_mean(X)[:, None, :]
        return mean + self.scale * (draws - mean)


class ExactIntervals:
    """Exact posterior means and equal-tailed marginal intervals."""

    def __init__(self, model: GaussianReplicates):
        self.model = model

    def predict(self, X):
        return self.model.posterior_mean(X)

    def predict_interval(self, X, alpha=0.05):
        return self.model.posterior_quantile(X, [alpha / 2, 1 - alpha / 2])


class ExactQuantiles:
    """A quantile estimator: exact marginal quantiles at ``quantiles_``."""

    quantiles_ = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])

    def __init__(self, model: GaussianReplicates):
        self.model = model

    def predict_quantiles(self, X):
        return self.model.posterior_quantile(X, self.quantiles_)
