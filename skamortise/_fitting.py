"""Training an estimator from a source: the one path from ``fit`` to the loop.

``fit(X, y)``, ``fit_source(source)`` and (for the parameter families)
``fit_simulator`` all end in ``_fit_source``: the source is opened against the
estimator (validation, simulation), a validation set held out if the source has none,
the standardisation learned, the network built, and the one training loop run on the
training rows, in memory or streamed. The estimator base supplies validation, the
network and the batches; sources supply the pairs.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import check_array, check_random_state

from ._checks import _check_scales
from ._runtime import resolve_device, with_thread_limit
from ._seeds import draw_seed
from ._source import ArraySource, TrainingSet, TrainingSource
from ._training import Checkpoint, StreamedRows, TrainingConfig, train


class FittingMixin:
    """``fit`` and ``fit_source`` of :class:`~skamortise._base.BaseNeuralEstimator`."""

    @_fit_context(prefer_skip_nested_validation=True)
    @with_thread_limit
    def fit(self, X, y):
        """Train the network on simulated pairs.

        Parameters
        ----------
        X : array-like of shape (n_datasets, n_features) or \
                (n_datasets, n_replicates, n_features), or list of arrays
            Simulated data sets; a list holds ``(n_replicates_i, n_features)`` arrays
            whose replicate counts may differ. A memory-mapped array
            (``numpy.load(path, mmap_mode="r")``) larger than 32 MiB is read in
            pieces, never whole (see :class:`skamortise.sources.ArraySource`).
        y : array-like of shape (n_datasets,) or (n_datasets, n_parameters)
            The parameters each data set was simulated from; a DataFrame's columns
            name them.

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        return self._fit_source(ArraySource(X, y))

    @_fit_context(prefer_skip_nested_validation=True)
    @with_thread_limit
    def fit_source(self, source: TrainingSource):
        """Train on pairs from a training-data source.

        One path for every source: arrays in memory or on disk, a shard directory,
        a simulator on the fly (see :mod:`skamortise.sources`). ``fit(X, y)`` is
        ``fit_source(ArraySource(X, y))``.

        Parameters
        ----------
        source : skamortise.sources.TrainingSource
            Where the training pairs come from.

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        if not isinstance(source, TrainingSource):
            raise TypeError(
                "source must be a training-data source from skamortise.sources (e.g. "
                f"ArraySource(X, y)); got {type(source).__name__}."
            )
        return self._fit_source(source)

    def _fit_source(self, source: TrainingSource):
        self._check_family_params()
        rng = check_random_state(self.random_state)
        training = source.open(self, rng)
        self._fit(training, rng)
        self._after_fit(training)
        return self

    def _after_fit(self, training: TrainingSet) -> None:
        """Set a family's fitted attributes that come from the training set."""

    # Hooks for targets read in pieces (a streamed or refreshed training set); the
    # whole of an in-memory y goes through ``_validate_fit`` instead.
    def _encode_targets(self, y) -> np.ndarray:
        """Targets of some training pairs as an ``(n, n_parameters)`` float array.

        Called on every minibatch read from disk, so it only converts: the values
        were checked by ``_scan_targets`` (or come from the simulator's prior).
        """
        y = np.asarray(y, dtype=np.float64)
        return y.reshape(len(y), -1)

    def _scan_targets(self, chunks) -> tuple[np.ndarray, np.ndarray, list]:
        """Check every chunk of targets; their least and greatest value per
        parameter, and default parameter names."""
        low = high = None
        for y in chunks:
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            if y.ndim > 2 or (y.ndim == 2 and y.shape[1] == 0):
                raise ValueError(
                    f"y must be 1-D or 2-D with at least one column; got {y.shape}."
                )
            y = self._encode_targets(y)
            low = y.min(axis=0) if low is None else np.minimum(low, y.min(axis=0))
            high = y.max(axis=0) if high is None else np.maximum(high, y.max(axis=0))
        return low, high, [f"theta_{j}" for j in range(len(low))]

    def _training_config(
        self, n_train: int, refresh_every=None, min_patience: int = 1
    ) -> TrainingConfig:
        return TrainingConfig(
            learning_rate=self.learning_rate,
            batch_size=min(self.batch_size, n_train),
            max_epochs=self.max_epochs,
            n_iter_no_change=max(self.n_iter_no_change, min_patience),
            weight_decay=self.weight_decay,
            verbose=self.verbose,
            refresh_every=refresh_every,
            balance_replicates=self._balance_replicates,
            checkpoint=None
            if self.checkpoint_dir is None
            else Checkpoint(self.checkpoint_dir, self.checkpoint_every),
        )

    def _split(self, n: int, rng) -> tuple[np.ndarray, np.ndarray | None]:
        if self.validation_fraction == 0:
            return np.arange(n), None
        n_valid = math.ceil(self.validation_fraction * n)
        if n - n_valid < 1:
            raise ValueError(
                f"Cannot hold out a validation set (validation_fraction="
                f"{self.validation_fraction}) from n_samples={n} data set(s); pass "
                "more data sets or validation_fraction=0."
            )
        order = rng.permutation(n)
        return order[n_valid:], order[:n_valid]

    def _check_warm(self, training: TrainingSet) -> None:
        """A warm start continues the first fit: same layout and parameters."""
        self._check_layout(training.train.layout())
        low, high = training.parameter_range
        if len(low) != self.n_parameters_:
            raise ValueError(
                f"warm_start=True needs the same number of parameters as the "
                f"first fit ({self.n_parameters_}); y has {len(low)}."
            )
        self._make_parameter_transform(np.vstack([low, high]))  # the bounds check

    def _fit(self, training: TrainingSet, rng) -> None:
        """Train on an opened source: split, standardise, build and run the loop.

        Without validation rows of the source's own, ``training.split`` holds out
        ``validation_fraction`` of the training rows; otherwise the training loss is
        monitored.
        """
        warm = (self.warm_start or training.continue_training) and hasattr(
            self, "network_"
        )
        if warm:
            self._check_warm(training)
        init_seed, train_seed = draw_seed(rng, size=2)
        table, valid = training.train, training.valid
        if valid is not None and valid.replicated != table.replicated:
            raise ValueError("The validation data do not share the training layout.")
        if valid is None and training.split:
            train_idx, valid_idx = self._split(len(table), rng)
            if valid_idx is not None:
                valid = table.take(valid_idx)
            table = table.take(train_idx)
        n_parameters = len(training.parameter_range[0])
        if not warm:
            self.replicated_ = table.replicated
            self.event_shape_ = table.event_shape
            self.n_covariates_ = (
                0 if table.covariates is None else table.covariates.shape[1]
            )
            self.n_parameters_ = n_parameters
            self.parameter_names_ = list(training.names)
            self._y_ndim = training.y_ndim
            self.parameter_transform_ = self._make_parameter_transform(
                np.vstack(training.parameter_range)
            )
            moments = table.moments(self._to_training_space)
            x_loc, x_scale, self.y_loc_, self.y_scale_ = moments
            _check_scales(x_loc, x_scale, "X")
            _check_scales(self.y_loc_, self.y_scale_, "y")
            self._set_family_attributes(n_parameters, focused=training.focused)
            network = self._new_network(
                table,
                n_parameters,
                init_seed,
                (x_loc, x_scale),
                table.replicate_counts(),
            )
        else:
            network = self.network_
        device = resolve_device(self.device)
        network = network.to(device=device, dtype=torch.float32)
        to_batch = functools.partial(self._batch, device=device, dtype=torch.float32)

        def rows(table):
            if table.in_memory:
                return to_batch(table.data, table.y)
            return StreamedRows(table, to_batch)

        train_rows = rows(table)
        valid_rows = None if valid is None else rows(valid)
        refresh = training.refresh
        config = self._training_config(
            len(train_rows), training.refresh_every, training.min_patience
        )
        try:
            result = train(
                network,
                self._loss,
                train_rows,
                valid_rows,
                config,
                seed=int(train_seed),
                refresh=None if refresh is None else lambda e: rows(refresh(e)),
            )
        except FloatingPointError:
            if warm:  # the restored weights are the user's fitted model: keep it usable
                network.to(dtype=torch.float64)
            raise
        # Inference runs in float64 so that predictions do not depend on batch size.
        self.network_ = network.to(dtype=torch.float64)
        self._record_training_range([table, valid])
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.n_epochs_ = result.n_epochs
        self.interrupted_ = result.interrupted
