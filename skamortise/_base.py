"""The scikit-learn base shared by every estimator family.

It owns input validation for every data layout, standardisation, pandas labels,
network construction, training from a source (``fit_source``: the one path from an
opened source to the one training loop) and chunked inference. A family adds its
head, its loss and its inference methods. Where training pairs come from is the
sources' business (``_source.py``, :mod:`skamortise.sources`); the base imports no
simulation code.
"""

from __future__ import annotations

import copy
import math
import os
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import _check_hidden, _ndim, _parameter_names
from ._data import Data, as_data, as_series, is_ragged
from ._fitting import FittingMixin
from ._output import OutputMixin
from ._rebuild import rebuild_network
from ._runtime import with_thread_limit
from ._scaling import standardise_data
from ._training import (
    Batch,
    evaluate,
)
from ._training_range import (
    MAX_RECORDED,
    check_training_range,
    record_training_range,
)
from .distributions.transforms import BoundsTransform
from .nn import (
    SERIES_NETWORKS,
    AmortisedNetwork,
    build_summary_network,
    is_series_network,
)
from .nn._activations import ACTIVATIONS

# Largest standardised parameter accepted as a training or scoring target.
_MAX_STANDARDISED = 1e6
# Inference runs in chunks of roughly this many replicates to bound memory.
_INFERENCE_CHUNK = 65536


_INIT_LOCK = threading.Lock()


class BaseNeuralEstimator(FittingMixin, OutputMixin, BaseEstimator):
    """Shared machinery of the neural estimators; not for direct use."""

    # Families whose loss is a positive scale that shrinks as the replicate count
    # grows stop early on a replicate-count balanced validation loss (_training/).
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
        "warn_out_of_range": ["boolean"],
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
            self._reset_features(data.event_shape)
        else:
            self._check_layout(data)
        return data

    def _reset_features(self, event_shape: tuple) -> None:
        """``n_features_in_`` of data validated without ``validate_data``."""
        self.n_features_in_ = math.prod(event_shape)
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

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
            # y_numeric converts object arrays only; numpy strings would pass.
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
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

    # ------------------------------------------------------------------ network
    def _new_network(self, data, n_parameters: int, seed: int):
        """A fresh network for data of ``data``'s layout (``event_shape``,
        ``replicated``, ``max_count``)."""
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
        from ._saving import save

        save(self, path)

    def _check_saved_params(self) -> None:
        """Validate parameters read from a file, before anything is built from them."""
        self._validate_params()
        copy.copy(self)._check_family_params()  # on a copy: sets no fitted attribute
        _check_hidden(self.hidden_layer_sizes)

    def _restore_network(self, state_dict: dict, device) -> None:
        """Rebuild the network from the fitted metadata and load its weights.

        Parameters and metadata come from a file: they are validated first, and the
        network is built under a size limit set by the saved weights, which it must
        then match exactly (see :func:`skamortise._rebuild.rebuild_network`).
        """
        self._check_saved_params()
        self._check_family_params()
        p, shape = (
            getattr(self, "n_parameters_", None),
            getattr(self, "event_shape_", None),
        )
        if not (
            isinstance(getattr(self, "replicated_", None), bool)
            and type(p) is int
            and p >= 1
            and isinstance(shape, tuple)
            and 1 <= len(shape) <= 3
            and all(type(s) is int and s >= 1 for s in shape)
        ):
            raise ValueError(
                f"The fitted layout of {type(self).__name__} is invalid: expected "
                "replicated_ a bool, n_parameters_ a positive int and event_shape_ 1 "
                f"to 3 positive ints; got {getattr(self, 'replicated_', None)!r}, "
                f"{p!r} and {shape!r}."
            )
        transform = self._bounds_transform(p)
        self.parameter_transform_ = (
            None if transform is None or transform.is_identity else transform
        )
        # No data set: only the layout (event shape, replicated) is read from it.
        data = Data(
            np.zeros((0, 1, *shape) if self.replicated_ else (0, *shape)),
            None,
            self.replicated_,
        )
        network = rebuild_network(
            lambda: self._new_network(data, p, seed=0), state_dict, type(self).__name__
        )
        self.network_ = network.to(device=device, dtype=torch.float64)

    # ---------------------------------------------------------------- inference
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def _prepare(self, X) -> Data:
        check_is_fitted(self)
        data = self._validate_X(X, reset=False)
        if self.warn_out_of_range:
            check_training_range(
                getattr(self, "training_range_", None),
                lambda: self._summaries(data).cpu().numpy(),
                data.n_replicates,
                type(self).__name__,
            )
        return data

    def _record_training_range(self, tables) -> None:
        """Store ``training_range_``: the replicate counts and summaries of training.

        ``tables`` are the training and validation tables (None where absent).
        """
        tables = [t for t in tables if t is not None]
        counts = [t.replicate_counts() for t in tables]
        # Evenly spaced data sets bound the cost on large training sets.
        step = max(1, math.ceil(sum(len(t) for t in tables) / MAX_RECORDED))
        summaries = [self._summaries(t.spaced(step)) for t in tables]
        self.training_range_ = record_training_range(
            torch.cat(summaries).cpu().numpy(),
            None if counts[0] is None else np.concatenate(counts),
        )

    @with_thread_limit
    def summarize(self, X) -> np.ndarray:
        """The learned summary of each data set.

        The output of the summary network: the data's representation inside the
        network, which the head maps to estimates, quantiles, a posterior or a
        ratio. Data are standardised with the training data's location and scale
        before the summary network sees them.

        Parameters
        ----------
        X : array-like or list of arrays
            Data sets in the layout used at fit (replicate counts may differ).

        Returns
        -------
        summaries : ndarray of shape (n_datasets, n_summaries)
            Float64 summaries, one row per data set.

        See Also
        --------
        skamortise.diagnostics.misspecification_test : Compares the summaries of
            observed data with those of data simulated from the training
            distribution.
        """
        return self._summaries(self._prepare(X)).cpu().numpy()

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
