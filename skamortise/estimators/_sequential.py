"""``fit_sequential``: truncated sequential rounds for one observed data set."""

from __future__ import annotations

from sklearn.base import _fit_context

from .._runtime import with_thread_limit
from ..sequential._rounds import check_focus, fit_rounds

# The flow ``distribution="auto"`` resolves to in a sequential fit. The spline
# flow's bins have bounded widths and heights, so it keeps about 1e-3 of its mass
# spread over the whole prior range: that is above the region's 1e-4 quantile, and
# its regions stay close to the whole prior where the masked autoregressive flow's
# shrink (benchmarks/results/sequential.md).
SEQUENTIAL_FLOW = "maf"

_DOC = """Train for one observed data set, in rounds of truncated simulations.

        Round one simulates from the prior; each later round from the prior
        truncated to the current posterior's highest-probability region for
        ``X_observed`` (the region above the 1e-4 quantile of the posterior log
        density at posterior draws), so that simulations go where the data point.
        Every round trains on all simulations so far, warm-starting the network,
        with an early-stopping patience of at least 20 epochs (``n_iter_no_change``
        when larger): a warm-started round's validation loss is often best in its
        first epochs, and a shorter patience stops before the new simulations are
        fitted.
        {what}
        The fitted estimator is focused on ``X_observed`` (``focus_``): it warns
        (:class:`~skamortise.sequential.FocusWarning`) when used on other data.{flow}

        Parameters
        ----------
        prior : callable or object with ``rvs``
            ``prior(n, rng) -> (n, n_parameters)`` (``rng`` a numpy Generator), or a
            frozen scipy distribution. {density}
        simulator : callable
            ``simulator(theta, rng, **simulator_kwargs) -> data``, one data set per
            row of ``theta`` (see :func:`skamortise.simulate`).
        X_observed : array-like
            The observed data set, shaped like one of the simulator's data sets
            (optionally with a leading axis of length one).
        n_simulations : int, default=1000
            Simulations over all rounds, split evenly between them.
        n_rounds : int, default=5
            Rounds of simulation and training.
        random_state : int, RandomState instance or None, default=None
            Seeds the simulations and truncations; None uses the estimator's
            ``random_state``. Training is seeded by the estimator's ``random_state``.
        n_jobs : int, default=None
            Parallel simulation jobs (joblib, or dask under its joblib backend);
            the result is the same for any ``n_jobs``.
        simulator_kwargs : dict, default=None
            Further keywords for the simulator.
        on_error : {{"raise", "drop"}}, default="raise"
            What to do when the simulator fails (see :func:`skamortise.simulate`).

        Returns
        -------
        self : estimator
            The fitted estimator, with ``focus_`` (the observed data set),
            ``round_sizes_`` (simulations per round) and ``acceptance_rates_``
            (share of the prior mass in each round's proposal region).

        References
        ----------
        .. [1] Deistler, M., Goncalves, P. J. and Macke, J. H. (2022). Truncated
           proposals for scalable and hassle-free simulation-based inference.
           NeurIPS.
        """

POSTERIOR_TEXT = (
    "The loss is the ordinary one: inside the region the truncated prior is the\n"
    "        prior up to a constant, so no proposal correction is needed."
)
RATIO_TEXT = (
    "The ratio is proposal-free; ``sample`` then uses the prior restricted to\n"
    "        the last round's region (``proposal_``), where the simulations were."
)
FLOW_TEXT = (
    '\n        With ``distribution="auto"`` the flow is the masked autoregressive'
    " flow,\n"
    "        whose regions shrink as the posterior narrows: the spline flow keeps a\n"
    "        floor of mass over the whole prior range, above the region's quantile."
)
DENSITY_POSTERIOR = (
    "A density (``log_prob`` or\n            ``logpdf``) is needed only when a "
    "region holds too little prior mass\n            for rejection sampling."
)
DENSITY_RATIO = (
    "It needs a density (``log_prob``\n            or ``logpdf``): the posterior "
    "is prior times ratio."
)


def _make_fit_sequential(ratio: bool):
    @_fit_context(prefer_skip_nested_validation=True)
    @with_thread_limit
    def fit_sequential(
        self,
        prior,
        simulator,
        X_observed,
        n_simulations=1000,
        n_rounds=5,
        random_state=None,
        n_jobs=None,
        *,
        simulator_kwargs=None,
        on_error="raise",
    ):
        return fit_rounds(
            self,
            prior,
            simulator,
            X_observed,
            n_simulations,
            n_rounds,
            random_state=random_state,
            n_jobs=n_jobs,
            simulator_kwargs=simulator_kwargs,
            on_error=on_error,
        )

    fit_sequential.__doc__ = _DOC.format(
        what=RATIO_TEXT if ratio else POSTERIOR_TEXT,
        flow="" if ratio else FLOW_TEXT,
        density=DENSITY_RATIO if ratio else DENSITY_POSTERIOR,
    )
    return fit_sequential


class _FocusMixin:
    """The focus of a sequential fit: dropped by any other fit, checked at use."""

    def _fit_source(self, source):
        # Any other fit trains an amortised estimator again.
        self.__dict__.pop("focus_", None)
        return super()._fit_source(source)

    def _prepare(self, X):
        data = super()._prepare(X)
        check_focus(self, data)
        return data


class PosteriorSequentialMixin(_FocusMixin):
    """Adds ``fit_sequential`` (TSNPE) to the posterior estimator."""

    fit_sequential = _make_fit_sequential(ratio=False)


class RatioSequentialMixin(_FocusMixin):
    """Adds ``fit_sequential`` (truncated rounds) to the ratio estimator."""

    fit_sequential = _make_fit_sequential(ratio=True)
