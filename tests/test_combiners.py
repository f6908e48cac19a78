"""The ensemble's combiners, on members with known outputs (no training)."""

import numpy as np
import pytest

from skamortise._combiners import (
    ClassifierCombiner,
    PointCombiner,
    PosteriorCombiner,
    QuantileCombiner,
    RatioCombiner,
    combiner_for,
)

RNG = np.random.default_rng(0)
THETA = RNG.normal(size=(30, 2)) * [1.0, 5.0]
X = np.zeros((30, 1))


class Point:
    def __init__(self, shift):
        self.shift = shift

    def predict(self, X):
        return THETA + self.shift


class Quantile(Point):
    quantiles_ = np.array([0.1, 0.5, 0.9])

    def predict_quantiles(self, X, quantiles=None):
        levels = self.quantiles_ if quantiles is None else np.asarray(quantiles)
        return THETA[..., None] + self.shift + (levels - 0.5)


class Ratio(Point):
    def log_ratio(self, X, y):
        return -np.abs(y - THETA[:, None]).sum(-1) + self.shift


class Posterior(Point):
    def log_prob(self, X, y):
        return np.full(len(y), self.shift)

    def sample(self, X, n_samples, random_state=None):
        return np.full((len(X), n_samples, 2), self.shift)


class Classifier(Point):
    classes_ = np.array(["a", "b"])

    def predict_proba(self, X):
        return np.tile([0.5 + self.shift, 0.5 - self.shift], (len(X), 1))


def test_the_family_is_read_from_public_methods():
    for member, kind in [
        (Point(0), PointCombiner),
        (Quantile(0), QuantileCombiner),
        (Ratio(0), RatioCombiner),
        (Posterior(0), PosteriorCombiner),
        (Classifier(0), ClassifierCombiner),
    ]:
        assert type(combiner_for([member])) is kind


def test_point_score_is_the_scaled_squared_error_of_the_mean():
    combiner = PointCombiner([Point(0.2), Point(0.6)])
    np.testing.assert_allclose(combiner.predict(X), THETA + 0.4)
    expected = -np.mean((0.4 / THETA.std(axis=0)) ** 2)
    assert combiner.score(X, THETA) == pytest.approx(expected, rel=1e-12)


def test_quantile_score_is_the_scaled_pinball_loss_of_the_average():
    combiner = QuantileCombiner([Quantile(0.0), Quantile(1.0)])
    levels = Quantile.quantiles_
    q = THETA[..., None] + 0.5 + (levels - 0.5)
    u = (THETA[..., None] - q) / THETA.std(axis=0)[:, None]
    expected = -np.mean((u * (levels - (u < 0))).sum(-1))
    assert combiner.score(X, THETA) == pytest.approx(expected, rel=1e-12)
    values, returned = combiner.predict_quantiles(X, None)
    np.testing.assert_allclose(values, q)
    np.testing.assert_array_equal(returned, levels)


def test_ratio_score_is_the_balanced_cross_entropy_of_the_mean_log_ratio():
    combiner = RatioCombiner([Ratio(1.0), Ratio(3.0)])
    theta = THETA
    shuffle = np.random.default_rng(0)
    order = np.stack([shuffle.permutation(len(theta)) for _ in range(4)])
    pairs = np.concatenate([theta[:, None], theta[order.T]], axis=1)
    log_r = -np.abs(pairs - theta[:, None]).sum(-1) + 2.0
    expected = (
        -(np.logaddexp(0, -log_r[:, 0]).mean() + np.logaddexp(0, log_r[:, 1:]).mean())
        / 2
    )
    assert combiner.score(X, theta) == pytest.approx(expected, rel=1e-12)


def test_posterior_mixture_density_and_draws():
    combiner = PosteriorCombiner([Posterior(0.0), Posterior(1.0)])
    expected = np.log((np.exp(0.0) + np.exp(1.0)) / 2)
    np.testing.assert_allclose(combiner.log_prob(X, THETA), expected)
    draws = combiner.sample(X, 400, np.random.RandomState(0))
    share = draws.mean()  # the share of draws from the second member
    assert abs(share - 0.5) < 5 * np.sqrt(0.25 / draws[..., 0].size)
    with pytest.raises(ValueError, match="prior applies to ratio"):
        combiner.sample(X, 4, np.random.RandomState(0), prior=object())


def test_classifier_averages_probabilities():
    combiner = ClassifierCombiner([Classifier(0.1), Classifier(0.3)])
    np.testing.assert_allclose(combiner.predict_proba(X)[0], [0.7, 0.3])
    assert (combiner.predict(X) == "a").all()
    assert combiner.score(X, np.full(30, "a")) == 1.0
