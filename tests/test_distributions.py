"""Tests for the conditional distribution heads and the bounds transform."""

import copy
import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian
from torch.distributions import MultivariateNormal

from skamortise.distributions import (
    DISTRIBUTIONS,
    BoundsTransform,
    MultivariateGaussianMixture,
    build_distribution,
)

# The test machine is small and shared; one thread keeps these tests polite.
torch.set_num_threads(1)

NAMES = sorted(DISTRIBUTIONS)
FLOWS = ["coupling", "maf", "spline"]
CONTEXT = 3
TINY = {
    "gaussian": {"hidden_features": 8},
    "mixture": {"n_components": 3, "hidden_features": 8},
    "coupling": {"n_transforms": 2, "hidden_features": 8},
    "maf": {"n_transforms": 2, "hidden_features": 8},
    "spline": {"n_transforms": 2, "hidden_features": 8},
}


def make_head(name, p, seed=0, perturb=0.1, **options):
    """Build a tiny head deterministically without touching the global RNG state.

    The parameters are then nudged so that layers initialised at zero (flows start
    at the identity) are exercised too.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = build_distribution(
            name, n_parameters=p, context_features=CONTEXT, **{**TINY[name], **options}
        )
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for param in head.parameters():
            param.add_(perturb * torch.randn(param.shape, generator=generator))
    return head


def randn(*shape, seed=0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype)


def draw(dist, n, seed=0):
    """Sample reproducibly; the global RNG state is restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return dist.sample((n,))


def trapezoid_mass(log_prob, axis):
    """Integrate ``exp(log_prob)`` over a grid given on ``axis`` in every dim."""
    density = log_prob.exp()
    for _ in range(density.ndim):
        density = torch.trapezoid(density, axis, dim=0)
    return float(density)


# --- the contract every head follows ----------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("batch", [1, 7])
def test_shapes(name, p, batch):
    head = make_head(name, p)
    dist = head(randn(batch, CONTEXT))
    theta = randn(batch, p, seed=1)
    assert dist.batch_shape == (batch,)
    assert dist.event_shape == (p,)
    assert dist.log_prob(theta).shape == (batch,)
    samples = draw(dist, 5)
    assert samples.shape == (5, batch, p)
    assert torch.isfinite(samples).all()
    assert not samples.requires_grad
    # Many theta per context (grids, importance weights) broadcast as usual.
    assert dist.log_prob(samples).shape == (5, batch)
    assert dist.log_prob(theta[:1].expand(4, 1, p)).shape == (4, batch)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("p", [1, 3])
def test_gradients_reach_every_parameter(name, p):
    head = make_head(name, p)
    loss = -head(randn(16, CONTEXT)).log_prob(randn(16, p, seed=1)).mean()
    loss.backward()
    for param_name, param in head.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("p", [1, 3])
def test_double_agrees_with_float(name, p):
    head = make_head(name, p)
    context, theta = randn(7, CONTEXT), randn(7, p, seed=1)
    expected = head(context).log_prob(theta)
    head64 = copy.deepcopy(head).double()
    dist64 = head64(context.double())
    result = dist64.log_prob(theta.double())
    assert result.dtype == torch.float64
    torch.testing.assert_close(result.float(), expected, rtol=1e-4, atol=1e-4)
    assert draw(dist64, 3).dtype == torch.float64


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
    head = make_head(name, 2, seed=0)
    other = make_head(name, 2, seed=5)
    other.load_state_dict(head.state_dict())
    context, theta = randn(4, CONTEXT), randn(4, 2, seed=1)
    torch.testing.assert_close(
        other(context).log_prob(theta), head(context).log_prob(theta)
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("p", [1, 2])
def test_density_integrates_to_one(name, p):
    head = make_head(name, p, perturb=0.2).double()
    context = randn(1, CONTEXT, dtype=torch.float64)
    axis = torch.linspace(-10, 10, 801 if p == 1 else 201, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(*[axis] * p, indexing="ij"), dim=-1)
    with torch.no_grad():
        log_prob = (
            head(context).log_prob(grid.reshape(-1, 1, p)).reshape(grid.shape[:-1])
        )
    assert trapezoid_mass(log_prob, axis) == pytest.approx(1.0, abs=1e-2)


def test_coupling_spline_is_a_density():
    head = make_head("spline", 2, perturb=0.2, passes=2).double()
    context = randn(1, CONTEXT, dtype=torch.float64)
    axis = torch.linspace(-10, 10, 201, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1)
    with torch.no_grad():
        log_prob = head(context).log_prob(grid.reshape(-1, 1, 2)).reshape(201, 201)
    assert trapezoid_mass(log_prob, axis) == pytest.approx(1.0, abs=1e-2)
    theta = draw(head(randn(3, CONTEXT, dtype=torch.float64)), 5)
    assert theta.shape == (5, 3, 2) and torch.isfinite(theta).all()
    with pytest.raises(ValueError, match="passes"):
        build_distribution("spline", n_parameters=2, context_features=1, passes=0)


# --- each family against a reference ---------------------------------------


def test_gaussian_matches_full_covariance_reference():
    head = make_head("gaussian", 3)
    dist = head(randn(5, CONTEXT))
    tril = dist.scale_tril
    assert torch.equal(tril, tril.tril())
    assert (tril.diagonal(dim1=-2, dim2=-1) > 0).all()
    reference = MultivariateNormal(dist.loc, covariance_matrix=tril @ tril.mT)
    theta = randn(5, 3, seed=1)
    torch.testing.assert_close(dist.log_prob(theta), reference.log_prob(theta))


def test_mixture_matches_sum_of_components():
    head = make_head("mixture", 2)
    dist = head(randn(4, CONTEXT))
    assert isinstance(dist, MultivariateGaussianMixture)
    theta = randn(4, 2, seed=1)
    covariance = dist.scale_tril @ dist.scale_tril.mT
    components = MultivariateNormal(dist.loc, covariance_matrix=covariance)
    density = (dist.weights * components.log_prob(theta[:, None]).exp()).sum(-1)
    torch.testing.assert_close(dist.log_prob(theta), density.log())


def test_mixture_samples_match_moments():
    head = make_head("mixture", 2).double()
    dist = head(randn(3, CONTEXT, dtype=torch.float64))
    samples = draw(dist, 20_000)
    torch.testing.assert_close(samples.mean(0), dist.mean, atol=0.05, rtol=0)
    torch.testing.assert_close(samples.var(0), dist.variance, atol=0.1, rtol=0.05)


def normalizer(dist):
    """Return ``theta -> (z, log|det dz/dtheta|)`` and ``z -> theta`` of a flow."""
    if hasattr(dist, "normalize"):
        return dist.normalize, dist.generate
    return dist.transform.call_and_ladj, dist.transform.inv


@pytest.mark.parametrize("name", FLOWS)
@pytest.mark.parametrize("p", [1, 2, 3])
def test_flow_inverse_and_log_det(name, p):
    head = make_head(name, p, perturb=0.2).double()
    dist = head(randn(1, CONTEXT, dtype=torch.float64))
    forward, inverse = normalizer(dist)
    theta = randn(4, 1, p, seed=1, dtype=torch.float64)
    z, log_det = forward(theta)
    torch.testing.assert_close(inverse(z), theta)
    for point, expected in zip(theta, log_det, strict=True):
        matrix = jacobian(lambda x: forward(x)[0], point)
        _, log_abs = torch.linalg.slogdet(matrix.reshape(p, p))
        torch.testing.assert_close(log_abs, expected.squeeze())
    # log_prob is the base density at z plus the log-determinant.
    base = -0.5 * z.square().sum(-1) - 0.5 * p * math.log(2 * math.pi)
    torch.testing.assert_close(dist.log_prob(theta), base + log_det)


def test_coupling_starts_as_standard_normal():
    head = make_head("coupling", 2, perturb=0.0)
    theta = randn(6, 2, seed=1)
    expected = MultivariateNormal(torch.zeros(2), torch.eye(2)).log_prob(theta)
    torch.testing.assert_close(head(randn(6, CONTEXT)).log_prob(theta), expected)


@pytest.mark.parametrize("name", ["coupling", "spline"])
def test_flow_rsample_is_differentiable(name):
    head = make_head(name, 2)
    samples = head(randn(3, CONTEXT)).rsample((4,))
    samples.sum().backward()
    assert any(param.grad is not None for param in head.parameters())


# --- a short fit ------------------------------------------------------------


def bimodal(n, generator):
    sign = torch.randint(0, 2, (n, 1), generator=generator) * 2 - 1
    return 2.0 * sign + 0.5 * torch.randn(n, 1, generator=generator)


def held_out_log_likelihood(name, steps=300, batch=128):
    head = make_head(name, 1, perturb=0.0, hidden_features=16)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        context = torch.randn(batch, CONTEXT, generator=generator)
        loss = -head(context).log_prob(bimodal(batch, generator)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = torch.Generator().manual_seed(1)
    context = torch.randn(2000, CONTEXT, generator=test)
    with torch.no_grad():
        return float(head(context).log_prob(bimodal(2000, test)).mean())


def test_multimodal_heads_beat_gaussian_on_bimodal_target():
    gaussian = held_out_log_likelihood("gaussian")
    # The best Gaussian fit has variance 4.25, i.e. a mean log-likelihood of -2.14;
    # the target itself scores about -1.42.
    assert gaussian < -2.0
    for name in ["mixture", "spline"]:
        assert held_out_log_likelihood(name) > gaussian + 0.4, name


# --- building by name -------------------------------------------------------


def test_build_distribution_rejects_bad_input():
    with pytest.raises(ValueError, match="Unknown distribution"):
        build_distribution("normal", n_parameters=1, context_features=1)
    with pytest.raises(ValueError, match="n_parameters"):
        build_distribution("gaussian", n_parameters=0, context_features=1)
    with pytest.raises(ValueError, match="context_features"):
        build_distribution("spline", n_parameters=2, context_features=0)
    with pytest.raises(TypeError):
        build_distribution("gaussian", n_parameters=1, context_features=1, bins=3)


def test_build_distribution_accepts_numpy_sizes():
    head = build_distribution("coupling", np.int64(2), np.int64(CONTEXT))
    assert head(randn(2, CONTEXT)).sample((1,)).shape == (1, 2, 2)


# --- the bounds transform ---------------------------------------------------

BOUNDS = [(None, None), (0.0, None), (None, 1.0), (-2.0, 3.0), (1.0, 1.5)]


@pytest.fixture
def bounds():
    return BoundsTransform.from_bounds(BOUNDS)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bounds_round_trip(bounds, dtype):
    u = randn(50, 5, dtype=dtype) * 3
    theta = bounds(u)
    assert theta.dtype == dtype
    torch.testing.assert_close(bounds.inv(theta), u, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("value", [-50.0, 50.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bounds_respect_support_at_extremes(bounds, value, dtype):
    u = torch.full((2, 3, 5), value, dtype=dtype, requires_grad=True)
    theta = bounds(u)
    lower = torch.tensor([lo if lo is not None else -math.inf for lo, _ in BOUNDS])
    upper = torch.tensor([hi if hi is not None else math.inf for _, hi in BOUNDS])
    assert torch.isfinite(theta).all()
    assert (theta >= lower.to(dtype)).all() and (theta <= upper.to(dtype)).all()
    log_det = bounds.log_abs_det_jacobian(u)
    assert log_det.shape == (2, 3) and torch.isfinite(log_det).all()
    (theta.sum() + log_det.sum()).backward()
    assert torch.isfinite(u.grad).all()
    # Values on a bound map back to finite numbers.
    assert torch.isfinite(bounds.inv(theta.detach())).all()


def test_bounds_log_det_matches_autograd(bounds):
    u = randn(4, 5, dtype=torch.float64) * 2
    for row, expected in zip(u, bounds.log_abs_det_jacobian(u), strict=True):
        _, log_abs = torch.linalg.slogdet(jacobian(bounds, row))
        torch.testing.assert_close(log_abs, expected)


def test_bounds_identity_and_values():
    open_bounds = BoundsTransform([-math.inf, -math.inf], [math.inf, math.inf])
    assert open_bounds.is_identity
    u = randn(3, 2)
    assert torch.equal(open_bounds(u), u)
    boxed = BoundsTransform.from_bounds([(0, 10)])
    assert float(boxed(torch.zeros(1))) == pytest.approx(5.0)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([(1.0, 1.0)], "below its upper"),
        ([(None, None), (2.0, 1.0)], "parameter 1"),
        ([(0.0, None, 1.0)], "pair"),
        ([], "at least one"),
    ],
)
def test_bounds_reject_bad_pairs(bad, match):
    with pytest.raises(ValueError, match=match):
        BoundsTransform.from_bounds(bad)


def test_bounds_reject_wrong_length():
    with pytest.raises(ValueError, match="3 parameters"):
        BoundsTransform.from_bounds([(0, 1), (0, 1)], n_parameters=3)
    with pytest.raises(ValueError, match="same length"):
        BoundsTransform([0.0, 0.0], [1.0])


def test_bounds_is_a_torch_transform(bounds):
    # The one bounds map is a Transform: it composes into a TransformedDistribution
    # whose density is the base density with the Jacobian of the map.
    assert isinstance(bounds, torch.distributions.Transform)
    assert bounds.bijective and bounds.event_dim == 1
    base = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(5, dtype=torch.float64), 1.0), 1
    )
    mapped = torch.distributions.TransformedDistribution(base, [bounds])
    u = randn(7, 5, dtype=torch.float64)
    theta = bounds(u)
    expected = base.log_prob(u) - bounds.log_abs_det_jacobian(u, theta)
    torch.testing.assert_close(mapped.log_prob(theta), expected, rtol=1e-6, atol=1e-8)
    assert bounds.domain.check(u).all()
    assert bounds.codomain.check(theta).all()


def test_bounds_codomain_is_the_open_box(bounds):
    inside = bounds(torch.zeros(1, 5, dtype=torch.float64))
    assert bounds.codomain.check(inside).all()
    for j, (low, high) in enumerate(BOUNDS):
        for edge in (low, high):
            if edge is not None:
                on_edge = inside.clone()
                on_edge[0, j] = edge
                assert not bounds.codomain.check(on_edge).any()


def test_bounds_pickle_round_trip(bounds):
    import pickle

    copy = pickle.loads(pickle.dumps(bounds))
    u = randn(3, 5, dtype=torch.float64)
    assert torch.equal(copy(u), bounds(u))
    assert torch.equal(copy.inv(bounds(u)), bounds.inv(bounds(u)))


def test_bounds_from_a_pickle_of_the_module_version(bounds):
    # Before it was a Transform, BoundsTransform was an nn.Module whose pickle held
    # the bounds among its buffers; such pickles still load.
    state = {
        "training": True,
        "_parameters": {},
        "_buffers": {"lower": bounds.lower.clone(), "upper": bounds.upper.clone()},
        "_modules": {},
        "n_parameters": 5,
        "is_identity": False,
    }
    old = BoundsTransform.__new__(BoundsTransform)
    old.__setstate__(state)
    u = randn(4, 5, dtype=torch.float64)
    assert torch.equal(old(u), bounds(u))
    assert old.bijective and old.event_dim == 1
