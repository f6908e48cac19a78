"""Neural ratio estimators: the likelihood-to-evidence ratio, for any prior."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from sklearn.base import RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch.nn import functional as F

from .. import inference
from .._base import BaseNeuralEstimator
from .._checks import check_n_samples
from .._runtime import torch_generator, with_thread_limit
from ..nn.heads import RatioHead
from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from ._priors import prior_log_density

# Shuffled (label 0) pairs per dependent pair in each training batch.
_N_SHUFFLES = 4
# Candidates per data set when initialising chains by importance resampling.
_N_INIT_CANDIDATES = 1000
# Starts per data set for maximum likelihood / MAP (shared by every data set).
_N_STARTS = 8
_START_SEED = 0


class NeuralRatioEstimator(RegressorMixin, BaseNeuralEstimator):
    __doc__ = f"""Neural ratio estimator of ``log p(X | theta) - log p(X)``.

    A classifier ``h(S(X), theta)`` is trained to tell dependent pairs ``(X_i, y_i)``
    (label 1) from pairs whose parameters are shuffled across data sets (label 0),
    with balanced binary cross-entropy and fresh shuffles every batch. At the optimum
    its logit is the log likelihood-to-evidence ratio, ``p(X)`` being the evidence
    under the proposal the training parameters came from. The ratio is prior-free:

    - ``sample`` draws from ``prior(theta) * r(X, theta)`` for a prior chosen after
      training, by vectorised MCMC (all chains of all data sets in one tensor),
      importance resampling, or a grid;
    - ``predict`` is the maximum likelihood estimate (maximising the log ratio) and
      ``predict_map`` the maximum a posteriori estimate for a prior;
    - ``lr_test`` and ``confidence_interval`` give likelihood-ratio tests and profile
      likelihood intervals calibrated by Wilks' chi-square limit.

    Inference stays inside ``support_``: the ``bounds``, with open sides replaced by
    the range of the training parameters (the ratio is learned only where the
    proposal put mass). Likewise the ratio is least accurate in the far tails of the
    likelihood, where dependent pairs were rare in training: a prior swapped in after
    training should not move the posterior several likelihood widths away from where
    the likelihood peaks.

    The default activation is SiLU rather than ReLU: a smooth log ratio in theta
    suits the gradient-based MLE/MAP and the samplers; each training batch pairs
    every data set with its own parameters and with 4 shuffled ones (balanced by
    weight), which gives a less noisy gradient than a single shuffle.

    Parameters
    ----------
    bounds : sequence of (float or None, float or None), default=None
        Support of each parameter (None for an open side).
{TRAINING_PARAMETERS}
    Attributes
    ----------
    support_ : ndarray of shape (2, n_parameters)
        Lower and upper ends of the box where inference happens.
    proposal_ : object or None
        The prior given to ``fit_simulator``, the default prior of ``sample`` when it
        has a density; None after ``fit`` (the default is then flat on ``support_``).
{FITTED_ATTRIBUTES}
    See Also
    --------
    NeuralPosteriorEstimator : amortised posterior sampling without MCMC.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralRatioEstimator
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.uniform(-2, 2, size=(500, 1))
    >>> X = theta + rng.normal(size=(500, 1))
    >>> nre = NeuralRatioEstimator(hidden_layer_sizes=(16,), max_epochs=20,
    ...                            random_state=0).fit(X, theta)
    >>> nre.log_ratio(X[:3], theta[:3]).shape
    (3,)
    >>> nre.sample(X[:2], 100, random_state=0).shape
    (2, 100, 1)
    """

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "bounds": ["array-like", None],
    }

    def __init__(
        self,
        *,
        bounds=None,
        summary_network="auto",
        summary_network_kwargs=None,
        hidden_layer_sizes=(64, 64),
        activation="silu",
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
    ):
        self._store_init_arguments(locals())

    # -- family hooks ---------------------------------------------------------------
    def _build_head(self, n_summaries, n_parameters):
        return RatioHead(
            n_summaries, n_parameters, self.hidden_layer_sizes, self.activation
        )

    def _loss(self, network, batch, generator):
        summary = network.summarise(batch.x, batch.mask)
        joint = network.head(summary, batch.y)
        # Several shuffles per batch, weighted to keep the classes balanced: the same
        # optimum with a less noisy gradient, so a sharper ratio from the same data.
        n = len(batch)
        order = torch.stack(
            [torch.randperm(n, generator=generator) for _ in range(_N_SHUFFLES)]
        ).to(batch.y.device)
        marginal = network.head(summary, batch.y[order].transpose(0, 1))
        return (
            F.binary_cross_entropy_with_logits(joint, torch.ones_like(joint))
            + F.binary_cross_entropy_with_logits(marginal, torch.zeros_like(marginal))
        ) / 2

    def _fit(self, data, y, *args, **kwargs):
        super()._fit(data, y, *args, **kwargs)
        if not (self.warm_start and hasattr(self, "support_")):
            lower = np.nanmax([y.min(axis=0), self._bound(0)], axis=0)
            upper = np.nanmin([y.max(axis=0), self._bound(1)], axis=0)
            self.support_ = np.vstack([lower, upper])
        self.proposal_ = getattr(self, "_pending_proposal", None)
        return self

    def _bound(self, side: int) -> np.ndarray:
        if self.parameter_transform_ is None:
            return np.full(self.n_parameters_, np.nan)
        bound = (
            self.parameter_transform_.lower
            if side == 0
            else self.parameter_transform_.upper
        ).numpy()
        return np.where(np.isfinite(bound), bound, np.nan)

    def _fit_simulator(self, prior, *args, **kwargs):
        has_density = hasattr(prior, "log_prob") or hasattr(prior, "logpdf")
        self._pending_proposal = prior if has_density else None
        try:
            return super()._fit_simulator(prior, *args, **kwargs)
        finally:
            del self._pending_proposal

    # -- the log ratio --------------------------------------------------------------
    def _log_ratio_fn(self, summary: torch.Tensor):
        """The differentiable log ratio ``theta (n, k, p) -> (n, k)`` for summaries."""
        transform = self.parameter_transform_
        loc = torch.as_tensor(self.y_loc_).to(summary)
        scale = torch.as_tensor(self.y_scale_).to(summary)

        def log_fn(theta):
            u = theta if transform is None else transform.inverse(theta)
            return self.network_.head(summary, (u - loc) / scale)

        return log_fn

    def _summary_tensor(self, X):
        data = self._prepare(X)
        return self._summaries(data)

    @with_thread_limit
    def log_ratio(self, X, y):
        """Estimated ``log p(X | y) - log p(X)`` for each data set.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y : array-like of shape (n_datasets, n_parameters) or \
                (n_datasets, k, n_parameters)
            One parameter value per data set, or ``k`` of them (e.g. a grid,
            ``np.broadcast_to(grid, (n_datasets, k, n_parameters))``).

        Returns
        -------
        log_ratio : ndarray of shape (n_datasets,) or (n_datasets, k)
        """
        summary = self._summary_tensor(X)
        theta = np.array(y, dtype=np.float64)
        if theta.ndim == 1 and self.n_parameters_ == 1:
            theta = theta[:, None]
        if (
            theta.ndim not in (2, 3)
            or theta.shape[-1] != self.n_parameters_
            or len(theta) != len(summary)
        ):
            raise ValueError(
                f"y must have shape (n_datasets, {self.n_parameters_}) or (n_datasets, "
                f"k, {self.n_parameters_}) with n_datasets={len(summary)}; got "
                f"{theta.shape}."
            )
        if not np.isfinite(theta).all():
            raise ValueError("y contains NaN or infinity.")
        values = torch.as_tensor(theta).to(summary)
        single = values.ndim == 2
        with torch.no_grad():
            out = self._log_ratio_fn(summary)(values[:, None] if single else values)
        return out[:, 0].cpu().numpy() if single else out.cpu().numpy()

    # -- posterior sampling ---------------------------------------------------------
    def _target(self, summary, prior):
        if prior is None:
            prior = self.proposal_
        log_prior, differentiable = prior_log_density(prior)
        log_ratio = self._log_ratio_fn(summary)

        def log_fn(theta):
            return log_prior(theta) + log_ratio(theta)

        return log_fn, differentiable

    def _box(self, like):
        lower, upper = (torch.as_tensor(b).to(like) for b in self.support_)
        return lower, upper

    @with_thread_limit
    def sample(
        self,
        X,
        n_samples=1000,
        prior=None,
        random_state=None,
        *,
        method="mcmc",
        n_chains=10,
        warmup=200,
        thin=1,
        return_info=False,
    ):
        """Draw from the posterior ``prior(theta) r(X, theta)`` of each data set.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        n_samples : int, default=1000
            Draws per data set.
        prior : object, default=None
            A prior chosen after training: a torch Distribution, an object with
            ``log_prob``/``logpdf`` (e.g. frozen scipy), or a callable mapping an
            ``(m, p)`` array to log densities. None uses ``proposal_`` when it has a
            density, else a flat prior on ``support_``.
        random_state : int, RandomState instance or None, default=None
            Seeds every random number (a torch generator).
        method : {"mcmc", "importance", "grid"}, default="mcmc"
            Slice-sampling MCMC (chains started by importance resampling, so all
            modes are found), sampling-importance-resampling from a flat proposal on
            ``support_``, or a grid (one or two parameters).
        n_chains : int, default=10
            MCMC chains per data set.
        warmup : int, default=200
            MCMC warm-up steps per chain.
        thin : int, default=1
            Keep every ``thin``-th MCMC step.
        return_info : bool, default=False
            Also return the sampler's result (MCMC: acceptance rate, R-hat, ESS per
            data set; importance: effective sample size).

        Returns
        -------
        samples : ndarray of shape (n_datasets, n_samples, n_parameters)
        info : object
            Only with ``return_info=True``.
        """
        if method not in ("mcmc", "importance", "grid"):
            raise ValueError(
                f"method must be 'mcmc', 'importance' or 'grid'; got {method!r}."
            )
        n_samples = check_n_samples(n_samples)
        summary = self._summary_tensor(X)
        log_fn, _ = self._target(summary, prior)
        seed = check_random_state(random_state).randint(2**31 - 1)
        generator = torch_generator(seed)
        lower, upper = self._box(summary)
        samples, info = sample_log_density(
            log_fn,
            lower,
            upper,
            len(summary),
            n_samples,
            method=method,
            n_chains=n_chains,
            warmup=warmup,
            thin=thin,
            generator=generator,
        )
        samples = np.asarray(samples, dtype=np.float64)
        output = self._output_samples(samples, X)
        return (output, info) if return_info else output

    # -- point estimates and frequentist inference ----------------------------------
    def _maximise(self, log_fn, summary):
        lower, upper = self._box(summary)
        gen = torch_generator(_START_SEED)
        u = torch.rand(1, _N_STARTS, len(lower), generator=gen, dtype=torch.float64)
        starts = (lower + (upper - lower) * u.to(lower)).expand(len(summary), -1, -1)
        return inference.maximize(log_fn, starts, bounds=(lower, upper))

    @with_thread_limit
    def predict(self, X):
        """Maximum likelihood estimate (maximising the log ratio) on ``support_``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.

        Returns
        -------
        y_pred : ndarray of shape (n_datasets, n_parameters) or (n_datasets,)
        """
        summary = self._summary_tensor(X)
        theta, _ = self._maximise(self._log_ratio_fn(summary), summary)
        return self._output_estimates(np.asarray(theta, dtype=np.float64), X)

    @with_thread_limit
    def predict_map(self, X, prior):
        """Maximum a posteriori estimate for a differentiable (torch) prior.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        prior : torch.distributions.Distribution
            The prior.

        Returns
        -------
        y_pred : ndarray of shape (n_datasets, n_parameters) or (n_datasets,)
        """
        summary = self._summary_tensor(X)
        log_fn, differentiable = self._target(summary, prior)
        if not differentiable:
            raise TypeError(
                "predict_map needs a torch.distributions prior (its "
                "gradient is used); sample() accepts any prior."
            )
        theta, _ = self._maximise(log_fn, summary)
        return self._output_estimates(np.asarray(theta, dtype=np.float64), X)

    @with_thread_limit
    def lr_test(self, X, y0):
        """Likelihood-ratio test of ``theta = y0`` for each data set.

        The statistic ``2 (max_theta log r - log r(y0))`` is compared with the
        chi-square distribution with ``n_parameters`` degrees of freedom (Wilks).

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y0 : array-like of shape (n_datasets, n_parameters) or (n_parameters,)
            Null values.

        Returns
        -------
        statistic : ndarray of shape (n_datasets,)
        pvalue : ndarray of shape (n_datasets,)
        """
        summary = self._summary_tensor(X)
        y0 = np.array(
            np.broadcast_to(
                np.asarray(y0, dtype=np.float64), (len(summary), self.n_parameters_)
            )
        )
        log_fn = self._log_ratio_fn(summary)
        _, best = self._maximise(log_fn, summary)
        with torch.no_grad():
            null = log_fn(torch.as_tensor(y0).to(summary)[:, None])[:, 0].cpu().numpy()
        statistic = np.maximum(2 * (np.asarray(best) - null), 0.0)
        return statistic, stats.chi2.sf(statistic, df=self.n_parameters_)

    @with_thread_limit
    def confidence_interval(self, X, alpha=0.05):
        """Profile-likelihood confidence intervals, calibrated by Wilks' theorem.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        alpha : float, default=0.05
            One minus the confidence level.

        Returns
        -------
        interval : ndarray of shape (n_datasets, n_parameters, 2)
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}.")
        summary = self._summary_tensor(X)
        log_fn = self._log_ratio_fn(summary)
        theta_hat, _ = self._maximise(log_fn, summary)
        bounds = self._box(summary)
        out = np.empty((len(summary), self.n_parameters_, 2))
        for j in range(self.n_parameters_):
            result = inference.profile_interval(
                log_fn, theta_hat, j, alpha, bounds=bounds
            )
            out[:, j, 0], out[:, j, 1] = result.lower, result.upper
        return self._output_levels(out, X, ["lower", "upper"], "bound")

    @with_thread_limit
    def score(self, X, y, sample_weight=None):
        """Negative binary cross-entropy on dependent and shuffled pairs.

        The mean held-out log-likelihood of the classifier (shuffles from a fixed
        seed), higher is better.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y : array-like of shape (n_datasets,) or (n_datasets, n_parameters)
            The parameters each data set was simulated from.
        sample_weight : None
            Not supported.

        Returns
        -------
        score : float
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by score.")
        check_is_fitted(self)
        return -self._mean_loss(X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # score is a classifier log-likelihood, not R^2 (see NeuralBayesEstimator).
        tags.regressor_tags.poor_score = True
        return tags


def _uniform_sampler(lower, upper, n):
    def draw(k, generator):
        u = torch.rand(n, k, len(lower), generator=generator, dtype=lower.dtype)
        return lower + (upper - lower) * u.to(lower)

    return draw


def sample_log_density(
    log_fn,
    lower,
    upper,
    n,
    n_samples,
    *,
    method="mcmc",
    n_chains=10,
    warmup=200,
    thin=1,
    generator=None,
):
    """Draw from ``exp(log_fn)`` on the box ``[lower, upper]`` for ``n`` data sets.

    ``log_fn`` maps ``(n, k, p)`` parameters to ``(n, k)`` unnormalised log densities.
    Returns ``(samples, info)``: ``(n, n_samples, p)`` draws and the sampler's result.
    """
    p = len(lower)
    with torch.no_grad():
        if method == "grid":
            grid = inference.grid_posterior(
                log_fn, (lower, upper), 100 if p == 1 else 60, n_datasets=n
            )
            return grid.sample(n_samples, generator=generator), grid
        if method == "importance":
            info = inference.sample_importance(
                log_fn,
                _uniform_sampler(lower, upper, n),
                lambda theta: torch.zeros(theta.shape[:-1]).to(theta),
                n_samples,
                n_proposals=max(10 * n_samples, 1000),
                n_datasets=n,
                generator=generator,
            )
            return info.samples, info
        init = _initial_points(log_fn, lower, upper, n, n_chains, generator)
        info = inference.sample_mcmc(
            log_fn,
            init,
            n_samples,
            method="slice",
            warmup=warmup,
            thin=thin,
            bounds=(lower, upper),
            generator=generator,
        )
        return info.samples, info


def _initial_points(log_fn, lower, upper, n, n_chains, generator):
    """Chain starts: importance resampling of flat candidates on the support."""
    u = torch.rand(n, _N_INIT_CANDIDATES, len(lower), generator=generator)
    candidates = lower + (upper - lower) * u.to(lower)
    weights = torch.softmax(log_fn(candidates).nan_to_num(-torch.inf), dim=1)
    pick = torch.multinomial(
        weights.cpu(), n_chains, replacement=True, generator=generator
    )
    index = pick[..., None].expand(-1, -1, len(lower)).to(candidates.device)
    return candidates.gather(1, index)
