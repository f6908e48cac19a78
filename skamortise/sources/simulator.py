"""Training pairs simulated on the fly, renewed every few epochs or every minibatch."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from .._seeds import draw_seed
from .._source import TrainingSet, TrainingSource
from .._tables import ArrayTable
from ..simulation import simulate, simulate_models
from ..simulation._prior import draw_counts
from ..simulation._rows import simulate_at

_REFRESH = ("parameters", "data", None)

# The parameters of SimulatorSource, shared with ``fit_simulator``'s docstring.
SIMULATOR_PARAMETERS = """    prior : callable or object with ``rvs``
        ``prior(n, rng) -> (n, n_parameters)`` (``rng`` a numpy Generator), or a
        frozen scipy distribution.
    simulator : callable
        ``simulator(theta, rng, **simulator_kwargs) -> data``, one data set per
        row of ``theta`` (see :func:`skamortise.simulate`).
    n_simulations : int, default=10000
        Training pairs per epoch (per refresh).
    n_validation : int, default=None
        Size of the fixed validation set; None uses the estimator's
        ``validation_fraction * n_simulations``; 0 disables it.
    refresh : {"parameters", "data"} or None, default="parameters"
        ``"parameters"`` draws new parameters and data, ``"data"`` re-simulates
        data at the first training set's parameters, None trains on one fixed set.
    refresh_every : int or "batch", default=1
        Epochs between refreshes, or ``"batch"``: after the first epoch, every
        minibatch is simulated afresh (memory then holds one minibatch of fresh
        pairs, not an epoch's).
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

"""


def _check_positive(value, name: str) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")


class _OnTheFly(TrainingSource):
    """What the simulator sources share: a fixed validation set, refreshes."""

    _refresh_options = _REFRESH

    def __init__(
        self, n_simulations, *, n_validation, refresh, refresh_every, **options
    ):
        self._check(n_simulations, n_validation, refresh, refresh_every)
        self.n_simulations, self.n_validation = n_simulations, n_validation
        self.refresh, self.refresh_every = refresh, refresh_every
        self.options = options  # for the simulation function

    def _check(self, n_simulations, n_validation, refresh, refresh_every) -> None:
        _check_positive(n_simulations, "n_simulations")
        if n_validation is not None and not (
            isinstance(n_validation, Integral) and n_validation >= 0
        ):
            raise ValueError(
                "n_validation must be a non-negative int or None; got "
                f"{n_validation!r}."
            )
        if refresh not in self._refresh_options:
            options = (
                ", ".join(repr(r) for r in self._refresh_options if r) + " or None"
            )
            raise ValueError(f"refresh must be {options}; got {refresh!r}.")
        if refresh_every != "batch":
            try:
                _check_positive(refresh_every, "refresh_every")
            except ValueError:
                raise ValueError(
                    f"refresh_every must be a positive int or 'batch'; got "
                    f"{refresh_every!r}."
                ) from None

    def _draw(self, n: int, random_state):
        """``(X, y)``: ``n`` fresh pairs."""
        raise NotImplementedError

    def _redraw(self, theta, rng):
        """``(X, theta_kept)``: fresh data at the parameters ``theta``."""
        raise NotImplementedError

    def open(self, estimator, rng) -> TrainingSet:
        n_validation = self.n_validation
        if n_validation is None:
            n_validation = math.ceil(estimator.validation_fraction * self.n_simulations)
        X, y = self._draw(self.n_simulations, rng)
        data, y, y_ndim, names = estimator._validate_fit(X, y)
        train = ArrayTable(data, y)
        valid = None
        if n_validation:
            Xv, yv = self._draw(n_validation, rng)
            valid = ArrayTable(
                estimator._as_data(Xv),
                estimator._encode_targets(yv),
            )
        renew = _Renewal(self, estimator, np.random.default_rng(draw_seed(rng)), y)
        batchwise = self.refresh_every == "batch"
        return TrainingSet(
            train,
            valid,
            split=False,  # n_validation=0: no validation set at all
            y_ndim=y_ndim,
            names=names,
            parameter_range=train.parameter_range(),
            refresh=None
            if self.refresh is None
            else renew.table
            if batchwise
            else renew.epoch,
            refresh_every=1 if batchwise else self.refresh_every,
            proposal=self.proposal,
        )


class _Renewal:
    """Fresh training pairs for one fit, from the source's own random stream."""

    def __init__(self, source: _OnTheFly, estimator, rng, theta):
        self.source, self.estimator, self.rng, self.theta = (
            source,
            estimator,
            rng,
            theta,
        )

    def pairs(self, index=None):
        """Fresh validated ``(Data, y)``: new pairs, or new data at ``theta[index]``."""
        source, estimator = self.source, self.estimator
        if source.refresh == "parameters":
            n = source.n_simulations if index is None else len(index)
            X, y = source._draw(n, draw_seed(self.rng))
            y = estimator._encode_targets(y)
        else:
            theta = self.theta if index is None else self.theta[index]
            X, y = source._redraw(theta, self.rng)
        return estimator._validate_X(X, reset=False), y

    def epoch(self, epoch: int) -> ArrayTable:
        return ArrayTable(*self.pairs())

    def table(self, epoch: int) -> _SimulatingTable:
        return _SimulatingTable(self)


class _SimulatingTable:
    """A training set whose every read simulates: fresh pairs for every minibatch."""

    in_memory = False
    counts = None

    def __init__(self, renewal: _Renewal):
        self.renewal = renewal

    def __len__(self) -> int:
        renewal = self.renewal
        if renewal.source.refresh == "parameters":
            return renewal.source.n_simulations
        return len(renewal.theta)

    def read(self, index: np.ndarray):
        return self.renewal.pairs(index)


class SimulatorSource(_OnTheFly):
    __doc__ = f"""Training pairs simulated on the fly from a prior and a simulator.

    Fresh training pairs keep a network from overfitting a finite simulation
    budget; the validation set stays fixed, so early stopping compares like with
    like. ``est.fit_simulator(prior, simulator, ...)`` is
    ``est.fit_source(SimulatorSource(prior, simulator, ...))``.

    Parameters
    ----------
{SIMULATOR_PARAMETERS}    Attributes
    ----------
    proposal : object or None
        ``prior`` when it has a density (``log_prob`` or ``logpdf``): the ratio
        estimator keeps it as the default prior of ``sample``.

    Examples
    --------
    >>> from skamortise import NeuralBayesEstimator
    >>> from skamortise.models import GaussianReplicates
    >>> from skamortise.sources import SimulatorSource
    >>> model = GaussianReplicates()
    >>> source = SimulatorSource(model.prior, model.simulator, 200, n_replicates=5,
    ...                          refresh_every="batch")
    >>> est = NeuralBayesEstimator(hidden_layer_sizes=(8,), max_epochs=3,
    ...                            random_state=0).fit_source(source)
    >>> est.n_epochs_
    3
    """

    def __init__(
        self,
        prior,
        simulator,
        n_simulations: int = 10_000,
        *,
        n_validation: int | None = None,
        refresh: str | None = "parameters",
        refresh_every: int | str = 1,
        n_replicates=None,
        simulator_kwargs: dict | None = None,
        n_jobs: int | None = None,
        on_error: str = "raise",
    ):
        super().__init__(
            n_simulations,
            n_validation=n_validation,
            refresh=refresh,
            refresh_every=refresh_every,
            n_replicates=n_replicates,
            simulator_kwargs=simulator_kwargs,
            n_jobs=n_jobs,
            on_error=on_error,
        )
        self.prior, self.simulator = prior, simulator
        has_density = hasattr(prior, "log_prob") or hasattr(prior, "logpdf")
        self.proposal = prior if has_density else None

    def _draw(self, n, random_state):
        return simulate(
            self.prior, self.simulator, n, random_state=random_state, **self.options
        )

    def _redraw(self, theta, rng):
        options = self.options
        counts = draw_counts(options["n_replicates"], len(theta), rng)
        return simulate_at(
            self.simulator,
            theta,
            rng,
            counts,
            options["simulator_kwargs"],
            options["on_error"],
        )


class ModelSimulatorSource(_OnTheFly):
    """Labelled data sets simulated on the fly from several candidate models.

    The on-the-fly source of :class:`~skamortise.NeuralModelComparison`: each
    refresh simulates new data sets from every model (new parameters from its
    prior), in the proportions given, labelled with their model (see
    :func:`skamortise.simulate_models`).

    Parameters
    ----------
    models : mapping of label to (prior, simulator), or sequence of pairs
        The candidate models.
    n_simulations : int, default=10000
        Training data sets per epoch (per refresh), over all models.
    proportions : sequence of float, default=None
        Share of the data sets from each model (None: equal shares).
    n_validation : int, default=None
        Size of the fixed validation set; None uses the estimator's
        ``validation_fraction * n_simulations``; 0 disables it.
    refresh : {"parameters"} or None, default="parameters"
        ``"parameters"`` simulates new data sets, None trains on one fixed set.
    refresh_every : int or "batch", default=1
        Epochs between refreshes, or ``"batch"`` for fresh data sets every minibatch
        after the first epoch.
    n_replicates : int or sequence of int, default=None
        Replicate count(s) passed to every simulator.
    simulator_kwargs : dict, default=None
        Further keywords for every simulator.
    n_jobs : int, default=None
        Parallel simulation jobs (joblib).

    Examples
    --------
    >>> from skamortise import NeuralModelComparison
    >>> from skamortise.sources import ModelSimulatorSource
    >>> def prior(n, rng):
    ...     return rng.normal(size=(n, 1))
    >>> def narrow(theta, rng):
    ...     return theta + rng.normal(size=theta.shape)
    >>> def wide(theta, rng):
    ...     return theta + 3 * rng.normal(size=theta.shape)
    >>> source = ModelSimulatorSource({"narrow": (prior, narrow),
    ...                                "wide": (prior, wide)}, 200)
    >>> clf = NeuralModelComparison(hidden_layer_sizes=(8,), max_epochs=2,
    ...                             random_state=0).fit_source(source)
    >>> clf.classes_.tolist()
    ['narrow', 'wide']
    """

    _refresh_options = ("parameters", None)

    def __init__(
        self,
        models,
        n_simulations: int = 10_000,
        *,
        proportions=None,
        n_validation: int | None = None,
        refresh: str | None = "parameters",
        refresh_every: int | str = 1,
        n_replicates=None,
        simulator_kwargs: dict | None = None,
        n_jobs: int | None = None,
    ):
        super().__init__(
            n_simulations,
            n_validation=n_validation,
            refresh=refresh,
            refresh_every=refresh_every,
            proportions=proportions,
            n_replicates=n_replicates,
            simulator_kwargs=simulator_kwargs,
            n_jobs=n_jobs,
        )
        self.models = models

    def _draw(self, n, random_state):
        return simulate_models(
            self.models, n, random_state=random_state, **self.options
        )
