"""Amortised Bayesian model comparison: posterior model probabilities from data."""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import log_softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from torch import nn
from torch.nn import functional as F

from .._base import BaseNeuralEstimator
from .._runtime import with_thread_limit
from ._docs import TRAINING_PARAMETERS

__all__ = ["NeuralModelComparison"]


class NeuralModelComparison(ClassifierMixin, BaseNeuralEstimator):
    __doc__ = f"""Neural model comparison: posterior probabilities of candidate models.

    A classifier trained on data sets simulated from several candidate models, each
    labelled with the model that produced it. Trained with cross-entropy, its
    softmax output approximates ``p(model | X)`` under the model proportions of the
    training set (the Bayes classifier for the log loss), so one forward pass gives
    the posterior model probabilities of any data set. Data in every layout of the
    other families are accepted, with the same summary networks (a DeepSet for
    replicated data).

    The network's logits are, up to a constant per data set, ``log p(X | model_k) +
    log f_k`` with ``f_k`` the training proportions, so any prior over models can
    be applied after training: ``class_prior`` reweights the probabilities by the
    prior ratio ``class_prior_k / f_k``. A balanced training set with an unbalanced
    ``class_prior`` is the usual case. Bayes factors, ``p(X | i) / p(X | j)``, do not
    depend on the prior: see :meth:`bayes_factor`.

    Parameters
    ----------
    class_prior : array-like of shape (n_classes,), default=None
        Prior probabilities of the models, ordered as ``classes_`` (the sorted
        labels), summing to one. None takes the proportions of the training set as
        the prior.
{TRAINING_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The model labels, sorted.
    class_count_ : ndarray of shape (n_classes,)
        Training data sets per model.
    class_prior_ : ndarray of shape (n_classes,)
        The prior model probabilities used by ``predict_proba``.
    network_ : torch.nn.Module
        The trained network (summary network and linear softmax head), in float64.
    n_features_in_ : int
        Features per data set (per replicate for replicated data).
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` was a DataFrame with string columns.
    replicated_ : bool
        Whether the network was trained on replicated data.
    event_shape_ : tuple of int
        Shape of one replicate (or one data set when not replicated).
    history_ : dict of list
        ``train_loss``, ``valid_loss``, ``learning_rate`` and ``time`` per epoch.
    best_epoch_ : int
        Epoch whose weights were kept.
    n_epochs_ : int
        Epochs run.
    interrupted_ : bool
        Whether training was stopped by ``KeyboardInterrupt``.
    training_range_ : dict
        What training saw, for ``warn_out_of_range`` (as for the other families).

    See Also
    --------
    skamortise.simulate_models : training data from several candidate models.
    skamortise.sources.ModelSimulatorSource : training data simulated on the fly.
    skamortise.diagnostics.reliability : calibration of the probabilities.

    Notes
    -----
    ``score`` is the accuracy, as for every scikit-learn classifier; pass
    ``scoring="neg_log_loss"`` to model selection tools to compare probabilities.
    Train on a fixed set of simulations from :func:`skamortise.simulate_models`
    (``fit``), or on data sets simulated on the fly from the candidate models
    (``fit_source`` with a :class:`~skamortise.sources.ModelSimulatorSource`).

    References
    ----------
    S. T. Radev, M. D'Alessandro, U. K. Mertens, A. Voss, U. Koethe and
    P.-C. Buerkner (2021). Amortized Bayesian model comparison with evidential deep
    learning. IEEE Transactions on Neural Networks and Learning Systems.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.estimators.model_comparison import NeuralModelComparison
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.choice(["narrow", "wide"], size=400)
    >>> scale = np.where(labels == "wide", 3.0, 1.0)
    >>> X = scale[:, None, None] * rng.normal(size=(400, 10, 1))
    >>> clf = NeuralModelComparison(hidden_layer_sizes=(16,), max_epochs=20,
    ...                             random_state=0).fit(X, labels)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.bayes_factor(X[:2], "wide", "narrow").shape
    (2,)
    """

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "class_prior": ["array-like", None],
    }

    def __init__(
        self,
        *,
        class_prior=None,
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
    ):
        self._store_init_arguments(locals())

    # -- validation -----------------------------------------------------------------
    def _validate_fit(self, X, y):
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but "
                "the target y is None."
            )
        name = getattr(y, "name", None)
        labels = column_or_1d(y, warn=True)
        check_classification_targets(labels)
        self._set_classes(*np.unique(labels, return_counts=True))
        data, codes, _, _ = super()._validate_fit(X, self._encode_targets(labels)[:, 0])
        return data, codes, 1, [str(name) if name is not None else "model"]

    def _encode_targets(self, y) -> np.ndarray:
        labels = column_or_1d(y)
        codes = np.searchsorted(self.classes_, labels)
        codes = np.minimum(codes, len(self.classes_) - 1)
        unseen = labels != self.classes_[codes]
        if unseen.any():
            raise ValueError(
                f"y holds labels that are not classes of this fit "
                f"{self.classes_.tolist()}: {np.unique(labels[unseen]).tolist()}."
            )
        return codes.astype(np.float64)[:, None]

    def _scan_targets(self, chunks):
        # The classes are the labels seen in the whole set, gathered chunk by chunk.
        seen: dict = {}
        for y in chunks:
            y = column_or_1d(y)
            check_classification_targets(y)
            labels, counts = np.unique(y, return_counts=True)
            for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
                seen[label] = seen.get(label, 0) + count
        labels = np.array(sorted(seen))
        self._set_classes(labels, np.array([seen[k] for k in labels.tolist()]))
        return np.zeros(1), np.array([len(self.classes_) - 1.0]), ["model"]

    def _set_classes(self, labels: np.ndarray, counts: np.ndarray) -> None:
        """``classes_``, their training counts and prior, from the labels seen."""
        if self.warm_start and hasattr(self, "network_"):
            unseen = np.setdiff1d(labels, self.classes_)
            if len(unseen):
                raise ValueError(
                    f"warm_start=True needs the classes of the first fit "
                    f"{self.classes_.tolist()}; y also has {unseen.tolist()}."
                )
            counts = np.bincount(
                np.searchsorted(self.classes_, labels),
                weights=counts,
                minlength=len(self.classes_),
            )
            labels = self.classes_
        self.class_prior_ = self._check_class_prior(len(labels), counts)
        self.classes_ = labels
        self.class_count_ = np.asarray(counts, dtype=np.float64)

    def _check_class_prior(self, n_classes: int, counts: np.ndarray) -> np.ndarray:
        if self.class_prior is None:
            return counts / counts.sum()
        prior = np.asarray(self.class_prior, dtype=np.float64)
        if prior.shape != (n_classes,):
            raise ValueError(
                f"class_prior must have one probability per class ({n_classes}); "
                f"got shape {prior.shape}."
            )
        if not np.isfinite(prior).all() or (prior < 0).any():
            raise ValueError(
                f"class_prior must hold non-negative probabilities; got {prior}."
            )
        if not np.isclose(prior.sum(), 1.0):
            raise ValueError(f"class_prior must sum to one; it sums to {prior.sum()}.")
        return prior

    # -- family hooks ---------------------------------------------------------------
    def _build_head(self, n_summaries, n_parameters):
        return nn.Linear(n_summaries, len(self.classes_))

    def _batch(self, data, y, device, dtype):
        # Targets are class indices, passed on as they are (never standardised).
        batch = super()._batch(data, None, device, dtype)
        if y is not None:
            batch.y = torch.tensor(y, dtype=dtype, device=device)
        return batch

    def _loss(self, network, batch, generator):
        logits = network(batch.x, batch.mask)
        return F.cross_entropy(logits, batch.y[:, 0].long())

    # -- inference ------------------------------------------------------------------
    def _logits(self, X) -> np.ndarray:
        """``(n_datasets, n_classes)`` network logits, float64."""
        data = self._prepare(X)
        with torch.no_grad():
            return self.network_.head(self._summaries(data)).cpu().numpy()

    def _log_evidence(self, X) -> np.ndarray:
        """``log p(X | model_k)`` up to a constant per data set."""
        frequencies = self.class_count_ / self.class_count_.sum()
        return self._logits(X) - np.log(frequencies)

    def _log_posterior(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        return log_softmax(self._log_evidence(X) + log_prior, axis=1)

    def _proba_output(self, values: np.ndarray, X):
        if not self._pandas():
            return values
        import pandas as pd

        return pd.DataFrame(
            values, index=self._index(X, len(values)), columns=list(self.classes_)
        )

    @with_thread_limit
    def predict_log_proba(self, X):
        """Log posterior model probabilities under ``class_prior_``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets in the layout used at fit.

        Returns
        -------
        log_proba : ndarray of shape (n_datasets, n_classes)
            Columns ordered as ``classes_``; a DataFrame under pandas output.
        """
        check_is_fitted(self)
        return self._proba_output(self._log_posterior(X), X)

    @with_thread_limit
    def predict_proba(self, X):
        """Posterior model probabilities under ``class_prior_``.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets in the layout used at fit.

        Returns
        -------
        proba : ndarray of shape (n_datasets, n_classes)
            Rows sum to one; columns ordered as ``classes_``.
        """
        check_is_fitted(self)
        return self._proba_output(np.exp(self._log_posterior(X)), X)

    @with_thread_limit
    def predict(self, X):
        """The model of highest posterior probability for each data set.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets.

        Returns
        -------
        labels : ndarray of shape (n_datasets,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._log_posterior(X), axis=1)]

    @with_thread_limit
    def bayes_factor(self, X, i, j, *, log=False):
        """Bayes factor ``p(X | i) / p(X | j)`` of model ``i`` against model ``j``.

        The posterior odds divided by the prior odds, which is the same for every
        ``class_prior``; computed from the logits, so it stays finite where the
        probabilities round to 0 or 1.

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
        check_is_fitted(self)
        a, b = (_class_index(self.classes_, label) for label in (i, j))
        log_evidence = self._log_evidence(X)
        value = log_evidence[:, a] - log_evidence[:, b]
        return value if log else np.exp(value)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        tags.classifier_tags.multi_label = False
        return tags


def _class_index(classes: np.ndarray, label) -> int:
    where = np.flatnonzero(classes == label)
    if len(where) != 1:
        raise ValueError(f"{label!r} is not a class label; classes_ is {classes!r}.")
    return int(where[0])
