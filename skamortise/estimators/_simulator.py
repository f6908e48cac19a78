"""``fit_simulator``: training on the fly, for the families that estimate parameters."""

from __future__ import annotations

import textwrap

from sklearn.base import _fit_context

from .._runtime import with_thread_limit
from ..sources import SimulatorSource
from ..sources.simulator import SIMULATOR_PARAMETERS

_DOC = f"""Train on pairs simulated on the fly from a prior and a simulator.

        Fresh training pairs every ``refresh_every`` epochs keep a network from
        overfitting a finite simulation budget; the validation set stays fixed, so
        early stopping compares like with like. The same as
        ``fit_source(SimulatorSource(prior, simulator, n_simulations, ...))``.

        Parameters
        ----------
{textwrap.indent(SIMULATOR_PARAMETERS, "    ")}        Returns
        -------
        self : estimator
            The fitted estimator.
        """


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

    fit_simulator.__doc__ = _DOC
