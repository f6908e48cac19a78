"""Neural quantile estimators: amortised marginal posterior quantiles and intervals."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._base import BaseNeuralEstimator
from .._checks import check_alpha, check_levels
from .._runtime import with_thread_limit
from ..losses import pinball
from ..nn.heads import QuantileFunctionHead, QuantileHead
from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from ._simulator import SimulatorFitMixin

# Levels drawn for training the any-level variant stay this far from 0 and 1.
_TAU_EPS = 1e-4


class NeuralQuantileEstimator(SimulatorFitMixin, RegressorMixin, BaseNeuralEstimator):
    __doc__ = f"""Neural estimator of marginal posterior quantiles.

    One network outputs, for every parameter, the posterior quantiles at levels
    ``tau_1 < ... < tau_K``, trained with the summed pinball loss
    ``rho_tau(u) = u (tau - 1{{u < 0}})``, whose Bayes estimator is the posterior
    tau-quantile. Quantiles cannot cross, for any input: the lowest level is output
    directly and each higher one adds a positive (softplus) increment. A central
    credible interval costs one forward pass.

    With ``quantiles=None`` the level is a network input instead: the network
    represents the whole quantile function, increasing in tau by construction, and
    any level can be asked for after training (levels are drawn uniformly during
    training, so the loss is the continuous ranked probability score up to a factor).

    Parameters
    ----------
    quantiles : sequence of float or None, default=(0.025, 0.5, 0.975)
        Strictly increasing levels in (0, 1); None for any level after training.
    bounds : sequence of (float or None, float or None), default=None
        Support of each parameter, ``None`` for an open side, e.g.
        ``[(None, None), (0, None)]``. Quantiles are learned on an unbounded scale and
        mapped back by an increasing bijection (quantiles are equivariant under
        increasing maps), so every output lies in the support, in order.
{TRAINING_PARAMETERS}
    Attributes
    ----------
    quantiles_ : ndarray of shape (n_quantiles,) or None
        The trained levels (None for the any-level variant).
{FITTED_ATTRIBUTES}
    See Also
    --------
    NeuralBayesEstimator : point estimates under other losses.
    NeuralPosteriorEstimator : the joint posterior, not only its marginals.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralQuantileEstimator
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.normal(size=(500, 1))
    >>> X = theta + rng.normal(size=(500, 1))
    >>> est = NeuralQuantileEstimator(hidden_layer_sizes=(16,), max_epochs=20,
    ...                               random_state=0).fit(X, theta)
    >>> est.predict_interval(np.zeros((1, 1)), alpha=0.05).shape
    (1, 1, 2)
    """

    _balance_replicates = True

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "quantiles": ["array-like", None],
        "bounds": ["array-like", None],
    }

    def __init__(
        self,
        quantiles=(0.025, 0.5, 0.975),
        *,
        bounds=None,
        summary_network="auto",
        summary_network_kwargs=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        learning_rate=1e-3,
        batch_size=128,
        max_epochs=500,
        validation_fraction=0.1,
        n_iter_no_change=10,
        weight_decay=0.0,
        warm_start=False,
        verbose=0,
        random_state=None,
        device="auto",
        n_threads=1,
        checkpoint_dir=None,
        checkpoint_every=10,
        warn_out_of_range=False,
        missing="error",
    ):
        self._store_init_arguments(locals())

    # -- family hooks ---------------------------------------------------------------
    def _check_family_params(self):
        if self.quantiles is not None:
            check_levels(self.quantiles, "quantiles")

    def _set_family_attributes(self, n_parameters, focused=False):
        self.quantiles_ = (
            None if self.quantiles is None else check_levels(self.quantiles)
        )

    def _build_head(self, n_summaries, n_parameters):
        if self.quantiles_ is None:
            return QuantileFunctionHead(n_summaries, n_parameters)
        return QuantileHead(n_summaries, n_parameters, len(self.quantiles_))

    def _levels(self, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.quantiles_, dtype=like.dtype, device=like.device)

    def _loss(self, network, batch, generator):
        summary = network.summarise(*batch.inputs)
        if self.quantiles_ is None:
            shape = (len(batch), batch.y.shape[1], 1)
            tau = torch.rand(shape, generator=generator).to(batch.y)
            tau = tau.clamp(_TAU_EPS, 1 - _TAU_EPS)
            estimate = network.head(summary, tau)
        else:
            tau = self._levels(batch.y)
            estimate = network.head(summary)
        return pinball(estimate, batch.y.unsqueeze(-1), tau).sum(dim=-1).mean()

    # -- inference ------------------------------------------------------------------
    def _quantiles_at(self, X, levels):
        data = self._prepare(X)
        with torch.no_grad():
            summary = self._summaries(data)
            if self.quantiles_ is None:
                tau = (
                    torch.as_tensor(levels)
                    .to(summary)
                    .expand(len(summary), self.n_parameters_, len(levels))
                )
                z = self.network_.head(summary, tau)
            else:
                index = [
                    int(np.flatnonzero(np.isclose(self.quantiles_, t))[0])
                    for t in levels
                ]
                z = self.network_.head(summary)[..., index]
            # The map acts on each parameter and is increasing: quantiles pass.
            theta = self._parameter_map(z.device)(z.transpose(1, 2)).transpose(1, 2)
        return theta.cpu().numpy()

    def _resolve_levels(self, quantiles) -> np.ndarray:
        if quantiles is None:
            if self.quantiles_ is None:
                raise ValueError(
                    "This estimator was trained for any level (quantiles=None); pass "
                    "the levels to predict_quantiles(X, quantiles=[...])."
                )
            return self.quantiles_
        levels = check_levels(quantiles, "quantiles")
        if self.quantiles_ is not None:
            missing = [
                float(t) for t in levels if not np.isclose(self.quantiles_, t).any()
            ]
            if missing:
                raise ValueError(
                    f"Levels {missing} were not trained; this estimator has "
                    f"quantiles_={self.quantiles_.tolist()}. Train with those levels, "
                    "or with quantiles=None to ask for any level."
                )
        return levels

    @with_thread_limit
    def predict_quantiles(self, X, quantiles=None):
        """Marginal posterior quantiles of each parameter.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets in the layout used at fit.
        quantiles : sequence of float, default=None
            Levels to return: a subset of the trained ones (default: all of them), or
            any levels in (0, 1) for the any-level variant (then required).

        Returns
        -------
        q : ndarray of shape (n_datasets, n_parameters, n_quantiles)
            Non-decreasing along the last axis.
        """
        check_is_fitted(self)
        levels = self._resolve_levels(quantiles)
        values = self._quantiles_at(X, np.asarray(levels))
        return self._output_levels(values, X, levels, "quantile")

    @with_thread_limit
    def predict(self, X):
        """Posterior median of each parameter (the level nearest 0.5 if not trained).

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.

        Returns
        -------
        y_pred : ndarray of shape (n_datasets, n_parameters) or (n_datasets,)
        """
        check_is_fitted(self)
        levels = np.array([0.5]) if self.quantiles_ is None else self.quantiles_
        middle = levels[[int(np.argmin(np.abs(levels - 0.5)))]]
        return self._output_estimates(self._quantiles_at(X, middle)[..., 0], X)

    @with_thread_limit
    def predict_interval(self, X, alpha=0.05):
        """Central ``1 - alpha`` credible interval of each parameter.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        alpha : float, default=0.05
            One minus the credibility; the levels ``alpha / 2`` and ``1 - alpha / 2``
            must have been trained (any alpha for the any-level variant).

        Returns
        -------
        interval : ndarray of shape (n_datasets, n_parameters, 2)
            Lower and upper ends.
        """
        alpha = check_alpha(alpha)
        check_is_fitted(self)
        levels = self._resolve_levels([alpha / 2, 1 - alpha / 2])
        values = self._quantiles_at(X, np.asarray(levels))
        return self._output_levels(values, X, ["lower", "upper"], "bound")

    @with_thread_limit
    def score(self, X, y, sample_weight=None):
        """Negative mean pinball loss (summed over levels), higher is better.

        Parameters are measured in units of their training standard deviation on the
        unbounded scale. For the any-level variant the levels are random draws with a
        fixed seed, so the score estimates the negative CRPS / 2.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y : array-like of shape (n_datasets,) or (n_datasets, n_parameters)
            True parameters.
        sample_weight : None
            Not supported.

        Returns
        -------
        score : float
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by score.")
        return -self._mean_loss(X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # score is a negative pinball risk, not R^2 (see NeuralBayesEstimator).
        tags.regressor_tags.poor_score = True
        return tags
