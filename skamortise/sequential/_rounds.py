"""Sequential rounds: simulate from the truncated prior, train on all simulations.

Round one simulates from the prior; every later round from the prior truncated to
the current posterior's highest-probability region for the observed data set
(:class:`TruncatedPrior`). Each round trains the estimator, warm-started after the
first, on every simulation so far through the estimator's one training path
(``fit_source``). The posterior estimator's loss needs no correction: inside the
region the truncated prior is the prior up to a constant (Deistler et al., 2022).
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._seeds import draw_seed
from .._source import ArraySource
from .._training_range import _caller_level
from ..simulation import simulate
from ..simulation._rows import concatenate
from ._region import TruncatedPrior, prior_density

__all__ = ["FocusWarning", "check_focus", "fit_rounds"]


# Early-stopping patience of every round, at least. A round's validation rows are
# drawn afresh from all simulations so far and its learning rate starts again, so
# a warm-started network's best validation loss often comes in the first epochs
# (SIR and two moons: best epochs 2 to 13 of later rounds); with the default
# patience of 10, training stopped before the network fitted the new simulations.
MIN_PATIENCE = 20


class FocusWarning(UserWarning):
    """A sequentially fitted estimator is used on data other than its focus."""


class _RoundSource(ArraySource):
    """The simulations of the rounds so far, with the proposal of the last round.

    A round's training is focused on one data set, continues the current network
    after the first round and waits at least ``MIN_PATIENCE`` epochs for an
    improvement; the estimator's own settings are left as they are.
    """

    def __init__(self, X, y, proposal, first: bool):
        super().__init__(X, y)
        self.proposal, self.first = proposal, first

    def open(self, estimator, rng):
        training = super().open(estimator, rng)
        training.proposal = self.proposal
        training.focused = True
        training.continue_training = not self.first
        training.min_patience = MIN_PATIENCE
        return training


def _check_count(value, name: str) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def round_sizes(n_simulations, n_rounds) -> list[int]:
    """Simulations per round: the total split evenly, the first rounds one more."""
    n_simulations = _check_count(n_simulations, "n_simulations")
    n_rounds = _check_count(n_rounds, "n_rounds")
    if n_simulations < 2 * n_rounds:
        raise ValueError(
            f"n_simulations is the total over all rounds and must be at least 2 per "
            f"round; got n_simulations={n_simulations} for n_rounds={n_rounds}."
        )
    base, extra = divmod(n_simulations, n_rounds)
    return [base + (r < extra) for r in range(n_rounds)]


def one_data_set(X_observed, X_simulated):
    """``X_observed`` as one data set in the layout of the simulator's output."""
    if X_observed is None:
        raise ValueError("X_observed must be one observed data set; got None.")
    if isinstance(X_simulated, list):  # ragged replicates: one (n_i, ...) array
        x = X_observed[0] if isinstance(X_observed, list) else X_observed
        x = np.asarray(x, dtype=np.float64)
        if isinstance(X_observed, list) and len(X_observed) != 1:
            raise ValueError(
                "X_observed must be one data set; got a list of "
                f"{len(X_observed)} data sets."
            )
        event = X_simulated[0].shape[1:]
        if x.ndim != 1 + len(event) or x.shape[1:] != event:
            raise ValueError(
                f"X_observed has shape {x.shape}; the simulator's data sets have "
                f"shape (n_replicates, *{event})."
            )
        return [x]
    x = np.asarray(X_observed, dtype=np.float64)
    row = X_simulated.shape[1:]
    if x.shape == row:
        x = x[None]
    if x.shape != (1, *row):
        raise ValueError(
            f"X_observed must be one data set of shape {row} (or {(1, *row)}), the "
            f"shape of the simulator's data sets; got shape {x.shape}."
        )
    if not np.isfinite(x).all():
        raise ValueError("X_observed contains NaN or infinity.")
    return x


def fit_rounds(
    estimator,
    prior,
    simulator,
    X_observed,
    n_simulations,
    n_rounds,
    *,
    random_state=None,
    n_jobs=None,
    simulator_kwargs=None,
    on_error="raise",
    quantile=1e-4,
):
    """Fit ``estimator`` by truncated sequential rounds; returns it.

    See ``NeuralPosteriorEstimator.fit_sequential`` for the parameters. Sets
    ``focus_``, ``round_sizes_`` and ``acceptance_rates_``.
    """
    sizes = round_sizes(n_simulations, n_rounds)
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie in (0, 1); got {quantile!r}.")
    log_prior = prior_density(prior)
    ratio = hasattr(estimator, "log_ratio")
    if ratio and log_prior is None:
        raise ValueError(
            "fit_sequential of a ratio estimator needs the prior's density, which "
            "its posterior and truncation are built on: give the prior a log_prob or "
            "logpdf method (e.g. a frozen scipy distribution)."
        )
    rng = check_random_state(
        estimator.random_state if random_state is None else random_state
    )
    seeds = draw_seed(rng, size=(len(sizes), 2))
    estimator.__dict__.pop("focus_", None)
    X_all = y_all = x_obs = None
    proposal, acceptance = prior, []
    for r, size in enumerate(sizes):
        if r:
            proposal = TruncatedPrior.from_estimator(
                estimator,
                prior,
                x_obs,
                quantile=quantile,
                random_state=int(seeds[r, 0]),
            )
        X, y = simulate(
            proposal,
            simulator,
            size,
            simulator_kwargs=simulator_kwargs,
            n_jobs=n_jobs,
            on_error=on_error,
            random_state=int(seeds[r, 1]),
        )
        if x_obs is None:
            x_obs = one_data_set(X_observed, X)
        X_all = X if X_all is None else concatenate([X_all, X])
        y_all = y if y_all is None else np.concatenate([y_all, y])
        density = proposal if (r or log_prior is not None) else None
        estimator._fit_source(_RoundSource(X_all, y_all, density, first=r == 0))
        acceptance.append(1.0 if r == 0 else proposal.acceptance)
    estimator.focus_ = x_obs
    estimator.round_sizes_ = np.asarray(sizes)
    estimator.acceptance_rates_ = np.asarray(acceptance)
    return estimator


def check_focus(estimator, data) -> None:
    """Warn when a focused estimator is given data other than its focus."""
    focus = getattr(estimator, "focus_", None)
    if focus is None:
        return
    target = estimator._validate_X(focus, reset=False)
    same = data.values.shape[1:] == target.values.shape[1:] and all(
        np.array_equal(v, target.values[0]) for v in data.values
    )
    if not same:
        warnings.warn(
            f"This {type(estimator).__name__} was fitted sequentially for one observed "
            "data set (focus_): its estimates for other data sets were not trained "
            "for and may be wrong. Fit with fit or fit_simulator for amortised "
            "inference.",
            FocusWarning,
            stacklevel=_caller_level(),
        )
