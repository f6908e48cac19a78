"""Loss functions of the point, quantile and ratio estimators.

The point and quantile losses map ``(estimate, truth)`` tensors of shape
``(batch, n_parameters)`` to a loss per entry; the Bayes estimator under the loss (its
minimiser in expectation over the posterior) is given for each. The ratio losses map
classifier logits to one number (see the section below).
"""

from __future__ import annotations

from numbers import Integral, Real

import torch


def squared_error(estimate: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``(estimate - truth)^2``: the Bayes estimator is the posterior mean."""
    return (estimate - truth) ** 2


def absolute_error(estimate: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``|estimate - truth|``: the Bayes estimator is the posterior median."""
    return (estimate - truth).abs()


def tanh_loss(estimate: torch.Tensor, truth: torch.Tensor, k: float) -> torch.Tensor:
    """``tanh(|estimate - truth| / k)``: a smooth 0-1 loss; as k -> 0 its Bayes
    estimator tends to the posterior mode."""
    return torch.tanh((estimate - truth).abs() / k)


def pinball(
    estimate: torch.Tensor, truth: torch.Tensor, tau: torch.Tensor
) -> torch.Tensor:
    """``u * (tau - 1{u < 0})`` with ``u = truth - estimate``: the Bayes estimator is
    the posterior tau-quantile. ``tau`` broadcasts against the last axis."""
    u = truth - estimate
    return u * (tau - (u < 0).to(u.dtype))


POINT_LOSSES = {"squared": squared_error, "absolute": absolute_error, "tanh": tanh_loss}


# -- ratio estimation --------------------------------------------------------------
# Each maps the logits ``joint`` (n,) of dependent pairs and ``marginal`` (n, k) of
# the same data sets paired with ``k`` parameters drawn from the other pairs, to a
# scalar loss. At every minimiser the logit is the log likelihood-to-evidence ratio.


def _binary_cross_entropy(joint: torch.Tensor, marginal: torch.Tensor) -> torch.Tensor:
    # softplus(-l) = -log sigmoid(l), softplus(l) = -log(1 - sigmoid(l)); the shuffled
    # pairs are weighted as one class so the classes stay balanced.
    return (
        torch.nn.functional.softplus(-joint).mean()
        + torch.nn.functional.softplus(marginal).mean()
    ) / 2


def ratio_bce(joint: torch.Tensor, marginal: torch.Tensor) -> torch.Tensor:
    """Balanced binary cross-entropy of dependent (label 1) against shuffled pairs
    (label 0): NRE-A (Hermans et al., 2020). The logit's optimum is
    ``log p(x | theta) - log p(x)``."""
    return _binary_cross_entropy(joint, marginal)


def ratio_balanced(
    joint: torch.Tensor, marginal: torch.Tensor, lambda_: float = 100.0
) -> torch.Tensor:
    """BNRE (Delaunoy et al., 2022): the binary cross-entropy plus
    ``lambda_ * (mean sigmoid(joint) + mean sigmoid(marginal) - 1)^2``.

    The balancing term is zero for the exact ratio, so the optimum is unchanged; at
    finite budgets it favours classifiers that are not overconfident, which gives
    conservative (wider) posteriors."""
    balance = torch.sigmoid(joint).mean() + torch.sigmoid(marginal).mean() - 1
    return _binary_cross_entropy(joint, marginal) + lambda_ * balance.square()


def ratio_contrastive(
    joint: torch.Tensor, marginal: torch.Tensor, gamma: float = 1.0
) -> torch.Tensor:
    """NRE-C (Miller, Weniger and Forré, 2022) with ``K = marginal.shape[1]``.

    Each data set ``x`` comes with ``K`` parameters; in class ``k`` (``1..K``) the
    ``k``-th is the dependent one, in class 0 all are independent draws. Class 0 has
    probability ``1 / (1 + gamma)``, each other class ``gamma / (K (1 + gamma))``, and
    the classifier ``p(k | x, theta_1..K) = gamma r_k / (K + gamma sum_j r_j)`` (class
    0: ``K / (...)``) with ``r = exp(logit)``. The dependent examples put their pair
    first, followed by the first ``K - 1`` shuffled parameters; the independent
    examples use all ``K``. The cross-entropy's minimiser is the exact log ratio, with
    no free constant (unlike NRE-B's logits).
    """
    n, k = marginal.shape
    if k < 1:
        raise ValueError("the contrastive loss needs K >= 1 shuffled parameters.")
    log_gamma = torch.log(torch.as_tensor(gamma, dtype=joint.dtype))
    log_k = torch.log(torch.as_tensor(float(k), dtype=joint.dtype))
    anchor = log_k.expand(n, 1).to(joint.device)
    joint_set = torch.cat([joint[:, None], marginal[:, : k - 1]], dim=1)
    log_norm_joint = torch.logsumexp(
        torch.cat([log_gamma + joint_set, anchor], dim=1), dim=1
    )
    log_norm_marginal = torch.logsumexp(
        torch.cat([log_gamma + marginal, anchor], dim=1), dim=1
    )
    log_p_joint = log_gamma + joint - log_norm_joint
    log_p_marginal = log_k - log_norm_marginal
    p_joint = gamma / (1 + gamma)
    return -(p_joint * log_p_joint + (1 - p_joint) * log_p_marginal).mean()


RATIO_LOSSES = {
    "bce": ratio_bce,
    "balanced": ratio_balanced,
    "contrastive": ratio_contrastive,
}

# Parameters from other pairs set against each data set in a training batch, and
# the other options of each ratio loss (``loss_kwargs`` overrides them).
RATIO_LOSS_DEFAULTS = {
    "bce": {"K": 4},
    "balanced": {"K": 4, "lambda": 100.0},
    "contrastive": {"K": 9, "gamma": 1.0},
}
_RATIO_LOSS_ARGUMENTS = {"lambda": "lambda_"}


def ratio_loss_options(loss: str, loss_kwargs: dict | None) -> tuple[int, dict]:
    """The number of contrasting parameters ``K`` and the keyword arguments of a
    ratio loss, from its defaults and the user's ``loss_kwargs`` (validated)."""
    defaults = RATIO_LOSS_DEFAULTS[loss]
    options = {**defaults, **(loss_kwargs or {})}
    unknown = set(options) - set(defaults)
    if unknown:
        raise ValueError(
            f"loss_kwargs for loss={loss!r} accepts {sorted(defaults)}; "
            f"got {sorted(unknown)}."
        )
    k = options.pop("K")
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"loss_kwargs['K'] must be an integer >= 1; got {k!r}.")
    for name, value in options.items():
        if isinstance(value, bool) or not isinstance(value, Real) or value <= 0:
            raise ValueError(
                f"loss_kwargs[{name!r}] must be a positive number; got {value!r}."
            )
    return int(k), {_RATIO_LOSS_ARGUMENTS.get(n, n): v for n, v in options.items()}
