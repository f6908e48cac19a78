"""Inference cost per data set of every estimator family and method.

Part 1 (cost). Every family is trained briefly with its default architecture (the
cost of inference does not depend on how well a network is trained) on
``GaussianReplicates`` data (two parameters, ``sigma > 0`` given as ``bounds``) in
three layouts: tabular (the 10 replicates of a data set as 10 features, an MLP
summary) and replicated (a DeepSet) at m = 10 and m = 100 replicates. Every
inference method is then timed at batches of 1, 100 and 10,000 data sets with one
torch thread and one BLAS thread; the cost is CPU time, so that it does not depend on
how busy the shared machine is. A batch is reduced to the largest power of ten that
the wall time per data set measured at the previous batch predicts to fit in
``--budget`` seconds (``--ratio-budget`` for the ratio estimator's MLE and MCMC; the
table says so). Fast calls are repeated and the best time kept. ``--ratio-only``
times the ratio estimator alone.

The posterior and ratio estimators are also timed with ten parameters (the Gaussian
linear task), where the autoregressive flows need one network pass per parameter to
sample, and the training cost per epoch of every fit is reported alongside.

Part 2 (Monte Carlo error). The flows' ``predict``/``predict_quantiles`` summarise
``n_point_samples`` draws made from scrambled Sobol' points. For every flow (and a
spline flow trained on two moons, a curved bimodal posterior) the error of the mean
and of the 2.5%, 50% and 97.5% quantiles is measured against ``n_point_samples``: the
standard deviation over 16 independent scramblings (and, for comparison, over 16
sets of independent draws, the method used before), in posterior standard
deviations, root-mean-squared over data sets and parameters. The exact summaries of
the Gaussian and mixture families are checked against adaptive quadrature and
root finding.

Run (about an hour on the shared 2-core machine)::

    OMP_NUM_THREADS=1 python benchmarks/inference_cost.py

Smoke run (a few minutes)::

    OMP_NUM_THREADS=1 python benchmarks/inference_cost.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from _common import (
    RESULTS,
    command_line,
    log,
    machine_info,
    machine_markdown,
    write_results,
)
from scipy import integrate, optimize, stats
from threadpoolctl import threadpool_limits

from skamortise import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
    simulate,
)
from skamortise.distributions.noise import draw_from_noise
from skamortise.estimators.posterior import _summary_noise
from skamortise.models import GaussianLinear, GaussianReplicates, TwoMoons

FLOWS = ("coupling", "spline", "maf")
NPE_FAMILIES = ("gaussian", "mixture", *FLOWS)
BATCHES = (1, 100, 10_000)
LAYOUTS = {"tabular": 10, "DeepSet, m = 10": 10, "DeepSet, m = 100": 100}
N_DRAWS = 1000  # posterior draws per data set for the sample() rows
MC_LEVELS = np.array([0.025, 0.5, 0.975])
MC_SUMMARIES = ("mean", "2.5%", "50%", "97.5%")
MC_SIZES = (64, 128, 256, 512, 1024, 2048)
MC_REPEATS = 16
MC_DATASETS = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument(
        "--budget", type=float, default=30.0, help="wall seconds per measurement"
    )
    parser.add_argument(
        "--ratio-budget",
        type=float,
        default=300.0,
        help="wall seconds per measurement of the ratio estimator's MLE and MCMC",
    )
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS))
    parser.add_argument("--skip-mc", action="store_true")
    parser.add_argument(
        "--ratio-only",
        action="store_true",
        help="time only the ratio estimator (no Monte Carlo part); write to --out",
    )
    parser.add_argument("--out", default="inference_cost")
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite the markdown from the saved JSON file without measuring",
    )
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.max_epochs, args.budget, args.ratio_budget = 500, 1, 2, 5
    return args


# -- data and estimators --------------------------------------------------------------
def layout_data(model, layout: str, n: int, seed: int):
    X, y = simulate(
        model.prior,
        model.simulator,
        n,
        n_replicates=LAYOUTS[layout],
        random_state=seed,
    )
    return (X[..., 0] if layout == "tabular" else X), y


def fit_all(model, X, y, max_epochs: int, ratio_only: bool = False) -> dict:
    common = dict(max_epochs=max_epochs, random_state=0, n_threads=1)
    estimators = {
        "NeuralBayesEstimator": NeuralBayesEstimator(**common),
        "NeuralQuantileEstimator": NeuralQuantileEstimator(
            bounds=model.bounds, **common
        ),
        "NeuralQuantileEstimator (any level)": NeuralQuantileEstimator(
            quantiles=None, bounds=model.bounds, **common
        ),
        **{
            f"NPE {family}": NeuralPosteriorEstimator(
                family, bounds=model.bounds, **common
            )
            for family in NPE_FAMILIES
        },
        "NeuralRatioEstimator": NeuralRatioEstimator(bounds=model.bounds, **common),
    }
    if ratio_only:
        estimators = {"NeuralRatioEstimator": estimators["NeuralRatioEstimator"]}
    # One throwaway fit first, so that one-time set-up is not charged to any family.
    NeuralBayesEstimator(max_epochs=1, n_threads=1).fit(X, y)
    training = []
    for name, est in estimators.items():
        start = time.process_time()
        est.fit(X, y)
        cpu = time.process_time() - start
        training.append({"family": name, "cpu_seconds": cpu, "epochs": est.n_epochs_})
        log(f"  fitted {name}: {cpu:.1f} CPU s for {est.n_epochs_} epochs")
    return estimators, training


def previous_default(est, method):
    """A flow's summary with 1,000 draws, the default before quasi-random points."""

    def call(X, y):
        saved = est.n_point_samples
        est.set_params(n_point_samples=1000)
        try:
            return getattr(est, method)(X)
        finally:
            est.set_params(n_point_samples=saved)

    return call


def cases(estimators: dict) -> list[tuple[str, str, object]]:
    """``(family, method, call(X, y))`` for every inference method."""
    if "NeuralBayesEstimator" not in estimators:
        return ratio_cases(estimators)
    return other_cases(estimators) + ratio_cases(estimators)


def other_cases(estimators: dict) -> list[tuple[str, str, object]]:
    out = [("NeuralBayesEstimator", "predict", None)]
    name = "NeuralQuantileEstimator"
    out += [(name, "predict_quantiles", None), (name, "predict_interval", None)]
    any_level = estimators[f"{name} (any level)"]
    out += [
        (
            f"{name} (any level)",
            "predict_quantiles([0.025, 0.5, 0.975])",
            lambda X, y: any_level.predict_quantiles(X, [0.025, 0.5, 0.975]),
        ),
        (f"{name} (any level)", "predict_interval", None),
    ]
    for family in NPE_FAMILIES:
        name = f"NPE {family}"
        est = estimators[name]
        out += [
            (name, "predict", None),
            (name, "predict_interval", None),
            (name, "predict_quantiles", None),
            (name, f"sample({N_DRAWS})", lambda X, y, e=est: e.sample(X, N_DRAWS, 0)),
            (name, "log_prob", lambda X, y, e=est: e.log_prob(X, y)),
        ]
        if family in FLOWS:
            out.append(
                (
                    name,
                    "predict_interval, 1,000 draws (previous default)",
                    previous_default(est, "predict_interval"),
                )
            )
    return resolve(out, estimators)


def ratio_cases(estimators: dict) -> list[tuple[str, str, object]]:
    nre = estimators["NeuralRatioEstimator"]
    out = [
        ("NeuralRatioEstimator", "log_ratio", lambda X, y: nre.log_ratio(X, y)),
        ("NeuralRatioEstimator", "predict (MLE)", None),
    ]
    for method in ("mcmc", "importance", "grid"):
        out.append(
            (
                "NeuralRatioEstimator",
                f"sample({N_DRAWS}, method={method!r})",
                lambda X, y, m=method: nre.sample(X, N_DRAWS, random_state=0, method=m),
            )
        )
    return resolve(out, estimators)


def resolve(out, estimators) -> list[tuple[str, str, object]]:
    """Calls of the named method for the cases given without one."""
    resolved = []
    for family, method, call in out:
        if call is None:
            call = (lambda e, m: lambda X, y: getattr(e, m)(X))(
                estimators[family], method.split(" ")[0]
            )
        resolved.append((family, method, call))
    return resolved


# -- timing ---------------------------------------------------------------------------
def best_time(call, X, y, budget: float) -> tuple[float, float, int]:
    """Best CPU and wall times of ``call(X, y)`` over repeats that fit in ~1 s."""
    best_cpu = best_wall = np.inf
    repeats, spent = 0, 0.0
    while repeats == 0 or (spent < min(1.0, budget) and repeats < 20):
        cpu, wall = time.process_time(), time.perf_counter()
        call(X, y)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
        spent, repeats = spent + wall, repeats + 1
    return best_cpu, best_wall, repeats


def measure(call, X, y, budget: float, batches=BATCHES) -> list[dict]:
    """Time ``call`` at every batch size that fits the budget (reduced if not).

    The budget is in wall seconds, predicted from the wall time per data set of the
    last measurement; the cost reported is CPU time. A batch predicted over budget
    is first measured at the largest power of ten that fits, which may show that it
    fits after all (vectorised methods cost less per data set in larger batches).
    """
    rows, state = [], {"per_set": None, "wall_per_set": None, "last": 0}

    def run(size):
        cpu, wall, repeats = best_time(call, X[:size], y[:size], budget)
        state.update(per_set=cpu / size, wall_per_set=wall / size, last=size)
        return {
            "measured_batch": size,
            "cpu_seconds": cpu,
            "wall_seconds": wall,
            "repeats": repeats,
            "ms_per_dataset": 1e3 * cpu / size,
            "datasets_per_second": size / cpu,
        }

    def fits(size):
        return state["wall_per_set"] is None or state["wall_per_set"] * size <= budget

    for batch in batches:
        row = None
        while not fits(batch):
            size = 10 ** int(np.floor(np.log10(budget / state["wall_per_set"])))
            if size <= state["last"]:
                break
            row = run(size)
        if fits(batch):
            row = run(batch)
        elif row is None:
            row = {"skipped": state["per_set"] * batch}
        rows.append({"batch": batch, **row})
        if "skipped" in row:
            break
    return rows


def cost_part(args, model) -> tuple[list[dict], list[dict]]:
    results, training = [], []
    for layout in args.layouts:
        log(f"layout: {layout}")
        X, y = layout_data(model, layout, args.n_train, seed=0)
        estimators, fits = fit_all(model, X, y, args.max_epochs, args.ratio_only)
        training += [{"layout": layout, **row} for row in fits]
        X_test, y_test = layout_data(model, layout, max(BATCHES), seed=1)
        for family, method, call in cases(estimators):
            slow = method == "predict (MLE)" or "method='mcmc'" in method
            budget = args.ratio_budget if slow else args.budget
            rows = measure(call, X_test, y_test, budget)
            for row in rows:
                results.append({"layout": layout, "family": family, "method": method})
                results[-1].update(row)
            last = [r for r in rows if "cpu_seconds" in r][-1]
            log(
                f"  {family:38s} {method:42s} {last['ms_per_dataset']:10.3f} ms/set "
                f"at {last['measured_batch']:,}"
            )
    return results, training


# -- ten parameters -------------------------------------------------------------------
def dimension_part(args) -> list[dict]:
    """Posterior and ratio estimators on the 10-parameter Gaussian linear task."""
    model = GaussianLinear()
    X, y = simulate(model.prior, model.simulator, args.n_train, random_state=0)
    X_test, y_test = simulate(model.prior, model.simulator, 100, random_state=1)
    common = dict(max_epochs=args.max_epochs, random_state=0, n_threads=1)
    cases = []
    for family in [] if args.ratio_only else NPE_FAMILIES:
        est = NeuralPosteriorEstimator(family, **common).fit(X, y)
        cases += [
            (
                f"NPE {family}",
                "predict_interval",
                lambda X, y, e=est: e.predict_interval(X),
            ),
            (
                f"NPE {family}",
                f"sample({N_DRAWS})",
                lambda X, y, e=est: e.sample(X, N_DRAWS, 0),
            ),
        ]
    nre = NeuralRatioEstimator(**common).fit(X, y)
    cases += [
        ("NeuralRatioEstimator", "predict (MLE)", lambda X, y: nre.predict(X)),
        (
            "NeuralRatioEstimator",
            f"sample({N_DRAWS}, method='mcmc')",
            lambda X, y: nre.sample(X, N_DRAWS, random_state=0),
        ),
    ]
    results = []
    for family, method, call in cases:
        slow = family == "NeuralRatioEstimator"
        budget = args.ratio_budget if slow else args.budget
        rows = measure(call, X_test, y_test, budget, batches=(1, 100))
        measured = [r for r in rows if "cpu_seconds" in r]
        results.append(
            {"family": family, "method": method, "single": measured[0], **measured[-1]}
        )
        log(
            f"  10 parameters, {family:22s} {method:28s} "
            f"{measured[-1]['ms_per_dataset']:10.3f} ms/set"
        )
    return results


def dimension_table(results: list[dict]) -> str:
    text = (
        "\n#### Ten parameters\n\n"
        "The 10-parameter Gaussian linear task (10 features, no bounds), trained as "
        "above; CPU ms per data set for one data set and at a batch of 100 (or the "
        "batch in brackets), and posterior draws per CPU second at that batch.\n\n"
        "| estimator | method | 1 | 100 | draws/s |\n|---|---|---|---|---|\n"
    )
    for r in results:
        cell = fmt_ms(r["ms_per_dataset"])
        if r["measured_batch"] != 100:
            cell += f" (at {r['measured_batch']:,})"
        rate = ""
        if "sample" in r["method"]:
            rate = fmt_rate(N_DRAWS * r["datasets_per_second"])
        single = fmt_ms(r["single"]["ms_per_dataset"])
        text += f"| {r['family']} | `{r['method']}` | {single} | {cell} | {rate} |\n"
    return text


def training_table(training: list[dict], n_train: int) -> str:
    layouts = list(dict.fromkeys(r["layout"] for r in training))
    text = (
        "\n#### Training cost per epoch\n\n"
        f"CPU seconds per epoch of the fits above ({n_train:,} simulations, 10% "
        "held out for early stopping, batches of 128), for comparison with the "
        "inference costs.\n\n| estimator | "
        + " | ".join(layouts)
        + " |\n|---|"
        + "---|" * len(layouts)
        + "\n"
    )
    for family in dict.fromkeys(r["family"] for r in training):
        cells = []
        for layout in layouts:
            (r,) = [
                x for x in training if (x["family"], x["layout"]) == (family, layout)
            ]
            cells.append(f"{r['cpu_seconds'] / r['epochs']:.2f}")
        text += f"| {family} | " + " | ".join(cells) + " |\n"
    return text


# -- Monte Carlo error of the flows' summaries -----------------------------------------
def summaries(draws: np.ndarray) -> np.ndarray:
    """``(n, p, 4)``: mean and the MC_LEVELS quantiles of ``(n, k, p)`` draws."""
    q = np.moveaxis(np.quantile(draws, MC_LEVELS, axis=1), 0, -1)
    return np.concatenate([draws.mean(axis=1)[..., None], q], axis=-1)


def draws_from(est, X, normal, uniform) -> np.ndarray:
    data = est._prepare(X)
    with torch.no_grad():
        dist = est.network_.head(est._summaries(data))
        z = draw_from_noise(dist, normal, uniform).transpose(0, 1).numpy()
    return est._standard_to_parameters(z)


def independent_noise(n, p, seed):
    gen = torch.Generator().manual_seed(seed)
    normal = torch.randn(n, 1, p, generator=gen, dtype=torch.float64)
    return normal, torch.rand(n, 1, generator=gen, dtype=torch.float64)


def mc_errors(est, X, sizes) -> dict:
    p = est.n_parameters_
    sd = draws_from(est, X, *_summary_noise(2**14, p, seed=10**6)).std(axis=1)
    # The package's own summaries are the seed-0 points: check the two agree.
    n_default = est.n_point_samples
    own = summaries(draws_from(est, X, *_summary_noise(n_default, p)))
    np.testing.assert_allclose(own[..., 0], est.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        own[..., 1:], est.predict_quantiles(X, MC_LEVELS), rtol=1e-12, atol=1e-12
    )
    out = {}
    for kind, noise in (("quasi-random", _summary_noise), ("independent", None)):
        for n in sizes:
            make = noise or independent_noise
            values = np.stack(
                [
                    summaries(draws_from(est, X, *make(n, p, seed)))
                    for seed in range(MC_REPEATS)
                ]
            )
            spread = values.std(axis=0, ddof=1) / sd[..., None]
            out[kind, n] = np.sqrt(np.mean(spread**2, axis=(0, 1)))
            log(
                f"    {kind:12s} n={n:5d}: "
                + " ".join(f"{v:.4f}" for v in out[kind, n])
            )
    return out


def coordinate_map(est, j: int):
    """The increasing map of parameter ``j`` from the network's scale to its own."""

    def to_parameter(z: float) -> float:
        u = np.zeros((1, est.n_parameters_))
        u[0, j] = z
        return est._standard_to_parameters(u)[0, j]

    return to_parameter


def network_marginals(est, X):
    """Weights ``(n, K)``, means and sds ``(n, K, p)`` of the head's components."""
    data = est._prepare(X)
    with torch.no_grad():
        dist = est.network_.head(est._summaries(data))
    if hasattr(dist, "weights"):
        return dist.weights.numpy(), dist.loc.numpy(), dist.components.stddev.numpy()
    return (
        np.ones((len(X), 1)),
        dist.mean.numpy()[:, None],
        dist.stddev.numpy()[:, None],
    )


def quadrature_mean(g, weights, loc, scale) -> float:
    """``E g(Z)`` for a 1-D normal mixture, by adaptive quadrature per component."""
    total = 0.0
    for w, m, s in zip(weights, loc, scale, strict=True):
        integral = integrate.quad(
            lambda z, m=m, s=s: g(z) * stats.norm.pdf(z, m, s),
            m - 12 * s,
            m + 12 * s,
            epsabs=1e-13,
            limit=200,
        )[0]
        total += w * integral
    return total


def brent_quantile(weights, loc, scale, level) -> float:
    """The ``level`` quantile of a 1-D normal mixture by Brent's method."""
    return optimize.brentq(
        lambda x: weights @ stats.norm.cdf(x, loc, scale) - level, -60, 60, xtol=1e-14
    )


def exact_checks(gaussian, mixture, X) -> dict:
    """Largest errors of the exact summaries against scipy, in posterior sds."""
    errors = {}
    for name, est in (("gaussian", gaussian), ("mixture", mixture)):
        mean = est.predict(X)
        q = est.predict_quantiles(X, MC_LEVELS)
        sd = est.sample(X, 4000, random_state=0).std(axis=1)
        weights, loc, scale = network_marginals(est, X)
        mean_error = quantile_error = 0.0
        for i in range(len(X)):
            for j in range(loc.shape[2]):
                g = coordinate_map(est, j)
                parts = (weights[i], loc[i, :, j], scale[i, :, j])
                error = abs(mean[i, j] - quadrature_mean(g, *parts)) / sd[i, j]
                mean_error = max(mean_error, error)
                for k, level in enumerate(MC_LEVELS):
                    exact = g(brent_quantile(*parts, level))
                    error = abs(q[i, j, k] - exact) / sd[i, j]
                    quantile_error = max(quantile_error, error)
        errors[name] = {"bounded_mean": mean_error, "quantiles": quantile_error}
    return errors


def mc_part(args, model) -> dict:
    sizes = MC_SIZES[:3] if args.quick else MC_SIZES
    X, y = layout_data(model, "tabular", args.n_train, seed=0)
    X_obs, _ = layout_data(model, "tabular", MC_DATASETS, seed=2)
    common = dict(max_epochs=args.max_epochs, random_state=0, n_threads=1)
    results = {}
    for family in FLOWS:
        est = NeuralPosteriorEstimator(family, bounds=model.bounds, **common)
        est.fit(X, y)
        log(f"  MC error, {family} (Gaussian replicates)")
        results[f"{family}, Gaussian replicates"] = mc_errors(est, X_obs, sizes)
    moons = TwoMoons()
    n_moons = 1000 if args.quick else 10_000
    Xm, ym = simulate(moons.prior, moons.simulator, n_moons, random_state=0)
    est = NeuralPosteriorEstimator(
        "spline",
        bounds=moons.bounds,
        max_epochs=2 if args.quick else 100,
        random_state=0,
    ).fit(Xm, ym)
    log(f"  MC error, spline (two moons, {est.n_epochs_} epochs)")
    Xm_obs, _ = simulate(moons.prior, moons.simulator, MC_DATASETS, random_state=2)
    results["spline, two moons"] = mc_errors(est, Xm_obs, sizes)
    gaussian = NeuralPosteriorEstimator("gaussian", bounds=model.bounds, **common)
    mixture = NeuralPosteriorEstimator("mixture", bounds=model.bounds, **common)
    exact = exact_checks(gaussian.fit(X, y), mixture.fit(X, y), X_obs)
    log(f"  exact summaries: {exact}")
    return {"mc": results, "exact": exact, "sizes": sizes}


# -- report ---------------------------------------------------------------------------
def fmt_ms(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.1f}"
    if value >= 0.01:
        return f"{value:.3f}"
    return f"{value:.4f}"


def fmt_rate(value: float) -> str:
    if value >= 1000:
        return f"{float(f'{value:.3g}'):,.0f}"
    return f"{value:.3g}"


def cost_tables(results: list[dict]) -> str:
    text = ""
    for layout in dict.fromkeys(r["layout"] for r in results):
        text += (
            f"\n**{layout}** (CPU ms per data set at batches of 1, 100 and 10,000 "
            "data sets; data sets per CPU second at the largest batch measured)\n\n"
            "| estimator | method | 1 | 100 | 10,000 | data sets/s |\n"
            "|---|---|---|---|---|---|\n"
        )
        rows = [r for r in results if r["layout"] == layout]
        for key in dict.fromkeys((r["family"], r["method"]) for r in rows):
            cells, rate = [], ""
            for batch in BATCHES:
                match = [
                    r
                    for r in rows
                    if (r["family"], r["method"]) == key and r["batch"] == batch
                ]
                if not match:
                    cells.append("")
                elif "skipped" in match[0]:
                    cells.append(f"skipped (~{match[0]['skipped']:,.0f} s CPU)")
                else:
                    r = match[0]
                    cell = fmt_ms(r["ms_per_dataset"])
                    if r["measured_batch"] != batch:
                        cell += f" (at {r['measured_batch']:,})"
                    cells.append(cell)
                    rate = fmt_rate(r["datasets_per_second"])
            text += f"| {key[0]} | `{key[1]}` | " + " | ".join(cells) + f" | {rate} |\n"
    return text


def mc_table(mc_error: dict, exact: dict) -> str:
    """Tables of the Monte Carlo error by ``n_point_samples``, and their reading."""
    text, reading = "", []
    for name, errors in mc_error.items():
        text += (
            f"\n**{name}**: Monte Carlo standard deviation of each summary, in "
            "posterior standard deviations (quasi-random Sobol' points / independent "
            "draws)\n\n| n_point_samples | "
            + " | ".join(MC_SUMMARIES)
            + " |\n|---|"
            + "---|" * len(MC_SUMMARIES)
            + "\n"
        )
        sizes = sorted({int(key.split()[-1]) for key in errors})
        for n in sizes:
            q, i = errors[f"quasi-random {n}"], errors[f"independent {n}"]
            cells = [f"{a:.4f} / {b:.4f}" for a, b in zip(q, i, strict=True)]
            text += f"| {n:,} | " + " | ".join(cells) + " |\n"
        if "quasi-random 256" in errors and "independent 1024" in errors:
            q, i = errors["quasi-random 256"], errors["independent 1024"]
            worst = int(np.argmax(q))
            reading.append(
                f"{name}: at most {q[worst]:.3f} ({MC_SUMMARIES[worst]}) with 256 "
                f"quasi-random points, against {i[worst]:.3f} for that summary "
                "with 1,024 independent draws; "
                + (
                    "smaller for every summary"
                    if all(a < b for a, b in zip(q, i, strict=True))
                    else "not smaller for every summary"
                )
            )
    if reading:
        text += (
            "\nReading: the error of the default (`n_point_samples=256`, "
            "quasi-random) against 1,024 independent draws (the previous default "
            "was 1,000): " + "; ".join(reading) + ".\n"
        )
    text += (
        "\nThe exact summaries against scipy on the same data sets (largest error "
        f"over {MC_DATASETS} data sets and both parameters, in posterior sds): mean "
        "under bounds (64-node Gauss-Hermite sum per component against adaptive "
        f"quadrature) {exact['gaussian']['bounded_mean']:.1e} (Gaussian), "
        f"{exact['mixture']['bounded_mean']:.1e} (mixture); 2.5/50/97.5% quantiles "
        "(closed form, and safeguarded Newton for the mixture, against Brent's "
        f"method) {exact['gaussian']['quantiles']:.1e} (Gaussian), "
        f"{exact['mixture']['quantiles']:.1e} (mixture).\n"
    )
    return text


def row_at(cost, layout, family, method, batch):
    """The measured row of one case at a batch, or None."""
    for r in cost:
        key = (r["layout"], r["family"], r["method"], r["batch"])
        if key == (layout, family, method, batch) and "cpu_seconds" in r:
            return r
    return None


def cost_reading(cost: list[dict]) -> str:
    """Ratios within the run: the exact and quasi-random paths against draws."""
    parts = []
    for layout in dict.fromkeys(r["layout"] for r in cost):
        ratios = []
        for family in ("gaussian", "mixture"):
            exact = row_at(cost, layout, f"NPE {family}", "predict_interval", 10_000)
            draws = row_at(cost, layout, f"NPE {family}", f"sample({N_DRAWS})", 10_000)
            if exact and draws and draws["measured_batch"] == exact["measured_batch"]:
                ratio = draws["ms_per_dataset"] / exact["ms_per_dataset"]
                ratios.append(f"{family} {ratio:.0f}x")
        for family in FLOWS:
            new = row_at(cost, layout, f"NPE {family}", "predict_interval", 100)
            old = row_at(
                cost,
                layout,
                f"NPE {family}",
                "predict_interval, 1,000 draws (previous default)",
                100,
            )
            if new and old and new["measured_batch"] == old["measured_batch"]:
                ratio = old["ms_per_dataset"] / new["ms_per_dataset"]
                ratios.append(f"{family} {ratio:.1f}x")
        if ratios:
            parts.append(f"{layout}: " + ", ".join(ratios))
    if not parts:
        return ""
    return (
        "\nReading: `predict_interval` against what it cost before, in the same run "
        "(Gaussian and mixture: the exact interval against 1,000 draws at 10,000 data "
        "sets; flows: 256 quasi-random draws against 1,000 independent ones at 100 "
        "data sets): " + "; ".join(parts) + ".\n"
    )


def render(raw: dict) -> str:
    """The markdown section for ``raw`` (what ``main`` measured and saved)."""
    args, info, load_end = raw["args"], raw["machine"], raw["load_average_at_end"]
    command = raw.get("command", "python benchmarks/inference_cost.py")
    ratio_budget = args.get("ratio_budget", args["budget"])
    text = (
        (
            "### Inference cost of the ratio estimator\n\n"
            if args.get("ratio_only")
            else "### Inference cost per data set\n\n"
        )
        + f"Command: `OMP_NUM_THREADS=1 {command}`  \n"
        f"{machine_markdown(info)}"
        f"1-min load average at the end: "
        f"{'n/a' if load_end is None else f'{load_end[0]:.2f}'}. One torch thread "
        "and one BLAS thread throughout.\n\n"
        f"Every family trained for {args['max_epochs']} epochs on "
        f"{args['n_train']:,} simulations of `GaussianReplicates` (2 parameters, "
        "`sigma > 0` as `bounds`) with its default architecture; tabular: the 10 "
        "replicates as 10 features (MLP summary). Costs are CPU time of the process "
        "(one thread), so that they do not depend on how many other jobs shared the "
        "cores; on an idle core the wall time is about the same (wall times are in "
        "the JSON file). Under the load of this run, CPU times of the same call "
        "varied by up to about 2x between runs. Each cost is the best of repeated "
        "calls that fit in about a second (one call when slower). A batch whose "
        f"predicted wall time exceeds {args['budget']:g} s ({ratio_budget:g} s for "
        "the ratio estimator's MLE and MCMC) is reduced to the largest power of ten "
        "that fits (shown in brackets) or skipped (predicted CPU time shown). "
        f"`sample({N_DRAWS})` draws {N_DRAWS:,} values per data set. Ratio "
        "estimator: MLE by 8 bounded L-BFGS starts per data set; MCMC by its "
        "default sampler (a Gaussian mixture fitted by tempered importance "
        "sampling, then 10 independence Metropolis-Hastings chains per data set, "
        "thinned further while the largest split-R-hat over the batch is 1.01 or "
        "more).\n"
        + cost_tables(raw["cost"])
        + cost_reading(raw["cost"])
        + dimension_table(raw["ten_parameters"])
        + (
            training_table(raw["training"], args["n_train"])
            if "training" in raw
            else ""
        )
    )
    if "mc_error" in raw:
        text += (
            "\n#### Monte Carlo error of the flows' summaries\n\n"
            f"Standard deviation over {MC_REPEATS} scramblings of the Sobol' points "
            f"(the package's method) and over {MC_REPEATS} sets of independent draws "
            f"(the method before), for {MC_DATASETS} observed data sets; root mean "
            "square over data sets and parameters. Flows trained as above on "
            "Gaussian replicates (tabular); the two-moons spline flow on 10,000 "
            "simulations with early stopping.\n"
            + mc_table(raw["mc_error"], raw["exact_checks"])
        )
    return text


def main():
    args = parse_args()
    stem = args.out + ("_quick" if args.quick else "")
    if args.render:
        raw = json.loads((RESULTS / f"{stem}.json").read_text())
        (RESULTS / f"{stem}.md").write_text(render(raw))
        return
    torch.set_num_threads(1)
    info = machine_info()
    # GNU nproc reports OMP_NUM_THREADS when it is set; count the cores instead.
    info["nproc"] = len(os.sched_getaffinity(0))
    log(f"machine: {info}")
    model = GaussianReplicates()
    with threadpool_limits(1):
        cost, training = cost_part(args, model)
        dimension = dimension_part(args)
        skip_mc = args.skip_mc or args.ratio_only
        mc = None if skip_mc else mc_part(args, model)
    try:
        load_end = os.getloadavg()
    except OSError:
        load_end = None
    raw = {
        "command": command_line(),
        "machine": info,
        "load_average_at_end": load_end,
        "args": vars(args),
        "cost": cost,
        "training": training,
        "ten_parameters": dimension,
    }
    if mc is not None:
        raw["mc_error"] = {
            name: {f"{kind} {n}": list(v) for (kind, n), v in errors.items()}
            for name, errors in mc["mc"].items()
        }
        raw["exact_checks"] = mc["exact"]
    write_results(stem, render(json.loads(json.dumps(raw, default=float))), raw)


if __name__ == "__main__":
    main()
