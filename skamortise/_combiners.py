"""How an ensemble combines its members: one combiner per family, chosen once.

A combiner holds the fitted members and turns their array outputs into the
ensemble's arrays; labelling them (pandas) is the ensemble's business. The family
is read from the members' public methods, never from their classes, so the
ensemble imports no estimator family.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn import config_context
from sklearn.metrics import accuracy_score

from ._checks import check_levels
from ._runtime import torch_generator
from ._seeds import draw_seed
from .inference.ratio import sample_posterior
from .losses import pinball, ratio_bce, squared_error

# Levels of each member's quantile function pooled into the mixture's quantiles.
N_MIXTURE_LEVELS = 200
# Default levels of a posterior mixture's predict_quantiles (as the members').
DEFAULT_LEVELS = (0.025, 0.5, 0.975)
# Levels on which members trained for any level are scored.
SCORE_LEVELS = np.arange(1, 20) / 20
# Shuffled pairs per dependent pair, and their seed, when scoring ratio ensembles.
N_SHUFFLES = 4
SCORE_SEED = 0


def _tensor(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64))


def _call(member, method: str, *args, **kwargs) -> np.ndarray:
    """A member's output as an array (members label nothing for the ensemble)."""
    with config_context(transform_output="default"):
        return np.asarray(getattr(member, method)(*args, **kwargs))


def _scale(theta: np.ndarray) -> np.ndarray:
    """Each parameter's standard deviation in ``theta`` (1 where it is constant)."""
    scale = theta.std(axis=0)
    return np.where(scale > 0, scale, 1.0)


class PointCombiner:
    """Point estimates: the members' mean; scored by the mean squared error."""

    def __init__(self, members: list) -> None:
        self.members = members

    def outputs(self, method: str, *args, **kwargs) -> list[np.ndarray]:
        """Every member's ``method`` output, as arrays."""
        return [_call(member, method, *args, **kwargs) for member in self.members]

    def mean(self, method: str, *args, **kwargs) -> np.ndarray:
        return np.mean(self.outputs(method, *args, **kwargs), axis=0)

    def predict(self, X) -> np.ndarray:
        return self.mean("predict", X)

    def score(self, X, y) -> float:
        """Negative mean squared error, each parameter in units of its sd in ``y``."""
        theta = np.asarray(y, dtype=np.float64)
        theta = theta.reshape(len(theta), -1)
        estimate = self.predict(X).reshape(theta.shape)
        scale = _scale(theta)
        return -float(
            squared_error(_tensor(estimate / scale), _tensor(theta / scale)).mean()
        )


class QuantileCombiner(PointCombiner):
    """Quantile estimates: quantile averaging (it keeps the levels in order)."""

    def predict_quantiles(self, X, quantiles) -> tuple[np.ndarray, np.ndarray]:
        """The averaged quantiles and their levels (the members' when None)."""
        values = self.mean("predict_quantiles", X, quantiles)
        levels = self.members[0].quantiles_ if quantiles is None else quantiles
        return values, np.asarray(levels, dtype=np.float64)

    def predict_interval(self, X, alpha: float) -> np.ndarray:
        return self.mean("predict_interval", X, alpha=alpha)

    def score(self, X, y) -> float:
        """Negative mean pinball loss summed over levels, as the members score."""
        theta = np.asarray(y, dtype=np.float64)
        theta = theta.reshape(len(theta), -1)
        levels = getattr(self.members[0], "quantiles_", None)
        levels = SCORE_LEVELS if levels is None else np.asarray(levels)
        q = self.mean("predict_quantiles", X, levels)
        scale = _scale(theta)[:, None]
        loss = pinball(
            _tensor(q / scale), _tensor(theta[..., None] / scale), _tensor(levels)
        )
        return -float(loss.sum(-1).mean())


class PosteriorCombiner(PointCombiner):
    """Posteriors: the equal-weight mixture ``(1/K) sum_k q_k(theta | X)``."""

    def _mixture_quantiles(self, X, levels: np.ndarray) -> np.ndarray:
        grid = (np.arange(N_MIXTURE_LEVELS) + 0.5) / N_MIXTURE_LEVELS
        pooled = np.concatenate(self.outputs("predict_quantiles", X, grid), axis=-1)
        return np.moveaxis(np.quantile(pooled, levels, axis=-1), 0, -1)

    def predict_quantiles(self, X, quantiles) -> tuple[np.ndarray, np.ndarray]:
        levels = check_levels(DEFAULT_LEVELS if quantiles is None else quantiles)
        return self._mixture_quantiles(X, levels), levels

    def predict_interval(self, X, alpha: float) -> np.ndarray:
        return self._mixture_quantiles(X, np.array([alpha / 2, 1 - alpha / 2]))

    def log_prob(self, X, y) -> np.ndarray:
        values = np.stack(self.outputs("log_prob", X, y))
        return logsumexp(values, axis=0) - np.log(len(values))

    def sample(self, X, n_samples: int, rng, prior=None, **_) -> np.ndarray:
        """Each draw from a member chosen uniformly at random."""
        if prior is not None:
            raise ValueError(
                "prior applies to ratio estimators only; a posterior "
                "estimator's prior is the one it was trained under."
            )
        seeds = draw_seed(rng, size=len(self.members))
        draws = np.stack(
            [
                _call(member, "sample", X, n_samples, random_state=int(seed))
                for member, seed in zip(self.members, seeds, strict=True)
            ]
        )  # (K, n, s, p)
        pick = rng.randint(len(draws), size=draws.shape[1:3])
        return np.take_along_axis(draws, pick[None, ..., None], axis=0)[0]

    def score(self, X, y) -> float:
        """Mean log density of the mixture."""
        return float(np.mean(self.log_prob(X, y)))


class RatioCombiner(PointCombiner):
    """Ratios: the members' mean log ratio."""

    def log_ratio(self, X, y) -> np.ndarray:
        return self.mean("log_ratio", X, y)

    def sample(
        self, X, n_samples, rng, prior=None, *, method, n_chains, warmup, thin
    ) -> np.ndarray:
        """Draws from ``prior(theta) exp(mean_k log r_k(X, theta))``."""
        if method not in ("mcmc", "importance"):
            raise ValueError(f"method must be 'mcmc' or 'importance'; got {method!r}.")
        log_ratios = [member.log_ratio_function(X) for member in self.members]
        if prior is None:
            prior = getattr(self.members[0], "proposal_", None)

        def mean_log_ratio(theta):
            return sum(log_r(theta) for log_r in log_ratios) / len(log_ratios)

        like = log_ratios[0].summary
        supports = [member.support_ for member in self.members]
        lower = torch.as_tensor(np.max([s[0] for s in supports], axis=0)).to(like)
        upper = torch.as_tensor(np.min([s[1] for s in supports], axis=0)).to(like)
        samples, _ = sample_posterior(
            mean_log_ratio,
            prior,
            lower,
            upper,
            len(like),
            n_samples,
            method=method,
            n_chains=n_chains,
            warmup=warmup,
            thin=thin,
            generator=torch_generator(draw_seed(rng)),
        )
        return samples

    def score(self, X, y) -> float:
        """Negative balanced cross-entropy on dependent and shuffled pairs."""
        theta = np.asarray(y, dtype=np.float64)
        theta = theta.reshape(len(theta), -1)
        shuffle = np.random.default_rng(SCORE_SEED)
        order = np.stack([shuffle.permutation(len(theta)) for _ in range(N_SHUFFLES)])
        pairs = np.concatenate([theta[:, None], theta[order.T]], axis=1)
        log_r = _tensor(self.log_ratio(X, pairs))
        return -float(ratio_bce(log_r[:, 0], log_r[:, 1:]))


class ClassifierCombiner(PointCombiner):
    """Model comparison: the members' mean class probabilities."""

    def predict_proba(self, X) -> np.ndarray:
        return self.mean("predict_proba", X)

    def predict(self, X) -> np.ndarray:
        return self.members[0].classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_log_proba(self, X) -> np.ndarray:
        """Log of the mean probabilities, stably from the members' logs."""
        if hasattr(self.members[0], "predict_log_proba"):
            values = np.stack(self.outputs("predict_log_proba", X))
            return logsumexp(values, axis=0) - np.log(len(values))
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def log_bayes_factor(self, X, i, j) -> np.ndarray:
        """Posterior log odds of labels ``i`` to ``j`` minus the prior log odds."""
        first = self.members[0]
        a, b = (_class_index(first.classes_, label) for label in (i, j))
        log_proba = self.predict_log_proba(X)
        prior = np.asarray(first.class_prior_, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return log_proba[:, a] - log_proba[:, b] - np.log(prior[a] / prior[b])

    def score(self, X, y) -> float:
        """Accuracy."""
        return float(accuracy_score(y, self.predict(X)))


def _class_index(classes: np.ndarray, label) -> int:
    where = np.flatnonzero(classes == label)
    if len(where) != 1:
        raise ValueError(f"{label!r} is not a class label; classes_ is {classes!r}.")
    return int(where[0])


def combiner_for(members: list) -> PointCombiner:
    """The combiner of the members' family, read from their public methods."""
    first = members[0]
    if hasattr(first, "predict_proba"):
        return ClassifierCombiner(members)
    if hasattr(first, "log_prob") and hasattr(first, "sample"):
        return PosteriorCombiner(members)
    if hasattr(first, "log_ratio"):
        return RatioCombiner(members)
    if hasattr(first, "predict_quantiles"):
        return QuantileCombiner(members)
    return PointCombiner(members)
