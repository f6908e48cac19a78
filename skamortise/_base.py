"""The scikit-learn base shared by every estimator family.

It owns the standardisation moments (the data's live in the network's first module,
:class:`~skamortise.nn.standardise.Standardise`), pandas labels, network
construction, training from a source (``fit_source``: the one path from an opened
source to the one training loop) and chunked inference; input validation for every
data layout is ``_layout.py``'s. A family adds its head, its loss and its inference
methods. Where training pairs come from is the sources' business (``_source.py``,
:mod:`skamortise.sources`); the base imports no simulation code.
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
from sklearn.utils.validation import check_is_fitted

from ._checks import _check_hidden
from ._data import MISSING, Data
from ._fitting import FittingMixin
from ._layout import LayoutMixin
from ._output import OutputMixin
from ._rebuild import rebuild_network
from ._runtime import with_thread_limit
from ._scaling import covariate_moments, log_count_moments
from ._training import (
    Batch,
    evaluate,
)
from ._training_range import (
    MAX_RECORDED,
    check_training_range,
    record_training_range,
)
from .distributions.mapped import parameter_map
from .distributions.transforms import BoundsTransform
from .nn import (
    SERIES_NETWORKS,
    AmortisedNetwork,
    build_summary_network,
)
from .nn._activations import ACTIVATIONS
from .nn.covariates import CovariateInput
from .nn.standardise import Standardise

# Largest standardised parameter accepted as a training or scoring target.
_MAX_STANDARDISED = 1e6
# Most set-level covariates a saved file may declare (bounds what loading builds).
MAX_COVARIATES = 100_000
# Inference runs in chunks of roughly this many replicates to bound memory.
_INFERENCE_CHUNK = 65536


_INIT_LOCK = threading.Lock()


class BaseNeuralEstimator(LayoutMixin, FittingMixin, OutputMixin, BaseEstimator):
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
        "missing": [StrOptions(set(MISSING))],
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
        """Map parameters onto the real line (the bounds' inverse; before scaling)."""
        if self.parameter_transform_ is None:
            return y
        y = torch.tensor(np.ascontiguousarray(y, dtype=np.float64))
        return self.parameter_transform_.inv(y).numpy()

    def _parameter_map(self, device=None) -> torch.distributions.Transform:
        """The map from the network's scale to the parameters, on ``device``.

        Standardisation (``y_loc_``, ``y_scale_``), then the bounds map: the one
        place that composes them. Heads model ``parameter_map.inv(theta)``.
        """
        loc, scale = (
            torch.as_tensor(v, dtype=torch.float64, device=device)
            for v in (self.y_loc_, self.y_scale_)
        )
        return parameter_map(loc, scale, self.parameter_transform_)

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
        """Validate family parameters beyond ``_parameter_constraints``.

        Validation only: it sets nothing (see ``_set_family_attributes``).
        """

    def _set_family_attributes(self, n_parameters: int, focused: bool = False) -> None:
        """Set the fitted attributes a family derives from its parameters.

        Called once the number of parameters is known, before the head is built,
        both when fitting and when a saved estimator is restored; ``focused``: the
        network is trained for one observed data set (a sequential fit).
        """

    # ------------------------------------------------------------------ network
    def _summary_spec(self, data):
        """What builds the summary network: ``summary_network`` unless a family
        chooses otherwise for ``data``'s layout."""
        return self.summary_network

    def _new_network(
        self, data, n_parameters: int, seed: int, x_moments=None, counts=None
    ):
        """A fresh network for data of ``data``'s layout (``event_shape``,
        ``replicated``, ``max_count``, ``covariates``), standardising the data by
        ``x_moments`` (location, scale) and a series network's log length by the
        moments of the training ``counts`` (replicate counts); None: 0 and 1, for
        saved ones to replace."""
        hidden = _check_hidden(self.hidden_layer_sizes)
        covariates = None
        if data.covariates is not None:  # their moments: buffers of the network
            covariates = CovariateInput(*covariate_moments(data.covariates))
        # Weight initialisation uses torch's global generator; fork it so the seed
        # makes the network reproducible without touching the user's global stream.
        # The lock keeps threads (an ensemble under joblib's threading backend) from
        # seeding and drawing from that one generator in interleaved order.
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            summary, width = build_summary_network(
                self._summary_spec(data),
                self.summary_network_kwargs,
                event_shape=data.event_shape,
                replicated=data.replicated,
                hidden_layer_sizes=hidden,
                activation=self.activation,
                max_count=data.max_count,
                count_moments=log_count_moments(counts),
                missing=self.missing == "mask",
            )
            n_covariates = 0 if covariates is None else covariates.n_covariates
            head = self._build_head(width + n_covariates, n_parameters)
        standardise = (
            Standardise.identity(data.event_shape)
            if x_moments is None
            else Standardise(*x_moments)
        )
        return AmortisedNetwork(summary, head, covariates, standardise)

    def _batch(self, data: Data, y: np.ndarray | None, device, dtype) -> Batch:
        """Tensors for ``data`` (and training-space ``y``) in ``dtype``.

        ``X`` stays float64: the network standardises it in float64 and then casts
        it (see :class:`~skamortise.nn.standardise.Standardise`).
        """
        values = np.ascontiguousarray(data.values, dtype=np.float64)  # views too
        x = torch.tensor(values, device=device)
        mask = None if data.mask is None else torch.tensor(data.mask, device=device)
        covariates = None
        if data.covariates is not None:
            covariates = torch.tensor(data.covariates, dtype=dtype, device=device)
        if y is None:
            target = torch.empty(len(data), 0, dtype=dtype, device=device)
        else:
            theta = torch.tensor(np.ascontiguousarray(y, dtype=np.float64))
            z = self._parameter_map().inv(theta).numpy()
            # A parameter a million training sds away cannot be a sensible target
            # (and overflows float32 losses).
            if not np.abs(z).max(initial=0.0) < _MAX_STANDARDISED:
                raise ValueError(
                    "y has values too far from the training parameters' range "
                    f"(|y| up to {np.abs(y).max():.3g} against a training scale of "
                    f"{np.max(self.y_scale_):.3g}); rescale the parameters."
                )
            target = torch.tensor(z, dtype=dtype, device=device)
        return Batch(x, mask, target, covariates)

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
        self._check_family_params()
        _check_hidden(self.hidden_layer_sizes)

    def _restore_network(self, state_dict: dict, device) -> None:
        """Rebuild the network from the fitted metadata and load its weights.

        Parameters and metadata come from a file: they are validated first, and the
        network is built under a size limit set by the saved weights, which it must
        then match exactly (see :func:`skamortise._rebuild.rebuild_network`).
        """
        self._check_saved_params()
        p, shape = (
            getattr(self, "n_parameters_", None),
            getattr(self, "event_shape_", None),
        )
        # Files written before covariates existed have none.
        k = self.n_covariates_ = getattr(self, "n_covariates_", 0)
        if not (
            isinstance(getattr(self, "replicated_", None), bool)
            and type(p) is int
            and p >= 1
            and isinstance(shape, tuple)
            and 1 <= len(shape) <= 3
            and all(type(s) is int and s >= 1 for s in shape)
            and type(k) is int
            and 0 <= k <= MAX_COVARIATES
        ):
            raise ValueError(
                f"The fitted layout of {type(self).__name__} is invalid: expected "
                "replicated_ a bool, n_parameters_ a positive int, event_shape_ 1 "
                f"to 3 positive ints and n_covariates_ an int in [0, {MAX_COVARIATES}]"
                f"; got {getattr(self, 'replicated_', None)!r}, {p!r}, {shape!r} and "
                f"{k!r}."
            )
        self._set_family_attributes(p, focused=hasattr(self, "focus_"))
        transform = self._bounds_transform(p)
        self.parameter_transform_ = (
            None if transform is None or transform.is_identity else transform
        )
        # No data set: only the layout (event shape, replicated) is read from it.
        data = Data(
            np.zeros((0, 1, *shape) if self.replicated_ else (0, *shape)),
            None,
            self.replicated_,
            np.zeros((0, k)) if k else None,
        )
        network = rebuild_network(
            lambda: self._new_network(data, p, seed=0),
            state_dict,
            type(self).__name__,
        )
        self.network_ = network.to(device=device, dtype=torch.float64)

    # ---------------------------------------------------------------- inference
    @property
    def x_loc_(self) -> np.ndarray:
        """Location of the training data: per feature, or one value for grids.

        Read from the network's first module, which standardises the data.
        """
        return self.network_.standardise.loc.cpu().numpy().copy()

    @property
    def x_scale_(self) -> np.ndarray:
        """Scale of the training data: per feature, or one value for grids."""
        return self.network_.standardise.scale.cpu().numpy().copy()

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
            [self.network_.summarise(*batch.inputs) for _, batch in self._chunks(data)]
        )

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
        tags.input_tags.allow_nan = self.missing == "mask"
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
