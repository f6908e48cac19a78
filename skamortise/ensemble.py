"""Deep ensembles: several networks trained from different seeds, combined.

Networks trained on the same simulations from different initialisations and
minibatch orders make different errors; combining them lowers the risk of point
estimates and gives posteriors that are more robust to one network's
overconfidence. :class:`NeuralEnsemble` wraps any skamortise estimator and combines
its members the way each family's output calls for.
"""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils._tags import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._checks import check_alpha, check_n_samples
from ._combiners import ClassifierCombiner, PointCombiner, combiner_for
from ._output import OutputMixin
from ._seeds import draw_seed

__all__ = ["NeuralEnsemble"]


def _members_have(*methods: str):
    """Whether the members (or, before fit, the template estimator) have methods."""

    def check(self) -> bool:
        template = (
            self.estimators_[0] if hasattr(self, "estimators_") else (self.estimator)
        )
        for method in methods:
            getattr(template, method)  # raises AttributeError, hiding the method
        return True

    return check


def _fit_member(estimator, method: str, args: tuple, kwargs: dict):
    getattr(estimator, method)(*args, **kwargs)
    if hasattr(estimator, "set_output"):
        # Members hand arrays to the ensemble, which labels its own outputs.
        estimator.set_output(transform="default")
    return estimator


class NeuralEnsemble(MetaEstimatorMixin, OutputMixin, BaseEstimator):
    """An ensemble of one estimator trained from ``n_estimators`` different seeds.

    Each member is a clone of ``estimator`` whose ``random_state`` is a seed drawn
    up front from the ensemble's ``random_state``; members train in parallel
    through joblib (each with its own ``n_threads`` torch threads). The members'
    outputs are combined by family:

    - point and quantile estimates (``predict``, ``predict_quantiles``,
      ``predict_interval``) are averaged: for quantiles that is quantile averaging,
      which keeps them in order;
    - posterior estimators form the equal-weight mixture ``(1/K) sum_k q_k(theta |
      X)``: ``sample`` draws from it, ``log_prob`` is its density and
      ``predict_quantiles`` / ``predict_interval`` are its quantiles (from each
      member's quantile function on a grid of 200 levels); ``predict`` averages the
      members' point estimates, which for posterior means is the mixture's mean;
    - ratio estimators average their log ratios: ``log_ratio`` is the mean and
      ``sample`` draws from ``prior(theta) exp(mean_k log r_k(X, theta))`` by MCMC
      or importance resampling, as :meth:`NeuralRatioEstimator.sample` does;
    - model comparison averages the posterior model probabilities
      (``predict_proba``), from which ``predict`` and ``bayes_factor`` follow.

    The methods a member lacks are absent from the ensemble too.

    Parameters
    ----------
    estimator : estimator object
        The skamortise estimator to clone (any estimator with ``fit`` and
        ``predict`` works for ``predict``). If its ``checkpoint_dir`` is set, member
        ``k`` checkpoints to the subdirectory ``member_k`` of it.
    n_estimators : int, default=5
        Number of members.
    n_jobs : int, default=None
        Members trained in parallel (joblib processes); None means 1 unless in a
        ``joblib.parallel_backend`` context, -1 all cores. Member ``k`` gets the
        same seed for any ``n_jobs``, so the result does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds (it replaces the estimator's own
        ``random_state``).
    verbose : int, default=0
        Verbosity of joblib while training.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    n_features_in_ : int
        Features per data set (per replicate for replicated data), as the members.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` was a DataFrame with string columns.
    classes_ : ndarray
        The class labels, for an ensemble of classifiers.

    See Also
    --------
    sklearn.ensemble.BaggingRegressor : bootstrap ensembles of any regressor.

    Notes
    -----
    Members see the same training data; their diversity comes from the seeds
    (initial weights, validation split and minibatch order), which for neural
    networks is enough to lower the risk (Lakshminarayanan et al., 2017). With
    ``fit_simulator`` each member also simulates its own training data.

    Use joblib's default process-based backend for ``n_jobs > 1``: members set
    torch's thread count (``n_threads``) while they work, and that setting is
    global to a process, so members trained in threads of one process would race
    on it.

    References
    ----------
    B. Lakshminarayanan, A. Pritzel and C. Blundell (2017). Simple and scalable
    predictive uncertainty estimation using deep ensembles. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralBayesEstimator
    >>> from skamortise.ensemble import NeuralEnsemble
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.normal(size=(300, 1))
    >>> X = theta + rng.normal(size=(300, 1))
    >>> member = NeuralBayesEstimator(hidden_layer_sizes=(16,), max_epochs=10)
    >>> ensemble = NeuralEnsemble(member, n_estimators=3, random_state=0).fit(X, theta)
    >>> ensemble.predict(np.zeros((2, 1))).shape
    (2, 1)
    >>> len(ensemble.estimators_)
    3
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self, estimator, n_estimators=5, *, n_jobs=None, random_state=None, verbose=0
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def _members(self) -> list:
        """Unfitted clones with their seeds, drawn up front from ``random_state``."""
        seeds = draw_seed(self.random_state, size=self.n_estimators)
        members = []
        for k, seed in enumerate(seeds):
            member = clone(self.estimator)
            params = member.get_params(deep=False)
            update = {}
            if "random_state" in params:
                update["random_state"] = int(seed)
            if params.get("checkpoint_dir") is not None:
                update["checkpoint_dir"] = os.path.join(
                    params["checkpoint_dir"], f"member_{k}"
                )
            members.append(member.set_params(**update))
        return members

    def _train(self, method: str, args: tuple, kwargs: dict):
        members = self._members()
        fitted = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fit_member)(member, method, args, kwargs) for member in members
        )
        self.estimators_ = list(fitted)
        first = self.estimators_[0]
        for name in ("n_features_in_", "feature_names_in_", "classes_"):
            if hasattr(first, name):
                setattr(self, name, getattr(first, name))
            elif name in vars(self):
                delattr(self, name)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Train ``n_estimators`` clones of ``estimator`` from different seeds.

        Parameters
        ----------
        X : array-like or list of arrays
            Simulated data sets, in any layout the estimator takes.
        y : array-like
            Their parameters (labels for model comparison).

        Returns
        -------
        self : NeuralEnsemble
            The fitted ensemble.
        """
        return self._train("fit", (X, y), {})

    @available_if(_members_have("fit_simulator"))
    @_fit_context(prefer_skip_nested_validation=False)
    def fit_simulator(self, prior, simulator, n_simulations=10_000, **fit_params):
        """Train every member on its own simulations from a prior and a simulator.

        Parameters
        ----------
        prior : callable or object with ``rvs``
            The prior, as for the estimator's ``fit_simulator``.
        simulator : callable
            The simulator; it must be picklable when ``n_jobs`` is not 1.
        n_simulations : int, default=10000
            Training pairs per refresh, per member.
        **fit_params : dict
            Further arguments of the estimator's ``fit_simulator`` (e.g.
            ``n_replicates``, ``refresh``).

        Returns
        -------
        self : NeuralEnsemble
            The fitted ensemble.
        """
        return self._train(
            "fit_simulator", (prior, simulator, n_simulations), fit_params
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "estimators_")

    # ---------------------------------------------------------------- combining
    def _combiner(self) -> PointCombiner:
        """The members' family's combiner (see :mod:`skamortise._combiners`)."""
        check_is_fitted(self)
        return combiner_for(self.estimators_)

    @property
    def parameter_names_(self) -> list[str] | None:
        """The members' parameter names (labels of the pandas outputs)."""
        return getattr(self.estimators_[0], "parameter_names_", None)

    def predict(self, X):
        """Average of the members' estimates (the most probable class for classifiers).

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.

        Returns
        -------
        y_pred : ndarray of shape (n_datasets, n_parameters) or (n_datasets,)
            Float64 estimates (class labels for classifiers).
        """
        combiner = self._combiner()
        if isinstance(combiner, ClassifierCombiner):
            return combiner.predict(X)
        return self._output_estimates(combiner.predict(X), X)

    @available_if(_members_have("predict_quantiles"))
    def predict_quantiles(self, X, quantiles=None):
        """Marginal posterior quantiles of the ensemble.

        Quantile estimators: the average of the members' quantiles. Posterior
        estimators: the quantiles of the mixture.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        quantiles : sequence of float, default=None
            Levels, strictly increasing in (0, 1); None means the members' default
            levels (the trained ones for quantile estimators, ``(0.025, 0.5,
            0.975)`` for posterior ones).

        Returns
        -------
        q : ndarray of shape (n_datasets, n_parameters, n_quantiles)
        """
        values, levels = self._combiner().predict_quantiles(X, quantiles)
        return self._output_levels(values, X, levels.tolist(), "quantile")

    @available_if(_members_have("predict_interval"))
    def predict_interval(self, X, alpha=0.05):
        """Central ``1 - alpha`` credible interval of each parameter.

        The average of the members' intervals for quantile estimators, the mixture's
        equal-tailed interval for posterior estimators.

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
        alpha = check_alpha(alpha)
        values = self._combiner().predict_interval(X, alpha)
        return self._output_levels(values, X, ["lower", "upper"], "bound")

    @available_if(_members_have("log_prob"))
    def log_prob(self, X, y):
        """Log density of the equal-weight mixture of the members' posteriors.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y : array-like of shape (n_datasets,) or (n_datasets, n_parameters)
            One parameter value per data set.

        Returns
        -------
        log_prob : ndarray of shape (n_datasets,)
        """
        return self._combiner().log_prob(X, y)

    @available_if(_members_have("log_ratio"))
    def log_ratio(self, X, y):
        """The members' mean log likelihood-to-evidence ratio.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y : array-like of shape (n_datasets, n_parameters) or \
                (n_datasets, k, n_parameters)
            Parameter values, one or ``k`` per data set.

        Returns
        -------
        log_ratio : ndarray of shape (n_datasets,) or (n_datasets, k)
        """
        return self._combiner().log_ratio(X, y)

    @available_if(_members_have("sample"))
    def sample(
        self,
        X,
        n_samples=1000,
        random_state=None,
        *,
        prior=None,
        method="mcmc",
        n_chains=10,
        warmup=200,
        thin=1,
    ):
        """Draw from the ensemble's posterior of each data set.

        Posterior estimators: each draw comes from a member chosen uniformly at
        random, i.e. from the equal-weight mixture. Ratio estimators: from
        ``prior(theta) exp(mean_k log r_k(X, theta))``, by the sampler ``method``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        n_samples : int, default=1000
            Draws per data set.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.
        prior : object, default=None
            Ratio estimators only: the prior, as for
            :meth:`NeuralRatioEstimator.sample` (None: the training proposal when
            it has a density, else flat on the members' common support).
        method : {"mcmc", "importance"}, default="mcmc"
            Ratio estimators only: MCMC (as :meth:`NeuralRatioEstimator.sample`) or
            importance resampling.
        n_chains, warmup, thin : int, default=10, 200, 1
            Ratio estimators only: MCMC chains per data set, warm-up steps, thinning.

        Returns
        -------
        samples : ndarray of shape (n_datasets, n_samples, n_parameters)
        """
        combiner = self._combiner()
        n_samples = check_n_samples(n_samples)
        rng = check_random_state(random_state)
        values = combiner.sample(
            X,
            n_samples,
            rng,
            prior,
            method=method,
            n_chains=n_chains,
            warmup=warmup,
            thin=thin,
        )
        return self._output_samples(values, X)

    # ---------------------------------------------------------- classification
    @available_if(_members_have("predict_proba"))
    def predict_proba(self, X):
        """The members' average class probabilities.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.

        Returns
        -------
        proba : ndarray of shape (n_datasets, n_classes)
            Columns ordered as ``classes_``.
        """
        return self._output_proba(self._combiner().predict_proba(X), X)

    @available_if(_members_have("predict_proba"))
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably from the members' logs.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.

        Returns
        -------
        log_proba : ndarray of shape (n_datasets, n_classes)
        """
        return self._output_proba(self._combiner().predict_log_proba(X), X)

    @available_if(_members_have("bayes_factor"))
    def bayes_factor(self, X, i, j, *, log=False):
        """Bayes factor of model ``i`` against ``j`` from the ensemble's probabilities.

        The ensemble's posterior odds (average probabilities) divided by the prior
        odds of the members' ``class_prior_``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        i, j : label
            Two labels in ``classes_``.
        log : bool, default=False
            Return the natural log of the Bayes factor.

        Returns
        -------
        bayes_factor : ndarray of shape (n_datasets,)
        """
        value = self._combiner().log_bayes_factor(X, i, j)
        return value if log else np.exp(value)

    # ------------------------------------------------------------------- score
    def score(self, X, y, sample_weight=None):
        """The members' scoring rule applied to the ensemble (higher is better).

        Mean log density of the mixture (posterior), negative balanced
        cross-entropy of the mean log ratio on dependent and shuffled pairs (ratio),
        accuracy (classifiers), negative mean pinball loss summed over levels
        (quantile) or negative mean squared error (point); the last two measure each
        parameter in units of its standard deviation in ``y``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.
        y : array-like
            True parameters (labels for classifiers).
        sample_weight : None
            Not supported.

        Returns
        -------
        score : float
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by score.")
        return self._combiner().score(X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.non_deterministic = inner.non_deterministic
        return tags
