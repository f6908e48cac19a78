"""Rates of a birth-death-immigration process from a sparsely observed population.

A population grows by births (rate ``birth * N``) and immigration (rate
``immigration``) and shrinks by deaths (rate ``death * N``); the process is
simulated exactly with the Gillespie algorithm and recorded at ten sparse times.
Its likelihood at sparse observations is awkward, its simulator is not, so we:

1. simulate (data, parameter) pairs from the log-uniform prior;
2. summarise each trajectory inside a Pipeline: ``log(1 + N)``, then its mean,
   variance and lag autocorrelations;
3. fit a neural posterior estimator and tune both the summaries (the lags) and
   the posterior family (mixture components) with GridSearchCV;
4. fit a quantile estimator on the same summaries for 90% credible intervals;
5. check the intervals' coverage on fresh simulations against the nominal 90%
   (the known answer here, where the posterior itself is not known), and report
   the posterior of one observed trajectory with labelled pandas outputs.

Run ``python examples/birth_death_pipeline.py`` (a few minutes) or add ``--fast``
for a smoke run of well under a minute.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _known_answers import check_known_answers, coverage_range
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer

import skamortise
from skamortise.long_format import tidy
from skamortise.models.birth_death import BirthDeathImmigration
from skamortise.pipeline import Pipeline
from skamortise.preprocessing import TimeSeriesSummaries


def simulate_table(model, n, seed):
    """Simulated trajectories and log-rates as labelled DataFrames."""
    counts, rates = skamortise.simulate(
        model.prior, model.simulator, n, random_state=seed
    )
    X = pd.DataFrame(counts, columns=[f"t{t:g}" for t in model.times])
    y = pd.DataFrame(np.log(rates), columns=[f"log_{p}" for p in model.parameter_names])
    return X, y


def summaries():
    """``log(1 + N)`` followed by its moments and autocorrelations."""
    return [
        ("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
        ("summaries", TimeSeriesSummaries(moments=("mean", "var"), lags=(1, 2))),
    ]


def coverage(intervals, y: pd.DataFrame) -> np.ndarray:
    """Fraction of true values inside each parameter's interval.

    ``intervals`` is a frame with (parameter, bound) columns, as the estimators
    return it under ``set_output(transform="pandas")``.
    """
    bounds = np.asarray(intervals).reshape(len(y), y.shape[1], 2)
    truth = y.to_numpy()
    return ((bounds[..., 0] <= truth) & (truth <= bounds[..., 1])).mean(axis=0)


def main(fast: bool = False) -> None:
    n_train, n_test = (2_000, 200) if fast else (10_000, 1_000)
    # The full run uses the estimators' defaults (early stopping).
    network = dict(hidden_layer_sizes=(32,), max_epochs=50) if fast else {}
    network["random_state"] = 0
    model = BirthDeathImmigration(times=np.linspace(2.0, 20.0, 10))
    X, y = simulate_table(model, n_train, seed=0)
    X_test, y_test = simulate_table(model, n_test, seed=1)

    # --- the posterior: summaries and mixture size tuned together --------------
    # Pandas output throughout: summaries keep their names, estimates are labelled
    # with the parameter names of y.
    npe = Pipeline(
        [
            *summaries(),
            (
                "npe",
                skamortise.NeuralPosteriorEstimator(
                    distribution="mixture", n_components=2, **network
                ),
            ),
        ]
    ).set_output(transform="pandas")
    grid = {
        "summaries__lags": [(1,), (1, 2, 3)],
        "npe__n_components": [3] if fast else [1, 3, 5],
    }
    search = GridSearchCV(npe, grid, cv=2 if fast else 3).fit(X, y)
    print("GridSearchCV (score: mean log posterior density of held-out rates)")
    results = pd.DataFrame(search.cv_results_)
    print(
        results[
            ["param_summaries__lags", "param_npe__n_components", "mean_test_score"]
        ].to_string(index=False)
    )
    print("best:", search.best_params_)
    posterior = search.best_estimator_

    # --- marginal quantiles from a second estimator on the same summaries ------
    quantile = (
        Pipeline(
            [
                *summaries(),
                (
                    "nqe",
                    skamortise.NeuralQuantileEstimator(
                        quantiles=(0.05, 0.5, 0.95), **network
                    ),
                ),
            ]
        )
        .set_output(transform="pandas")
        .fit(X, y)
    )

    # --- calibration on fresh simulations ---------------------------------------
    report = pd.DataFrame(
        {
            "posterior": coverage(
                posterior.predict_interval(X_test, alpha=0.1), y_test
            ),
            "quantile": coverage(quantile.predict_interval(X_test, alpha=0.1), y_test),
        },
        index=y.columns,
    )
    print("\nEmpirical coverage of 90% credible intervals (nominal 0.90):")
    print(report.round(3).to_string())

    # --- one observed trajectory, with labelled pandas outputs -----------------
    observed = X_test.iloc[[0]]
    print("\nObserved counts:", observed.to_numpy().astype(int).ravel().tolist())
    print("True log-rates:", y_test.iloc[0].round(3).to_dict())
    draws = posterior.sample(observed, 1000, random_state=0)
    print("\nPosterior mean and sd of the log-rates (1000 draws):")
    print(draws.agg(["mean", "std"]).round(3).to_string())
    print("\nMarginal quantiles (tidy):")
    print(tidy(quantile.predict_quantiles(observed)).round(3).to_string(index=False))

    # --- known answer: 90% intervals cover 90% of the truths ---------------------
    check_known_answers(
        **{
            f"coverage_90_{estimator}_{parameter}": coverage_range(
                value, 0.9, n_test, 0.05 if fast else 0.01
            )
            for estimator in report
            for parameter, value in report[estimator].items()
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fast",
        action="store_true",
        help="tiny simulation budget and networks (CI smoke run)",
    )
    main(fast=parser.parse_args().fast)
