"""A scikit-learn Pipeline that carries the inference methods through.

sklearn's :class:`~sklearn.pipeline.Pipeline` exposes ``predict``, ``score`` and a
few other methods of its final step; the methods of amortised inference
(``sample``, ``log_prob``, ``predict_interval``, ``predict_quantiles``,
``log_ratio``) would be lost behind it. This subclass adds them: each transforms
``X`` through the preprocessing steps, then calls the final estimator's method.
"""

from __future__ import annotations

from collections import Counter

from sklearn import pipeline as _sk_pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

__all__ = ["Pipeline", "make_pipeline"]


def _final_has(method: str):
    """Whether the final step has ``method`` (its AttributeError otherwise)."""

    def check(self) -> bool:
        getattr(self._final_estimator, method)
        return True

    return check


class Pipeline(_sk_pipeline.Pipeline):
    """Preprocessing steps followed by an estimator, passing inference methods on.

    A drop-in replacement for :class:`sklearn.pipeline.Pipeline` (same
    parameters, same behaviour) that also offers, whenever its final estimator
    does, ``sample``, ``log_prob``, ``log_ratio``, ``predict_interval`` and
    ``predict_quantiles``. Each applies the fitted transformers to ``X`` and then
    the final estimator's method; parameters ``y`` (as in ``log_prob(X, y)``) are
    never transformed. ``set_output`` also reaches the final estimator, so
    ``transform="pandas"`` labels the estimates with the parameter names.

    Parameters
    ----------
    steps : list of tuple
        ``(name, transform)`` pairs, the last one the estimator; see
        :class:`sklearn.pipeline.Pipeline`.
    transform_input : list of str, default=None
        Fit parameters to transform through the steps (metadata routing only).
    memory : str or object with the joblib.Memory interface, default=None
        Caches the fitted transformers.
    verbose : bool, default=False
        Print the time each step takes to fit.

    Attributes
    ----------
    named_steps : Bunch
        The steps by name.
    n_features_in_ : int
        As for the first step.

    See Also
    --------
    make_pipeline : build a Pipeline without naming the steps.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralBayesEstimator
    >>> from skamortise.pipeline import make_pipeline
    >>> from skamortise.preprocessing import ReplicateSummaries
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.normal(size=(300, 1))
    >>> X = theta[:, :, None] + rng.normal(size=(300, 10, 1))
    >>> pipe = make_pipeline(
    ...     ReplicateSummaries(),
    ...     NeuralBayesEstimator(hidden_layer_sizes=(16,), max_epochs=10,
    ...                          random_state=0),
    ... ).fit(X, theta)
    >>> pipe.predict(X[:2]).shape
    (2, 1)
    >>> list(pipe.named_steps)
    ['replicatesummaries', 'neuralbayesestimator']
    """

    def _transform_input(self, X):
        check_is_fitted(self)
        Xt = X
        for _, _, transformer in self._iter(with_final=False):
            Xt = transformer.transform(Xt)
        return Xt

    @available_if(_final_has("sample"))
    def sample(self, X, *args, **params):
        """Transform ``X``, then draw from the final estimator's posterior.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets, as the first step takes them.
        *args, **params
            Passed to the final estimator's ``sample`` (e.g. ``n_samples``,
            ``random_state``).

        Returns
        -------
        samples : ndarray of shape (n_datasets, n_samples, n_parameters)
            The final estimator's draws.
        """
        return self._final_estimator.sample(self._transform_input(X), *args, **params)

    @available_if(_final_has("log_prob"))
    def log_prob(self, X, y, **params):
        """Transform ``X``, then evaluate the final estimator's log density of ``y``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets, as the first step takes them.
        y : array-like of shape (n_datasets, n_parameters)
            Parameter values; not transformed.
        **params
            Passed to the final estimator's ``log_prob``.

        Returns
        -------
        log_prob : ndarray of shape (n_datasets,)
        """
        return self._final_estimator.log_prob(self._transform_input(X), y, **params)

    @available_if(_final_has("log_ratio"))
    def log_ratio(self, X, y, **params):
        """Transform ``X``, then evaluate the final estimator's log ratio at ``y``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets, as the first step takes them.
        y : array-like of shape (n_datasets, n_parameters)
            Parameter values; not transformed.
        **params
            Passed to the final estimator's ``log_ratio``.

        Returns
        -------
        log_ratio : ndarray of shape (n_datasets,)
        """
        return self._final_estimator.log_ratio(self._transform_input(X), y, **params)

    @available_if(_final_has("predict_interval"))
    def predict_interval(self, X, *args, **params):
        """Transform ``X``, then predict the final estimator's credible intervals.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets, as the first step takes them.
        *args, **params
            Passed to the final estimator's ``predict_interval`` (e.g. ``alpha``).

        Returns
        -------
        intervals : ndarray of shape (n_datasets, n_parameters, 2)
        """
        Xt = self._transform_input(X)
        return self._final_estimator.predict_interval(Xt, *args, **params)

    @available_if(_final_has("predict_quantiles"))
    def predict_quantiles(self, X, *args, **params):
        """Transform ``X``, then predict the final estimator's quantiles.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets, as the first step takes them.
        *args, **params
            Passed to the final estimator's ``predict_quantiles``.

        Returns
        -------
        quantiles : ndarray of shape (n_datasets, n_parameters, n_quantiles)
        """
        Xt = self._transform_input(X)
        return self._final_estimator.predict_quantiles(Xt, *args, **params)

    def set_output(self, *, transform=None):
        """Set the output container of every step, the final estimator included.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Passed to each transformer's ``set_output``, and to the final
            estimator's when it has one (the neural estimators then label their
            outputs with the parameter names).

        Returns
        -------
        self : Pipeline
        """
        super().set_output(transform=transform)
        final = self._final_estimator
        if (
            transform is not None
            and final not in (None, "passthrough")
            and not hasattr(final, "transform")
            and hasattr(final, "set_output")
        ):
            final.set_output(transform=transform)
        return self


def _step_names(steps) -> list[str]:
    """Lower-case class names, numbered where two steps would share one."""
    names = [
        type(step).__name__.lower() if not isinstance(step, str) else step
        for step in steps
    ]
    totals = Counter(names)
    seen: Counter = Counter()
    out = []
    for name in names:
        if totals[name] > 1:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        out.append(name)
    return out


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False) -> Pipeline:
    """Build a :class:`Pipeline` from estimators, naming each after its class.

    Parameters
    ----------
    *steps : list of estimators
        Transformers, then the final estimator.
    memory : str or object with the joblib.Memory interface, default=None
        Caches the fitted transformers.
    transform_input : list of str, default=None
        Fit parameters to transform through the steps (metadata routing only).
    verbose : bool, default=False
        Print the time each step takes to fit.

    Returns
    -------
    pipeline : Pipeline
        A skamortise Pipeline, whose step names are the lower-case class names
        (``-1``, ``-2``, ... appended when a class repeats).

    Examples
    --------
    >>> from skamortise import NeuralBayesEstimator
    >>> from skamortise.pipeline import make_pipeline
    >>> from skamortise.preprocessing import TimeSeriesSummaries
    >>> pipe = make_pipeline(TimeSeriesSummaries(), NeuralBayesEstimator())
    >>> [name for name, _ in pipe.steps]
    ['timeseriessummaries', 'neuralbayesestimator']
    """
    return Pipeline(
        list(zip(_step_names(steps), steps, strict=True)),
        memory=memory,
        transform_input=transform_input,
        verbose=verbose,
    )
