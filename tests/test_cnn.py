"""The CNN summary network on 1-D series and 2-D fields, alone and in estimators."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skamortise import NeuralBayesEstimator
from skamortise.models.gaussian_field import GaussianField
from skamortise.nn.cnn import CNN, CNNSummary
from skamortise.nn.deepset import DeepSet

TINY = dict(channels=(4, 8), hidden_layer_sizes=(8,))
SMALL = dict(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)


@pytest.mark.parametrize(
    "event_shape, spatial_dims",
    [((20,), None), ((3, 20), 1), ((8, 8), None), ((2, 8, 6), None), ((1, 1), None)],
)
def test_cnn_output_shape(event_shape, spatial_dims):
    net = CNN(event_shape, spatial_dims=spatial_dims, **TINY)
    out = net(torch.randn(5, *event_shape))
    assert out.shape == (5, 8) and net.out_features == 8
    assert net.event_ndim == len(event_shape)


def test_cnn_gradients_reach_first_convolution():
    net = CNN((8, 8), **TINY)
    net(torch.randn(4, 8, 8)).sum().backward()
    assert net.features[0].weight.grad.abs().sum() > 0


def test_cnn_global_pooling_is_shift_invariant():
    # With pointwise convolutions, global mean pooling ignores where values sit.
    net = CNN((16,), channels=(4,), kernel_size=1, hidden_layer_sizes=())
    x = torch.randn(2, 16)
    torch.testing.assert_close(net(x), net(torch.roll(x, 5, dims=1)))


def test_cnn_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"expects input \(batch, 8, 8\)"):
        CNN((8, 8), **TINY)(torch.zeros(2, 8, 7))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"event_shape": ()}, "event_shape"),
        ({"event_shape": (2, 3, 4, 5)}, "1 to 3"),
        ({"event_shape": (20,), "spatial_dims": 2}, "does not fit"),
        ({"event_shape": (8, 8), "pooling": "sum"}, "pooling"),
    ],
)
def test_cnn_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CNN(**kwargs)


def test_event_ndim_is_readable_before_building():
    assert CNNSummary((16, 16)).event_ndim == 2
    assert CNNSummary((3, 16, 16)).event_ndim == 3
    assert CNNSummary((50,)).event_ndim == 1
    assert CNNSummary((2, 50), spatial_dims=1).event_ndim == 2
    assert CNN.event_ndim_from_kwargs({"event_shape": (16, 16)}) == 2


def test_factory_builds_deepset_for_replicates():
    net = CNNSummary((8, 8), replicated=True, **TINY)()
    assert isinstance(net, DeepSet) and isinstance(net.phi, CNN)
    x = torch.randn(3, 4, 8, 8)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.bool)
    assert net(x, mask).shape == (3, 8)
    # Padded replicates do not change the summary.
    x2 = x.clone()
    x2[0, 2:] = 99.0
    torch.testing.assert_close(net(x, mask), net(x2, mask))


def test_factory_overrides_and_pickles():
    factory = CNNSummary((8, 8), **TINY)
    assert factory(channels=(2,)).features[0].out_channels == 2
    assert pickle.loads(pickle.dumps(factory)) == factory
    est = NeuralBayesEstimator(summary_network=factory)
    assert clone(est).get_params()["summary_network"] == factory


def _fields(n, rng, **kwargs):
    theta, x = GaussianField(grid_size=8).observations(n, rng, **kwargs)
    return x, theta


def test_estimator_on_1d_series():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.5, 2.0, size=(64, 1))
    X = theta * rng.normal(size=(64, 20))
    est = NeuralBayesEstimator(summary_network=CNNSummary((20,), **TINY), **SMALL)
    assert est.fit(X, theta).predict(X[:5]).shape == (5, 1)


def test_estimator_on_multichannel_1d_series():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(64, 2))
    X = theta[:, :, None] + rng.normal(size=(64, 2, 16))
    summary = CNNSummary((2, 16), spatial_dims=1, **TINY)
    est = NeuralBayesEstimator(summary_network=summary, **SMALL).fit(X, theta)
    assert est.predict(X[:3]).shape == (3, 2)
    assert est.event_shape_ == (2, 16) and not est.replicated_


def test_estimator_on_2d_fields():
    X, theta = _fields(48, 2)
    est = NeuralBayesEstimator(summary_network=CNNSummary((8, 8), **TINY), **SMALL)
    est.fit(X, theta)
    assert est.predict(X[:4]).shape == (4, 1)
    with pytest.raises(ValueError, match="features"):
        est.predict(np.zeros((2, 6, 6)))


def test_estimator_on_replicated_and_ragged_fields():
    X, theta = _fields(48, 3, n_replicates=3)
    assert X.shape == (48, 3, 8, 8)
    summary = CNNSummary((8, 8), replicated=True, **TINY)
    est = NeuralBayesEstimator(summary_network=summary, **SMALL).fit(X, theta)
    assert est.replicated_
    ragged = [X[0, :1], X[1], X[2, :2]]
    assert est.predict(ragged).shape == (3, 1)
    # A ragged data set equals its unpadded version alone.
    np.testing.assert_allclose(est.predict(ragged)[2], est.predict(X[2:3, :2])[0])


def test_cnn_class_with_kwargs():
    X, theta = _fields(48, 4)
    est = NeuralBayesEstimator(
        summary_network=CNN,
        summary_network_kwargs={"event_shape": (8, 8), **TINY},
        **SMALL,
    )
    assert est.fit(X, theta).predict(X[:2]).shape == (2, 1)
