"""Neural posterior estimators: an approximate posterior for every data set."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import BaseNeuralEstimator
from .._checks import check_n_samples
from .._runtime import torch_generator, with_thread_limit
from ..distributions import DISTRIBUTIONS, build_distribution
from ..distributions.noise import draw_from_noise
from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS

# Draws per chunk (data sets x samples) when sampling, to bound memory.
_SAMPLE_CHUNK = 2**17
# Seed of the common random numbers behind predict, predict_interval and quantiles.
_SUMMARY_SEED = 0
# distribution="auto": the spline flow up to this many parameters, MAF above.
_AUTO_SPLINE_MAX = 5


class NeuralPosteriorEstimator(RegressorMixin, BaseNeuralEstimator):
    __doc__ = f"""Neural posterior estimator: ``q(theta | X)`` for every data set.

    A summary network maps the data to the parameters of a conditional distribution
    ``q``; training minimises ``-mean_i log q(y_i | X_i)``, the expected KL divergence
    from the true posterior up to a constant. After training, sampling, densities and
    intervals cost forward passes, for all data sets at once.

    Parameters are standardised (after mapping ``bounds`` onto the real line) before
    the network sees them, and data are standardised too, so raw simulator output on
    any scale trains well; ``log_prob`` includes every Jacobian, so it is the density
    of the parameters on their own scale.

    The default activation is SiLU rather than ReLU: the posterior then changes
    smoothly with the data, and on the SBI benchmark tasks (10,000 simulations, three
    seeds) the C2ST fell from 0.552 to 0.527 on the Gaussian linear task and from
    0.524 to 0.516 on two moons, and rose from 0.912 to 0.926 on SLCP.

    Parameters
    ----------
    distribution : {{"auto", "gaussian", "mixture", "coupling", "spline", "maf"}}, \
            default="auto"
        The family of ``q``: a full-covariance Gaussian (Cholesky factor with a
        positive diagonal); a mixture of ``n_components`` full-covariance Gaussians;
        an affine coupling flow (RealNVP/Glow style, with ActNorm, permutations and
        soft-clamped scales); a rational-quadratic neural spline flow or a masked
        autoregressive flow (both from zuko) for hard, multimodal posteriors.
        ``"auto"`` is the spline flow for up to ``5`` parameters and the masked
        autoregressive flow above: both sample one parameter per pass, and in 10
        dimensions the spline flow sampled about 20 times slower for no gain in
        accuracy on the benchmarks (``distribution_`` records the choice).
    n_components : int, default=5
        Components of the ``"mixture"``.
    distribution_kwargs : dict, default=None
        Further options of the distribution head, e.g. ``n_transforms``,
        ``hidden_features`` or ``n_bins`` (see :mod:`skamortise.distributions`).
    bounds : sequence of (float or None, float or None), default=None
        Support of each parameter (None for an open side). Parameters are mapped to
        the real line for training and back for sampling, so samples always lie in
        the support.
    point_estimate : {{"mean", "median"}}, default="mean"
        What ``predict`` returns: the posterior mean (Bayes estimator under squared
        error) or the marginal medians.
    n_point_samples : int, default=1000
        Posterior draws behind ``predict`` (when not analytic), ``predict_interval``
        and ``predict_quantiles``. They use the same base noise for every data set,
        so these summaries are deterministic and do not depend on the batch.
{TRAINING_PARAMETERS}
    Attributes
    ----------
    distribution_ : str
        The family used (``"auto"`` resolved by the number of parameters).
{FITTED_ATTRIBUTES}
    See Also
    --------
    NeuralQuantileEstimator : marginal quantiles only, from one forward pass.
    NeuralRatioEstimator : the likelihood-to-evidence ratio; any prior after training.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralPosteriorEstimator
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.normal(size=(500, 2))
    >>> X = theta + rng.normal(size=(500, 2))
    >>> npe = NeuralPosteriorEstimator("gaussian", hidden_layer_sizes=(16,),
    ...                                max_epochs=20, random_state=0).fit(X, theta)
    >>> npe.sample(X[:3], 100, random_state=0).shape
    (3, 100, 2)
    >>> npe.log_prob(X[:3], theta[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "distribution": [StrOptions({"auto", *DISTRIBUTIONS})],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "distribution_kwargs": [dict, None],
        "bounds": ["array-like", None],
        "point_estimate": [StrOptions({"mean", "median"})],
        "n_point_samples": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        distribution="auto",
        *,
        n_components=5,
        distribution_kwargs=None,
        bounds=None,
        point_estimate="mean",
        n_point_samples=1000,
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
        options = dict(self.distribution_kwargs or {})
        self.distribution_ = self.distribution
        if self.distribution == "auto":
            self.distribution_ = "spline" if n_parameters <= _AUTO_SPLINE_MAX else "maf"
        if self.distribution_ == "mixture":
            options.setdefault("n_components", self.n_components)
        return build_distribution(
            self.distribution_,
            n_parameters=n_parameters,
            context_features=n_summaries,
            **options,
        )

    def _loss(self, network, batch, generator):
        return -network(batch.x, batch.mask).log_prob(batch.y).mean()

    # -- inference ------------------------------------------------------------------
    def _draws(self, data, n_samples: int, generator: torch.Generator | None):
        """``(n_datasets, n_samples, n_parameters)`` draws on the parameter scale.

        With ``generator=None`` every data set gets the same base noise (common random
        numbers); otherwise noise is drawn per data set from ``generator``.
        """
        p = self.n_parameters_
        device = self._device()
        common = None
        if generator is None:
            gen = torch_generator(_SUMMARY_SEED)
            common = (
                torch.randn(n_samples, 1, p, generator=gen, dtype=torch.float64),
                torch.rand(n_samples, 1, generator=gen, dtype=torch.float64),
            )
        out = np.empty((len(data), n_samples, p))
        step = max(1, _SAMPLE_CHUNK // n_samples)
        self.network_.eval()
        with torch.no_grad():
            for start in range(0, len(data), step):
                index = slice(start, start + step)
                context = self._summaries(data.take(index))
                dist = self.network_.head(context)
                if common is None:
                    normal = torch.randn(
                        len(context),
                        n_samples,
                        p,
                        generator=generator,
                        dtype=torch.float64,
                    ).transpose(0, 1)
                    uniform = torch.rand(
                        len(context),
                        n_samples,
                        generator=generator,
                        dtype=torch.float64,
                    ).T
                else:
                    normal, uniform = common
                z = draw_from_noise(dist, normal.to(device), uniform.to(device))
                z = z.transpose(0, 1).cpu().numpy()
                out[index] = self._to_parameter_space(self._from_standard(z))
        return out

    @with_thread_limit
    def sample(self, X, n_samples=1000, random_state=None):
        """Draw from the approximate posterior of each data set.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets in the layout used at fit.
        n_samples : int, default=1000
            Draws per data set.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws (a torch generator; the global RNG is not touched).

        Returns
        -------
        samples : ndarray of shape (n_datasets, n_samples, n_parameters)
            A DataFrame indexed by (dataset, draw) under pandas output.
        """
        data = self._prepare(X)
        n_samples = check_n_samples(n_samples)
        seed = check_random_state(random_state).randint(2**31 - 1)
        values = self._draws(data, n_samples, torch_generator(seed))
        return self._output_samples(values, X)

    @with_thread_limit
    def log_prob(self, X, y):
        """Log density of the approximate posterior at ``y``, per data set.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y : array-like of shape (n_datasets,) or (n_datasets, n_parameters)
            One parameter value per data set; ``-inf`` outside ``bounds``.

        Returns
        -------
        log_prob : ndarray of shape (n_datasets,)
        """
        data, y = self._validation_score_data(X, y)
        inside = np.ones(len(y), dtype=bool)
        if self.parameter_transform_ is not None:
            lower = self.parameter_transform_.lower.numpy()
            upper = self.parameter_transform_.upper.numpy()
            inside = ((y > lower) & (y < upper)).all(axis=1)
        u = self._to_training_space(y)
        z = torch.as_tensor((u - self.y_loc_) / self.y_scale_)
        log_jacobian = -np.log(self.y_scale_).sum()
        if self.parameter_transform_ is not None:
            log_jacobian = (
                log_jacobian
                - self.parameter_transform_.log_abs_det_jacobian(
                    torch.as_tensor(u)
                ).numpy()
            )
        self.network_.eval()
        pieces = []
        with torch.no_grad():
            for index, batch in self._chunks(data):
                dist = self.network_.head(self.network_.summarise(batch.x, batch.mask))
                pieces.append(dist.log_prob(z[index].to(batch.x)).cpu().numpy())
        return np.where(inside, np.concatenate(pieces) + log_jacobian, -np.inf)

    @with_thread_limit
    def predict(self, X):
        """Posterior mean (or marginal median, see ``point_estimate``) per data set.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.

        Returns
        -------
        y_pred : ndarray of shape (n_datasets, n_parameters) or (n_datasets,)
        """
        data = self._prepare(X)
        analytic = (
            self.point_estimate == "mean"
            and self.parameter_transform_ is None
            and self.distribution_ in ("gaussian", "mixture")
        )
        if analytic:
            with torch.no_grad():
                z = self.network_.head(self._summaries(data)).mean.cpu().numpy()
            values = self._from_standard(z)
        else:
            draws = self._draws(data, self.n_point_samples, None)
            values = (
                draws.mean(axis=1)
                if self.point_estimate == "mean"
                else np.median(draws, axis=1)
            )
        return self._output_estimates(values, X)

    @with_thread_limit
    def predict_quantiles(self, X, quantiles=(0.025, 0.5, 0.975)):
        """Marginal posterior quantiles from ``n_point_samples`` draws.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        quantiles : sequence of float, default=(0.025, 0.5, 0.975)
            Levels in [0, 1].

        Returns
        -------
        q : ndarray of shape (n_datasets, n_parameters, n_quantiles)
        """
        levels = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
        if levels.ndim != 1 or not ((levels >= 0) & (levels <= 1)).all():
            raise ValueError(f"quantiles must lie in [0, 1]; got {quantiles!r}.")
        check_is_fitted(self)
        draws = self._draws(self._prepare(X), self.n_point_samples, None)
        values = np.moveaxis(np.quantile(draws, levels, axis=1), 0, -1)
        return self._output_levels(values, X, levels, "quantile")

    @with_thread_limit
    def predict_interval(self, X, alpha=0.05):
        """Central ``1 - alpha`` credible interval of each parameter.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        alpha : float, default=0.05
            One minus the credibility.

        Returns
        -------
        interval : ndarray of shape (n_datasets, n_parameters, 2)
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}.")
        check_is_fitted(self)
        draws = self._draws(self._prepare(X), self.n_point_samples, None)
        values = np.moveaxis(
            np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=1), 0, -1
        )
        return self._output_levels(values, X, ["lower", "upper"], "bound")

    @with_thread_limit
    def score(self, X, y, sample_weight=None):
        """Mean log posterior density of ``y`` (higher is better).

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
        return float(np.mean(self.log_prob(X, y)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # score is a mean log density, not R^2 (see NeuralBayesEstimator).
        tags.regressor_tags.poor_score = True
        return tags
