"""The scikit-learn base shared by every estimator family.

It owns input validation for every data layout, standardisation, pandas labels,
network construction, the call into the one training loop, on-the-fly simulation and
chunked inference. A family adds its head, its loss and its inference methods.
"""

from __future__ import annotations

import copy
import math
import os
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_array, check_consistent_length, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import _check_hidden, _check_scales, _ndim, _parameter_names
from ._data import Data, as_data, as_series, is_ragged
from ._output import OutputMixin
from ._runtime import resolve_device, with_thread_limit
from ._scaling import data_moments, parameter_moments, standardise_data
from ._training import Batch, Checkpoint, TrainingConfig, evaluate, train
from .distributions.transforms import BoundsTransform
from .nn import (
    SERIES_NETWORKS,
    AmortisedNetwork,
    build_summary_network,
    is_series_network,
)
from .nn._activations import ACTIVATIONS
from .simulation import simulate, simulate_at

# Largest standardised parameter accepted as a training or scoring target.
_MAX_STANDARDISED = 1e6
# Inference runs in chunks of roughly this many replicates to bound memory.
_INFERENCE_CHUNK = 65536


_INIT_LOCK = threading.Lock()


class BaseNeuralEstimator(OutputMixin, BaseEstimator):
    """Shared machinery of the neural estimators; not for direct use."""

    # Families whose loss is a positive scale that shrinks as the replicate count
    # grows stop early on a replicate-count balanced validation loss (_training.py).
    _balance_replicates = False

    _parameter_constraints: dict = {
        "summary_network": [StrOptions({"auto", *SERIES_NETWORKS}), callable],
        "summary_network_kwargs": [dict, None],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "device": [str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
    }

    def _store_init_arguments(self, arguments: dict) -> None:
        """Store every ``__init__`` argument under its own name, unchanged.

        Each family lists its parameters explicitly in its signature (sklearn reads
        them from there); this stores them, and does nothing else.
        """
        for name, value in arguments.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # ------------------------------------------------------------------ family hooks
    def _build_head(self, n_summaries: int, n_parameters: int) -> torch.nn.Module:
        raise NotImplementedError

    def _loss(self, network, batch: Batch, generator) -> torch.Tensor:
        raise NotImplementedError

    def _to_training_space(self, y: np.ndarray) -> np.ndarray:
        """Map parameters to the unbounded space the network models."""
        if self.parameter_transform_ is None:
            return y
        y = torch.tensor(np.ascontiguousarray(y))
        return self.parameter_transform_.inverse(y).numpy()

    def _to_parameter_space(self, u: np.ndarray) -> np.ndarray:
        """Map ``(..., n_parameters)`` training-space values into the support."""
        if self.parameter_transform_ is None:
            return u
        u = torch.tensor(np.ascontiguousarray(u))
        return self.parameter_transform_(u).numpy()

    def _bounds_transform(self, n_parameters: int) -> BoundsTransform | None:
        bounds = getattr(self, "bounds", None)
        if bounds is None:
            return None
        return BoundsTransform.from_bounds(bounds, n_parameters=n_parameters)

    def _make_parameter_transform(self, y: np.ndarray):
        """The bounds bijection (None if unbounded), after checking ``y`` is inside."""
        transform = self._bounds_transform(y.shape[1])
        if transform is None:
            return None
        lower, upper = transform.lower.numpy(), transform.upper.numpy()
        outside = ~((y > lower) & (y < upper)).all(axis=0)
        if outside.any():
            j = int(np.flatnonzero(outside)[0])
            raise ValueError(
                f"y has values outside bounds for parameter {j} "
                f"({self.parameter_names_[j]}): bounds are ({lower[j]}, {upper[j]}), "
                f"y ranges over [{y[:, j].min()}, {y[:, j].max()}]. Values must lie "
                "strictly inside the bounds."
            )
        if transform.is_identity:
            return None
        return transform

    def _check_family_params(self) -> None:
        """Validate family parameters beyond ``_parameter_constraints``."""

    # -------------------------------------------------------------------- validation
    def _event_ndim(self) -> int:
        # Grid summary networks (CNNs) declare how many trailing axes form one event,
        # as an attribute or, when it depends on their kwargs, through a hook.
        spec = self.summary_network
        from_kwargs = getattr(spec, "event_ndim_from_kwargs", None)
        if from_kwargs is not None:
            return int(from_kwargs(self.summary_network_kwargs or {}))
        return int(getattr(spec, "event_ndim", 1))

    def _is_series(self) -> bool:
        # The network, not the shape, says whether the second axis is time.
        return is_series_network(self.summary_network)

    def _is_tabular(self, X) -> bool:
        if self._is_series():
            return False
        return self._event_ndim() == 1 and not is_ragged(X) and _ndim(X) <= 2

    def _as_data(self, X) -> Data:
        if self._is_series():
            return as_series(X)
        return as_data(X, event_ndim=self._event_ndim())

    def _validate_X(self, X, *, reset: bool) -> Data:
        if self._is_tabular(X):
            if not reset and getattr(self, "replicated_", False):
                raise ValueError(
                    f"{type(self).__name__} was fitted on replicated data; pass X as "
                    "(n_datasets, n_replicates, n_features) or a list of "
                    "(n_replicates, n_features) arrays."
                )
            values = validate_data(self, X, reset=reset, dtype=np.float64)
            return Data(values, None, False)
        data = self._as_data(X)
        if reset:
            self.n_features_in_ = math.prod(data.event_shape)
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            self._check_layout(data)
        return data

    def _check_layout(self, data: Data) -> None:
        if data.replicated != self.replicated_:
            kind = "replicated" if self.replicated_ else "one vector per data set"
            raise ValueError(
                f"{type(self).__name__} was fitted on {kind} data; X has shape "
                f"{data.values.shape}, which does not match."
            )
        if data.event_shape != self.event_shape_:
            raise ValueError(
                f"X has {data.event_shape} features per replicate, but "
                f"{type(self).__name__} is expecting {self.event_shape_} "
                "features as input."
            )

    def _validate_fit(self, X, y) -> tuple[Data, np.ndarray]:
        names = _parameter_names(y)
        if y is not None and _ndim(y) > 2:
            raise ValueError(
                f"y must be 1-D or 2-D (n_datasets, n_parameters); got {_ndim(y)} axes."
            )
        if self._is_tabular(X):
            values, y = validate_data(
                self, X, y, dtype=np.float64, multi_output=True, y_numeric=True
            )
            data = Data(values, None, False)
        else:
            if y is None:
                raise ValueError(
                    f"This {type(self).__name__} estimator requires y to be passed, "
                    "but the target y is None."
                )
            data = self._validate_X(X, reset=True)
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            check_consistent_length(data.values, y)
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] == 0):
            raise ValueError(
                f"y must be 1-D or 2-D with at least one column; got {y.shape}."
            )
        y2 = y.reshape(len(y), -1)
        if names is None or len(names) != y2.shape[1]:
            names = [f"theta_{j}" for j in range(y2.shape[1])]
        return data, y2, y.ndim, names

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    @with_thread_limit
    def fit(self, X, y):
        """Train the network on simulated pairs.

        Parameters
        ----------
        X : array-like of shape (n_datasets, n_features) or \
                (n_datasets, n_replicates, n_features), or list of arrays
            Simulated data sets; a list holds ``(n_replicates_i, n_features)`` arrays
            whose replicate counts may differ.
        y : array-like of shape (n_datasets,) or (n_datasets, n_parameters)
            The parameters each data set was simulated from; a DataFrame's columns
            name them.

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        return self._fit_arrays(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    @with_thread_limit
    def fit_simulator(
        self,
        prior,
        simulator,
        n_simulations=10_000,
        *,
        n_validation=None,
        refresh="parameters",
        refresh_every=1,
        n_replicates=None,
        simulator_kwargs=None,
        n_jobs=None,
        on_error="raise",
    ):
        """Train on pairs simulated on the fly from a prior and a simulator.

        Fresh training pairs every ``refresh_every`` epochs keep a network from
        overfitting a finite simulation budget; the validation set stays fixed, so
        early stopping compares like with like.

        Parameters
        ----------
        prior : callable or object with ``rvs``
            ``prior(n, rng) -> (n, n_parameters)`` (``rng`` a numpy Generator), or a
            frozen scipy distribution.
        simulator : callable
            ``simulator(theta, rng, **simulator_kwargs) -> data``, one data set per
            row of ``theta`` (see :func:`skamortise.simulate`).
        n_simulations : int, default=10000
            Training pairs per refresh.
        n_validation : int, default=None
            Size of the fixed validation set; None uses ``validation_fraction *
            n_simulations``; 0 disables it.
        refresh : {"parameters", "data"} or None, default="parameters"
            ``"parameters"`` draws new parameters and data, ``"data"`` re-simulates
            data at the same parameters, None trains on one fixed set.
        refresh_every : int, default=1
            Epochs between refreshes.
        n_replicates : int or sequence of int, default=None
            Replicate count(s) passed to the simulator; a sequence draws one per data
            set, training one network across sample sizes.
        simulator_kwargs : dict, default=None
            Further keywords for the simulator.
        n_jobs : int, default=None
            Parallel simulation jobs (joblib).
        on_error : {"raise", "drop"}, default="raise"
            What to do when the simulator raises or returns NaN/inf for some
            parameters, at every refresh: the policy of :func:`skamortise.simulate`.

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        return self._fit_simulator(
            prior,
            simulator,
            n_simulations,
            n_validation=n_validation,
            refresh=refresh,
            refresh_every=refresh_every,
            n_replicates=n_replicates,
            simulator_kwargs=simulator_kwargs,
            n_jobs=n_jobs,
            on_error=on_error,
        )

    def _training_config(self, n_train: int, refresh_every=None) -> TrainingConfig:
        return TrainingConfig(
            learning_rate=self.learning_rate,
            batch_size=min(self.batch_size, n_train),
            max_epochs=self.max_epochs,
            n_iter_no_change=self.n_iter_no_change,
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

    def _new_network(self, data: Data, n_parameters: int, seed: int):
        hidden = _check_hidden(self.hidden_layer_sizes)
        # Weight initialisation uses torch's global generator; fork it so the seed
        # makes the network reproducible without touching the user's global stream.
        # The lock keeps threads (an ensemble under joblib's threading backend) from
        # seeding and drawing from that one generator in interleaved order.
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            summary, width = build_summary_network(
                self.summary_network,
                self.summary_network_kwargs,
                event_shape=data.event_shape,
                replicated=data.replicated,
                hidden_layer_sizes=hidden,
                activation=self.activation,
                max_count=data.max_count,
            )
            head = self._build_head(width, n_parameters)
        return AmortisedNetwork(summary, head)

    def _batch(self, data: Data, y: np.ndarray | None, device, dtype) -> Batch:
        """Standardised tensors for ``data`` (and training-space ``y``)."""
        data = standardise_data(data, self.x_loc_, self.x_scale_)
        x = torch.tensor(data.values, dtype=dtype, device=device)
        if not torch.isfinite(x).all():
            raise ValueError(
                "X has values too large for the network after standardisation by the "
                "training data's scale (|X| up to "
                f"{np.abs(data.values).max() * np.max(self.x_scale_):.3g}); such data "
                "lie far outside what the estimator was trained on."
            )
        mask = None if data.mask is None else torch.tensor(data.mask, device=device)
        if y is None:
            target = torch.empty(len(data), 0, dtype=dtype, device=device)
        else:
            z = (self._to_training_space(y) - self.y_loc_) / self.y_scale_
            # A parameter a million training sds away cannot be a sensible target
            # (and overflows float32 losses).
            if not np.abs(z).max(initial=0.0) < _MAX_STANDARDISED:
                raise ValueError(
                    "y has values too far from the training parameters' range "
                    f"(|y| up to {np.abs(y).max():.3g} against a training scale of "
                    f"{np.max(self.y_scale_):.3g}); rescale the parameters."
                )
            target = torch.tensor(z, dtype=dtype, device=device)
        return Batch(x, mask, target)

    def _fit(
        self,
        data: Data,
        y: np.ndarray,
        y_ndim: int,
        names,
        rng,
        *,
        valid=None,
        split=True,
        refresh=None,
        refresh_every=None,
    ):
        """Train on validated ``data``; ``valid`` is a (Data, y) pair or None.

        Without ``valid``, ``split`` holds out ``validation_fraction`` of ``data``;
        ``split=False`` trains on all of it and monitors the training loss.
        """
        warm = self.warm_start and hasattr(self, "network_")
        if warm:
            self._check_layout(data)
            if y.shape[1] != self.n_parameters_:
                raise ValueError(
                    f"warm_start=True needs the same number of parameters as the "
                    f"first fit ({self.n_parameters_}); y has {y.shape[1]}."
                )
            self._make_parameter_transform(y)  # same bounds check as the first fit
        init_seed, train_seed = rng.randint(0, 2**31 - 1, size=2)
        if valid is not None and valid[0].replicated != data.replicated:
            raise ValueError("The validation data do not share the training layout.")
        if valid is None and split:
            train_idx, valid_idx = self._split(len(data), rng)
            if valid_idx is not None:
                valid = (data.take(valid_idx), y[valid_idx])
            data, y = data.take(train_idx), y[train_idx]
        if not warm:
            self.replicated_ = data.replicated
            self.event_shape_ = data.event_shape
            self.n_parameters_ = y.shape[1]
            self.parameter_names_ = list(names)
            self._y_ndim = y_ndim
            self.parameter_transform_ = self._make_parameter_transform(y)
            self.x_loc_, self.x_scale_ = data_moments(data)
            self.y_loc_, self.y_scale_ = parameter_moments(self._to_training_space(y))
            _check_scales(self.x_loc_, self.x_scale_, "X")
            _check_scales(self.y_loc_, self.y_scale_, "y")
            network = self._new_network(data, y.shape[1], init_seed)
        else:
            network = self.network_
        device = resolve_device(self.device)
        network = network.to(device=device, dtype=torch.float32)
        train_batch = self._batch(data, y, device, torch.float32)
        valid_batch = (
            None if valid is None else self._batch(*valid, device, torch.float32)
        )
        to_batch = None
        if refresh is not None:

            def to_batch(epoch):
                return self._batch(*refresh(epoch), device, torch.float32)

        config = self._training_config(len(train_batch), refresh_every)
        try:
            result = train(
                network,
                self._loss,
                train_batch,
                valid_batch,
                config,
                seed=int(train_seed),
                refresh=to_batch,
            )
        except FloatingPointError:
            if warm:  # the restored weights are the user's fitted model: keep it usable
                network.to(dtype=torch.float64)
            raise
        # Inference runs in float64 so that predictions do not depend on batch size.
        self.network_ = network.to(dtype=torch.float64)
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.n_epochs_ = result.n_epochs
        self.interrupted_ = result.interrupted
        return self

    def _fit_arrays(self, X, y):
        self._check_family_params()
        data, y, y_ndim, names = self._validate_fit(X, y)
        rng = check_random_state(self.random_state)
        return self._fit(data, y, y_ndim, names, rng)

    def _fit_simulator(
        self,
        prior,
        simulator,
        n_simulations,
        *,
        n_validation,
        refresh,
        refresh_every,
        n_replicates,
        simulator_kwargs,
        n_jobs,
        on_error="raise",
    ):
        self._check_family_params()
        if refresh not in ("parameters", "data", None):
            raise ValueError(
                f"refresh must be 'parameters', 'data' or None; got {refresh!r}."
            )
        if not isinstance(refresh_every, Integral) or refresh_every < 1:
            raise ValueError(
                f"refresh_every must be a positive int; got {refresh_every!r}."
            )
        if n_validation is None:
            n_validation = math.ceil(self.validation_fraction * n_simulations)
        rng = check_random_state(self.random_state)
        options = dict(
            n_replicates=n_replicates,
            simulator_kwargs=simulator_kwargs,
            n_jobs=n_jobs,
            on_error=on_error,
        )
        X, y = simulate(prior, simulator, n_simulations, random_state=rng, **options)
        data, y, y_ndim, names = self._validate_fit(X, y)
        valid = None
        if n_validation:
            Xv, yv = simulate(
                prior, simulator, n_validation, random_state=rng, **options
            )
            valid = (self._as_data(Xv), yv)
        sim_rng = np.random.default_rng(rng.randint(2**31 - 1))
        theta = y

        def fresh(epoch):
            if refresh == "parameters":
                X_new, y_new = simulate(
                    prior,
                    simulator,
                    n_simulations,
                    random_state=sim_rng.integers(2**31 - 1),
                    **options,
                )
                return self._validate_X(X_new, reset=False), y_new
            counts = None
            if n_replicates is not None:
                counts = (
                    n_replicates
                    if isinstance(n_replicates, Integral)
                    else sim_rng.choice(np.asarray(n_replicates), len(theta))
                )
            X_new, kept = simulate_at(
                simulator, theta, sim_rng, counts, simulator_kwargs, on_error
            )
            return self._validate_X(X_new, reset=False), kept

        return self._fit(
            data,
            y,
            y_ndim,
            names,
            rng,
            valid=valid,
            split=False,  # n_validation=0: no validation set at all
            refresh=None if refresh is None else fresh,
            refresh_every=refresh_every,
        )

    # -------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """Save the estimator to ``path`` in skamortise's safe format.

        The file holds plain data only (hyperparameters and fitted attributes as
        JSON, network weights as tensors); :func:`skamortise.load` reads it back
        without executing anything from it, on any device.

        Parameters
        ----------
        path : str or path-like
            Where to write.
        """
        from .io import save

        save(self, path)

    def _restore_network(self, state_dict: dict, device) -> None:
        """Rebuild the network from the fitted metadata and load its weights."""
        self._check_family_params()
        transform = self._bounds_transform(self.n_parameters_)
        self.parameter_transform_ = (
            None if transform is None or transform.is_identity else transform
        )
        shape = (
            (1, 1, *self.event_shape_) if self.replicated_ else (1, *self.event_shape_)
        )
        data = Data(np.zeros(shape), None, self.replicated_)
        network = self._new_network(data, self.n_parameters_, seed=0)
        network.load_state_dict(state_dict)
        self.network_ = network.to(device=device, dtype=torch.float64)

    # ---------------------------------------------------------------- inference
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def _prepare(self, X) -> Data:
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def _device(self) -> torch.device:
        return next(self.network_.parameters()).device

    def _chunks(self, data: Data):
        """Yield ``(slice, Batch)`` pieces of ``data`` sized to bound memory."""
        per_set = data.values[0].size if len(data) else 1
        step = max(1, _INFERENCE_CHUNK // max(1, per_set))
        device = self._device()
        for start in range(0, len(data), step):
            index = slice(start, start + step)
            yield index, self._batch(data.take(index), None, device, torch.float64)

    @torch.no_grad()
    def _summaries(self, data: Data) -> torch.Tensor:
        """The summary network's output for every data set, as one tensor."""
        self.network_.eval()
        return torch.cat(
            [
                self.network_.summarise(batch.x, batch.mask)
                for _, batch in self._chunks(data)
            ]
        )

    def _from_standard(self, z: np.ndarray) -> np.ndarray:
        """Undo the parameter standardisation (training space, not bounded space)."""
        return z * self.y_scale_ + self.y_loc_

    def _validation_score_data(self, X, y):
        data = self._prepare(X)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        check_consistent_length(data.values, y)
        y = y.reshape(len(y), -1)
        if y.shape[1] != self.n_parameters_:
            raise ValueError(
                f"y has {y.shape[1]} parameters but {type(self).__name__} was fitted "
                f"with {self.n_parameters_}."
            )
        return data, y

    @torch.no_grad()
    def _mean_loss(self, X, y) -> float:
        """The training loss on ``(X, y)`` (standardised units)."""
        data, y = self._validation_score_data(X, y)
        batch = self._batch(data, y, self._device(), torch.float64)
        return evaluate(self.network_, self._loss, batch)

    # ------------------------------------------------------------ sklearn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        # A pickle holds CPU tensors so that it loads on machines without a GPU.
        network = state.get("network_")
        if network is not None and next(network.parameters()).device.type != "cpu":
            state["network_"] = copy.deepcopy(network).cpu()
        return state
