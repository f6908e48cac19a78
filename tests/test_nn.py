"""Summary networks: masking, moments, invariances."""

import numpy as np
import pytest
import torch

from skamortise import NeuralBayesEstimator
from skamortise.nn import MLP, AmortisedNetwork, DeepSet, Standardise


def _deepset():
    torch.manual_seed(0)
    phi = MLP(2, (8,))
    rho = MLP(8 + 1 + 4, (8,))
    return DeepSet(phi, rho, standardise_sets=True).double()


def test_padding_does_not_change_the_summary():
    net = _deepset()
    x = torch.randn(1, 5, 2, dtype=torch.float64)
    padded = torch.cat([x, 1e3 * torch.randn(1, 3, 2, dtype=torch.float64)], dim=1)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    torch.testing.assert_close(net(padded, mask), net(x))


def test_single_and_identical_replicates_are_finite():
    net = _deepset()
    assert torch.isfinite(net(torch.ones(2, 1, 2, dtype=torch.float64))).all()
    assert torch.isfinite(net(torch.ones(2, 4, 2, dtype=torch.float64))).all()


def test_standardised_sets_see_their_own_moments():
    # For x and 3x + 2 the pooled phi features agree; rho receives the moments
    # explicitly: means 3 mean + 2 and log sds shifted by log 3.
    net = _deepset()
    seen = []
    net.rho = _Recorder(seen)
    x = torch.randn(1, 6, 2, dtype=torch.float64)
    net(x)
    net(3 * x + 2)
    a, b = seen
    # pooled phi and log m (equal up to the sd floor, which does not scale)
    torch.testing.assert_close(a[:, :9], b[:, :9], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(b[:, 9:11], 3 * a[:, 9:11] + 2)
    torch.testing.assert_close(
        b[:, 11:], a[:, 11:] + torch.log(torch.tensor(3.0)), rtol=1e-4, atol=1e-4
    )


class _Recorder(torch.nn.Module):
    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def forward(self, pooled):
        self.seen.append(pooled)
        return pooled


def test_count_scale_appends_the_linear_count():
    seen = []
    net = DeepSet(MLP(2, (8,)), _Recorder(seen), count_scale=20).double()
    mask = torch.tensor([[True] * 5 + [False] * 3, [True] * 8])
    net(torch.randn(2, 8, 2, dtype=torch.float64), mask)
    (pooled,) = seen
    torch.testing.assert_close(pooled[:, -2], torch.tensor([5.0, 8.0]).double().log())
    torch.testing.assert_close(pooled[:, -1], torch.tensor([0.25, 0.4]).double())
    assert "count_scale" in net.state_dict()
    with pytest.raises(ValueError, match="count_scale"):
        DeepSet(MLP(2, (8,)), MLP(10, (8,)), count_scale=0)


def test_default_network_scales_counts_by_the_largest_training_count(ragged):
    from skamortise import NeuralBayesEstimator

    X, y = ragged
    est = NeuralBayesEstimator(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    est.fit(X, y)
    largest = max(len(x) for x in X)
    # The validation split may hold the largest data set; the scale comes from the
    # training part, so it is at most the overall largest count.
    scale = float(est.network_.summary.count_scale)
    assert 0.8 * largest <= scale <= largest


def test_standardise_keeps_float64_statistics_in_a_float32_network():
    # A location far from zero relative to the scale: float32 would round
    # 1e8 + 0.3 to 1e8 and shift every standardised value by 0.6.
    standardise = Standardise([1e8 + 0.3], [0.5])
    net = AmortisedNetwork(torch.nn.Identity(), MLP(1, (2,)), None, standardise)
    net = net.to(torch.float32)
    assert net.standardise.loc.dtype == torch.float64
    x = torch.tensor([[1e8 + 0.8], [1e8 - 0.2]], dtype=torch.float64)
    z = net.summarise(x)
    assert z.dtype == torch.float32
    torch.testing.assert_close(z, torch.tensor([[1.0], [-1.0]]), rtol=1e-6, atol=0)
    # Devices follow the network (meta stands in for an accelerator).
    moved = Standardise([1.0], [2.0]).to(device="meta", dtype=torch.float32)
    assert moved.loc.device.type == "meta" and moved.scale.dtype == torch.float64


def test_standardise_zeroes_padding_and_keeps_missing_entries():
    standardise = Standardise([1.0, 2.0], [2.0, 4.0])
    x = torch.tensor([[[3.0, float("nan")], [7.0, 7.0]]], dtype=torch.float64)
    z = standardise(x, torch.tensor([[True, False]]))
    assert z[0, 0, 0] == 1.0 and torch.isnan(z[0, 0, 1])
    assert (z[0, 1] == 0.0).all()
    grid = Standardise.identity((3, 3))
    assert grid.loc.shape == () and Standardise.identity((4,)).loc.shape == (4,)


def test_data_too_large_after_standardisation_is_refused():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(60, 1))
    est = NeuralBayesEstimator(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    est.fit(1e-5 * (y + rng.normal(size=(60, 1))), y)
    with pytest.raises(ValueError, match="too large for the network"):
        est.predict(np.array([[1e305]]))
