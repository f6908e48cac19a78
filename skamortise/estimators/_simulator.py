"""``fit_simulator``: training on the fly, for the families that estimate parameters."""

from __future__ import annotations

from sklearn.base import _fit_context

from .._runtime import with_thread_limit
from ..sources import SimulatorSource


class SimulatorFitMixin:
    """Adds ``fit_simulator``: ``fit_source`` with a :class:`SimulatorSource`.

    Model comparison, whose training pairs come from several models, trains on the
    fly with a :class:`~skamortise.sources.ModelSimulatorSource` instead.
    """

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
        early stopping compares like with like. The same as
        ``fit_source(SimulatorSource(prior, simulator, n_simulations, ...))``.

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
        refresh_every : int or "batch", default=1
            Epochs between refreshes; ``"batch"`` simulates every minibatch afresh
            after the first epoch.
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
        source = SimulatorSource(
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
        return self._fit_source(source)
