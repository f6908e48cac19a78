"""The ratio estimator's training objectives: values, optima and normalisation."""

import numpy as np
import pytest
import torch

from skamortise import NeuralRatioEstimator
from skamortise.losses import ratio_balanced, ratio_bce, ratio_contrastive

JOINT = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
MARGINAL = torch.tensor([[-0.3, 1.2], [0.0, -2.0], [0.7, -0.1]], dtype=torch.float64)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def test_bce_matches_hand_computation():
    j, m = JOINT.numpy(), MARGINAL.numpy()
    expected = (-np.mean(np.log(_sigmoid(j))) - np.mean(np.log(1 - _sigmoid(m)))) / 2
    assert float(ratio_bce(JOINT, MARGINAL)) == pytest.approx(expected, rel=1e-12)


def test_balanced_adds_the_squared_balance_term():
    j, m = JOINT.numpy(), MARGINAL.numpy()
    balance = np.mean(_sigmoid(j)) + np.mean(_sigmoid(m)) - 1
    got = float(ratio_balanced(JOINT, MARGINAL, lambda_=7.0))
    expected = float(ratio_bce(JOINT, MARGINAL)) + 7.0 * balance**2
    assert got == pytest.approx(expected, rel=1e-12)
    assert balance**2 > 1e-3  # the term is not trivially zero on these logits


def test_contrastive_matches_hand_computation():
    gamma, k = 2.0, 2
    j, m = JOINT.numpy(), MARGINAL.numpy()
    total = 0.0
    for i in range(3):
        joint_set = np.array([j[i], m[i, 0]])  # the pair first, then K - 1 others
        p_joint = gamma * np.exp(j[i]) / (k + gamma * np.exp(joint_set).sum())
        p_marginal = k / (k + gamma * np.exp(m[i]).sum())
        w = gamma / (1 + gamma)
        total += -(w * np.log(p_joint) + (1 - w) * np.log(p_marginal))
    got = float(ratio_contrastive(JOINT, MARGINAL, gamma=gamma))
    assert got == pytest.approx(total / 3, rel=1e-12)


@pytest.mark.parametrize("gamma", [1.0, 3.0])
def test_contrastive_optimum_is_the_exact_log_ratio(gamma):
    # x and theta take two values each with a known joint table. Each example row
    # (x, a, b, c) has the dependent pair (x, a) and independent draws b, c; with
    # K = 2 the loss sees the joint set (a, b) and the marginal set (b, c). Weighting
    # every row by p(x, a) p(b) p(c) gives the expected loss exactly, whose
    # minimiser must be log r(x, theta) itself, with no free constant.
    p = np.array([[0.4, 0.1], [0.15, 0.35]])
    pt = p.sum(0)
    log_r = np.log(p / np.outer(p.sum(1), pt))
    rows = [
        (x, a, b, c) for x in (0, 1) for a in (0, 1) for b in (0, 1) for c in (0, 1)
    ]
    weight = torch.tensor([p[x, a] * pt[b] * pt[c] for x, a, b, c in rows])
    logits = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [logits], max_iter=1000, tolerance_grad=1e-12, tolerance_change=1e-15
    )

    def expected_loss():
        optimizer.zero_grad()
        losses = torch.stack(
            [
                ratio_contrastive(
                    logits[x, a][None],
                    torch.stack([logits[x, b], logits[x, c]])[None],
                    gamma=gamma,
                )
                for x, a, b, c in rows
            ]
        )
        loss = (weight * losses).sum()
        loss.backward()
        return loss

    optimizer.step(expected_loss)
    np.testing.assert_allclose(logits.detach().numpy(), log_r, atol=1e-4)


@pytest.mark.parametrize(
    "loss, kwargs",
    [("bce", None), ("balanced", {"lambda": 10.0}), ("contrastive", {"K": 3})],
)
def test_trained_log_ratio_matches_the_exact_one(loss, kwargs):
    # theta ~ U(-2, 2), x ~ N(theta, 0.5^2): log r = log N(x; theta, 0.5) - log p(x).
    rng = np.random.default_rng(0)
    theta = rng.uniform(-2, 2, size=(3000, 1))
    X = theta + 0.5 * rng.normal(size=theta.shape)
    est = NeuralRatioEstimator(
        loss=loss,
        loss_kwargs=kwargs,
        hidden_layer_sizes=(32, 32),
        n_iter_no_change=10,
        random_state=0,
    ).fit(X, theta)
    x = np.array([[-0.5], [0.0], [0.8]])
    grid = np.linspace(-1.5, 1.5, 31)
    learned = est.log_ratio(x, np.broadcast_to(grid[:, None], (3, 31, 1)))
    from scipy import stats

    like = stats.norm.logpdf(x, grid[None, :], 0.5)
    evidence = np.log(
        (stats.norm.cdf((2 - x) / 0.5) - stats.norm.cdf((-2 - x) / 0.5)) / 4
    )
    exact = like - evidence
    near = np.abs(grid[None, :] - x) < 1.0  # where the likelihood has mass
    # An exactly normalised ratio: no free constant (checked as the mean error).
    assert np.abs((learned - exact)[near]).max() < 0.4


def test_loss_kwargs_are_validated():
    X, y = np.zeros((20, 1)), np.linspace(0, 1, 20)[:, None]
    for kwargs, match in [
        ({"gamma": 1.0}, "accepts"),
        ({"K": 0}, "K"),
        ({"lambda": -1.0}, "lambda"),
    ]:
        loss = "balanced" if "lambda" in kwargs else "bce"
        with pytest.raises(ValueError, match=match):
            NeuralRatioEstimator(loss=loss, loss_kwargs=kwargs, max_epochs=1).fit(X, y)
