"""Batched Gaussian mixtures, the proposals of the independence sampler.

One mixture per data set (weights, means, Cholesky factors), fitted by weighted EM
to importance-weighted points. An optional uniform component on a box keeps the
importance weights ``target / proposal`` bounded on the box (a defensive mixture,
Hesterberg 1995), so an independence sampler using it is uniformly ergodic there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch

from ._tensor import rand, randn

# EM iterations; a fixed count keeps the fit one batched computation.
_EM_ITERATIONS = 30
# Covariance floor, as a fraction of each data set's overall variance: components
# cannot collapse onto a few heavy points, yet stay far narrower than the target.
_RIDGE = 1e-4
# Largest (data sets x points x components x parameters) held at once during EM.
_EM_CHUNK = 2**23


@dataclass(frozen=True)
class GaussianMixture:
    """Mixtures of full-covariance Gaussians, one per data set.

    ``box_weight`` of the mass is uniform on the box ``[lower, upper]`` (if given),
    the rest is the Gaussian mixture.

    Attributes
    ----------
    log_weights : torch.Tensor of shape (n_datasets, n_components)
        Log mixture weights of the Gaussian part (each row sums to one).
    means : torch.Tensor of shape (n_datasets, n_components, n_parameters)
    cholesky : torch.Tensor
        Lower Cholesky factors of the covariances, of shape
        ``(n_datasets, n_components, n_parameters, n_parameters)``.
    lower, upper : torch.Tensor of shape (n_parameters,) or None
        The box of the uniform component.
    box_weight : float
        Mass of the uniform component, in [0, 1).
    """

    log_weights: torch.Tensor
    means: torch.Tensor
    cholesky: torch.Tensor
    lower: torch.Tensor | None = None
    upper: torch.Tensor | None = None
    box_weight: float = 0.0

    def with_box(self, lower, upper, weight: float) -> GaussianMixture:
        """The same mixture with ``weight`` of its mass uniform on a finite box."""
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"weight must lie in [0, 1); got {weight!r}.")
        if weight > 0 and not bool(torch.isfinite(upper - lower).all()):
            raise ValueError("a uniform component needs a finite box.")
        return GaussianMixture(
            self.log_weights, self.means, self.cholesky, lower, upper, weight
        )

    @cached_property
    def inverse_cholesky(self) -> torch.Tensor:
        """Inverses of the Cholesky factors, same shape as ``cholesky``."""
        eye = torch.eye(
            self.cholesky.shape[-1],
            dtype=self.cholesky.dtype,
            device=self.cholesky.device,
        )
        return torch.linalg.solve_triangular(self.cholesky, eye, upper=False)

    @cached_property
    def log_det_cholesky(self) -> torch.Tensor:
        """``log |L_j|``, half the log determinant of each covariance."""
        return torch.diagonal(self.cholesky, dim1=-2, dim2=-1).log().sum(-1)

    def rows(self, index: slice) -> GaussianMixture:
        """The mixtures of the data sets ``index``."""
        return GaussianMixture(
            self.log_weights[index],
            self.means[index],
            self.cholesky[index],
            self.lower,
            self.upper,
            self.box_weight,
        )

    def component_log_prob(self, theta: torch.Tensor) -> torch.Tensor:
        """``log N(theta; mean_j, cov_j)``, shape ``(n_datasets, k, n_components)``."""
        n_parameters = theta.shape[-1]
        diff = theta[:, :, None, :] - self.means[:, None]
        z = torch.einsum("njab,nkjb->nkja", self.inverse_cholesky, diff)
        constant = 0.5 * n_parameters * math.log(2 * math.pi)
        return -0.5 * z.square().sum(-1) - self.log_det_cholesky[:, None] - constant

    def log_prob(self, theta: torch.Tensor) -> torch.Tensor:
        """Log density of ``theta`` ``(n_datasets, k, p)``: ``(n_datasets, k)``."""
        return self.log_prob_and_nearest(theta)[0]

    def log_prob_and_nearest(
        self, theta: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log density and the index of the Gaussian component most responsible
        for each point, both of shape ``(n_datasets, k)``."""
        log_r = self.log_weights[:, None] + self.component_log_prob(theta)
        nearest = log_r.argmax(dim=-1)
        return self._with_box(theta, torch.logsumexp(log_r, dim=-1)), nearest

    def _with_box(self, theta: torch.Tensor, log_gauss: torch.Tensor) -> torch.Tensor:
        if self.box_weight == 0.0:
            return log_gauss
        inside = ((theta >= self.lower) & (theta <= self.upper)).all(-1)
        log_box = math.log(self.box_weight) - (self.upper - self.lower).log().sum()
        log_box = torch.where(inside, log_box, -torch.inf)
        return torch.logaddexp(math.log1p(-self.box_weight) + log_gauss, log_box)

    def sample(self, k: int, generator: torch.Generator) -> torch.Tensor:
        """``k`` draws per data set, shape ``(n_datasets, k, n_parameters)``."""
        n_datasets, _, n_parameters = self.means.shape
        like = self.means
        component = torch.multinomial(
            self.log_weights.exp().to(generator.device),
            k,
            replacement=True,
            generator=generator,
        ).to(like.device)
        index = component[..., None].expand(-1, -1, n_parameters)
        means = self.means.gather(1, index)
        factors = self.cholesky.gather(
            1, index[..., None].expand(-1, -1, -1, n_parameters)
        )
        noise = randn((n_datasets, k, n_parameters), generator, like)
        draws = means + torch.einsum("nkab,nkb->nka", factors, noise)
        if self.box_weight == 0.0:
            return draws
        u = rand((n_datasets, k, n_parameters), generator, like)
        uniform = self.lower + (self.upper - self.lower) * u
        pick = rand((n_datasets, k), generator, like) < self.box_weight
        return torch.where(pick[..., None], uniform, draws)


def _weighted_moments(points, weights):
    mean = torch.einsum("nm,nma->na", weights, points)
    centred = points - mean[:, None]
    cov = torch.einsum("nm,nma,nmb->nab", weights, centred, centred)
    return mean, cov


def _initial_means(points, weights, whitened, n_components, generator):
    """Weighted k-means++ seeding (Arthur and Vassilvitskii, 2007), batched."""
    n_datasets, n_points, _ = points.shape
    rows = torch.arange(n_datasets, device=points.device)
    first = torch.multinomial(weights.to(generator.device), 1, generator=generator)
    chosen = [first[:, 0].to(points.device)]
    nearest = torch.full((n_datasets, n_points), torch.inf).to(points)
    for _ in range(1, n_components):
        centre = whitened[rows, chosen[-1]]
        distance = (whitened - centre[:, None]).square().sum(-1)
        nearest = torch.minimum(nearest, distance)
        score = weights * nearest
        # Fewer distinct points than components: fall back to the weights.
        score = torch.where(score.sum(-1, keepdim=True) > 0, score, weights)
        pick = torch.multinomial(score.to(generator.device), 1, generator=generator)
        chosen.append(pick[:, 0].to(points.device))
    index = torch.stack(chosen, dim=1)
    return points.gather(1, index[..., None].expand(-1, -1, points.shape[-1]))


def _em(points, weights, n_components, generator, n_iterations, init):
    n_datasets, _, n_parameters = points.shape
    mean, cov = _weighted_moments(points, weights)
    # A point mass (one point holding all the weight) still gets a positive floor.
    floor = torch.finfo(points.dtype).eps * (1 + mean.square())
    variance = torch.maximum(torch.diagonal(cov, dim1=1, dim2=2), floor)
    ridge = _RIDGE * torch.diag_embed(variance)[:, None]  # (n, 1, p, p)
    if init is None:
        whitened = points / variance.sqrt()[:, None]
        means = _initial_means(points, weights, whitened, n_components, generator)
        covs = (cov[:, None] + ridge).expand(-1, n_components, -1, -1)
        log_weights = torch.full(
            (n_datasets, n_components), -math.log(n_components)
        ).to(points)
    else:
        log_weights, means = init.log_weights, init.means
        covs = init.cholesky @ init.cholesky.transpose(-1, -2)
    for _ in range(n_iterations):
        mixture = GaussianMixture(log_weights, means, torch.linalg.cholesky(covs))
        log_r = log_weights[:, None] + mixture.component_log_prob(points)
        r = torch.softmax(log_r, dim=-1) * weights[..., None]  # (n, m, J)
        mass = r.sum(1)  # (n, J)
        safe = mass.clamp_min(1e-300)
        means = torch.einsum("nmj,nma->nja", r, points) / safe[..., None]
        centred = points[:, :, None] - means[:, None]  # (n, m, J, p)
        weighted = (r[..., None] * centred).permute(0, 2, 3, 1)  # (n, J, p, m)
        covs = weighted @ centred.permute(0, 2, 1, 3)
        covs = covs / safe[..., None, None] + ridge
        log_weights = torch.log(mass.clamp_min(1e-30) / mass.sum(-1, keepdim=True))
    return GaussianMixture(log_weights, means, torch.linalg.cholesky(covs))


def fit_gaussian_mixture(
    points: torch.Tensor,
    log_weights: torch.Tensor,
    n_components: int,
    generator: torch.Generator,
    n_iterations: int = _EM_ITERATIONS,
    init: GaussianMixture | None = None,
) -> GaussianMixture:
    """Fit a mixture per data set to weighted points by EM.

    Parameters
    ----------
    points : torch.Tensor of shape (n_datasets, n_points, n_parameters)
    log_weights : torch.Tensor of shape (n_datasets, n_points)
        Unnormalised log weights (e.g. importance weights); ``-inf`` drops a point.
        Every data set needs a point of finite weight.
    n_components : int
        Components per data set.
    generator : torch.Generator
        Seeds the k-means++ initialisation.
    n_iterations : int, default=30
        EM iterations.
    init : GaussianMixture, default=None
        Start EM from this mixture (of ``n_components`` components) instead of a
        k-means++ seeding.

    Returns
    -------
    GaussianMixture
        Without a uniform component (see :meth:`GaussianMixture.with_box`).
    """
    weights = torch.softmax(log_weights, dim=1)
    n_datasets, n_points, n_parameters = points.shape
    per_dataset = max(1, n_points * n_components * n_parameters)
    chunk = max(1, _EM_CHUNK // per_dataset)
    parts = [
        _em(
            points[i : i + chunk],
            weights[i : i + chunk],
            n_components,
            generator,
            n_iterations,
            None if init is None else init.rows(slice(i, i + chunk)),
        )
        for i in range(0, n_datasets, chunk)
    ]
    return GaussianMixture(
        torch.cat([p.log_weights for p in parts]),
        torch.cat([p.means for p in parts]),
        torch.cat([p.cholesky for p in parts]),
    )
