"""Misspecification test, out-of-range warnings and TARP on Gaussian replicates.

A :class:`~skamortise.NeuralPosteriorEstimator` (Gaussian family, DeepSet) is trained
on data sets of 10 iid ``N(mu, sigma^2)`` replicates. Observed data sets then come
from three data-generating processes:

- ``model``: the model itself (the null hypothesis: the test should reject at its
  level);
- ``student_t3``: ``mu + sigma * t_3`` replicates (heavy tails the simulator cannot
  produce);
- ``contaminated``: each replicate, with probability 0.1, replaced by an outlier from
  ``N(mu, (5 sigma)^2)``.

For 1, 10 and 100 observed data sets (parameters drawn from the prior) and a fresh
reference set of 1,000 prior-predictive data sets per repetition, the rejection rate at
level 0.05 is measured for

- ``skamortise summary``: :func:`skamortise.diagnostics.misspecification_test`
  (learned summaries, mixture of Gaussian kernels, 1,000 permutations);
- ``skamortise data``: the same test on the raw data (each data set's 10 replicates
  as one vector);
- ``sbi data``: sbi's ``calc_misspecification_mmd(x_obs, x, mode="x_space")`` on the
  same raw vectors;
- ``sbi summary``: sbi's function on skamortise's learned summaries (what its
  ``mode="embedding"`` does with its own embedding network).

sbi's test recomputes a full kernel matrix for every shuffle, about 1,000 times the
cost of skamortise's per permutation, so it runs with ``n_shuffle`` = 100 (p-values
in steps of 0.01) and on fewer repetitions (``--sbi-reps``); its global torch seed is
set per repetition.

Also measured: the share of single data sets flagged by ``warn_out_of_range`` under
each process, and TARP (``skamortise.diagnostics.tarp``) of the exact posterior, of
the exact posterior stretched by 0.5 and 2 about its mean, and of the trained network.

Usage::

    python benchmarks/misspecification.py              # full run, hours on 2 cores
    python benchmarks/misspecification.py --quick      # smoke run, a few minutes

The p-values are kept in a cache (``$SKAMORTISE_BENCH_CACHE``) per process, so an
interrupted run resumes, and ``--only model`` (and so on) in parallel processes
followed by one plain run splits the work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

import skamortise
from skamortise import NeuralPosteriorEstimator, simulate
from skamortise._training_range import squared_distances
from skamortise.diagnostics import misspecification_test, tarp
from skamortise.models import GaussianReplicates

MODEL = GaussianReplicates()
M = 10  # replicates per data set
LEVEL = 0.05
N_REFERENCE = 1000
N_OBSERVED = (1, 10, 100)
PROCESSES = ("model", "student_t3", "contaminated")
METHODS = ("skamortise summary", "skamortise data", "sbi data", "sbi summary")
RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(os.environ.get("SKAMORTISE_BENCH_CACHE", "/tmp/skamortise_bench_cache"))


def observed_data(process: str, theta: np.ndarray, rng) -> np.ndarray:
    """``(n, M, 1)`` data sets from one of the data-generating processes."""
    mu, sigma = theta[:, None, :1], theta[:, None, 1:2]
    if process == "model":
        noise = rng.standard_normal((len(theta), M, 1))
    elif process == "student_t3":
        noise = rng.standard_t(3, size=(len(theta), M, 1))
    else:
        noise = rng.standard_normal((len(theta), M, 1))
        outlier = rng.random((len(theta), M, 1)) < 0.1
        noise = np.where(outlier, 5 * rng.standard_normal(noise.shape), noise)
    return mu + sigma * noise


def train(n_train: int, max_epochs: int) -> tuple[NeuralPosteriorEstimator, float]:
    path = CACHE / f"misspecification_npe_{n_train}_{max_epochs}.skm"
    if path.exists():
        return skamortise.load(path), float("nan")
    X, y = simulate(
        MODEL.prior, MODEL.simulator, n_train, n_replicates=M, random_state=0
    )
    start = time.perf_counter()
    estimator = NeuralPosteriorEstimator(
        "gaussian",
        hidden_layer_sizes=(64, 64),
        max_epochs=max_epochs,
        n_iter_no_change=20,
        bounds=MODEL.bounds,
        random_state=0,
    ).fit(X, y)
    seconds = time.perf_counter() - start
    CACHE.mkdir(parents=True, exist_ok=True)
    estimator.save(path)
    return estimator, seconds


def sbi_p_value(observed: np.ndarray, reference: np.ndarray, seed: int) -> float:
    from sbi.diagnostics.misspecification import calc_misspecification_mmd

    torch.manual_seed(seed)  # sbi draws its shuffles from torch's global generator
    p_value, _ = calc_misspecification_mmd(
        torch.tensor(observed, dtype=torch.float32),
        torch.tensor(reference, dtype=torch.float32),
        mode="x_space",
        n_shuffle=100,
    )
    return float(p_value)


def _partial(process: str, args) -> Path:
    """Where one process's p-values are kept, so that runs resume and split."""
    tag = f"{args.n_train}_{args.reps}_{args.sbi_reps}_{args.permutations}"
    return CACHE / f"misspecification_pvalues_{process}_{tag}.json"


def rejection_rates(estimator, processes, args) -> dict:
    """p-values per (process, n_observed, method), computed or read back.

    skamortise's tests run first for every setting, then sbi's (about 30 times
    slower here), each setting saved as it completes.
    """
    done = {}
    for process in processes:
        path = _partial(process, args)
        done[process] = json.loads(path.read_text()) if path.exists() else {}
    for family, compute in (("skamortise", _ours), ("sbi", _sbis)):
        for process in processes:
            for n_obs in N_OBSERVED:
                key = f"{process}|{n_obs}|{family}"
                if key not in done[process]:
                    done[process][key] = compute(estimator, process, n_obs, args)
                    _partial(process, args).write_text(json.dumps(done[process]))
    results = {}
    for process in processes:
        for n_obs in N_OBSERVED:
            results[f"{process}|{n_obs}"] = {
                **done[process][f"{process}|{n_obs}|skamortise"],
                **done[process][f"{process}|{n_obs}|sbi"],
            }
    return results


def _setting(process: str, n_obs: int, rep: int):
    """Observed and reference data sets of one repetition."""
    rng = np.random.default_rng([PROCESSES.index(process), n_obs, rep])
    theta = MODEL.prior(n_obs + N_REFERENCE, rng)
    observed = observed_data(process, theta[:n_obs], rng)
    return observed, MODEL.simulator(theta[n_obs:], rng, M)


def _ours(estimator, process: str, n_obs: int, args) -> dict:
    p = {"skamortise summary": [], "skamortise data": []}
    start = time.perf_counter()
    for rep in range(args.reps):
        observed, reference = _setting(process, n_obs, rep)
        for space in ("summary", "data"):
            result = misspecification_test(
                estimator,
                observed,
                reference,
                random_state=rep,
                space=space,
                n_permutations=args.permutations,
            )
            p[f"skamortise {space}"].append(result.p_value)
    _report(process, n_obs, p, start)
    return p


def _sbis(estimator, process: str, n_obs: int, args) -> dict:
    p = {"sbi data": [], "sbi summary": []}
    start = time.perf_counter()
    for rep in range(args.sbi_reps):
        observed, reference = _setting(process, n_obs, rep)
        p["sbi data"].append(sbi_p_value(observed[..., 0], reference[..., 0], rep))
        summaries = (estimator.summarize(observed), estimator.summarize(reference))
        p["sbi summary"].append(sbi_p_value(*summaries, rep))
    _report(process, n_obs, p, start)
    return p


def _report(process: str, n_obs: int, p: dict, start: float) -> None:
    rates = ", ".join(f"{m} {np.mean(np.array(v) <= LEVEL):.3f}" for m, v in p.items())
    seconds = time.perf_counter() - start
    print(f"{process:13s} n_obs={n_obs:3d}: {rates} ({seconds:.0f} s)", flush=True)


def flagged_shares(estimator, n: int) -> dict:
    """Share of single data sets beyond the out-of-range distance threshold."""
    record = estimator.training_range_
    shares = {}
    for process in PROCESSES:
        rng = np.random.default_rng([7, PROCESSES.index(process)])
        X = observed_data(process, MODEL.prior(n, rng), rng)
        distances = squared_distances(record, estimator.summarize(X))
        shares[process] = float(np.mean(distances > record["distance_threshold"]))
    rng = np.random.default_rng(8)
    X = MODEL.simulator(MODEL.prior(n, rng), rng, 200)
    distances = squared_distances(record, estimator.summarize(X))
    shares["model, 200 replicates"] = float(
        np.mean(distances > record["distance_threshold"])
    )
    return shares


class StretchedExact:
    """The exact posterior, draws stretched by ``scale`` about the exact mean."""

    def __init__(self, scale: float):
        self.scale = scale

    def sample(self, X, n_samples, random_state=None):
        draws = MODEL.posterior_sample(
            X, n_samples, np.random.default_rng(random_state)
        )
        mean = MODEL.posterior_mean(X)[:, None, :]
        return mean + self.scale * (draws - mean)


def tarp_rows(estimator, n_test: int, n_samples: int, seeds: int) -> list[dict]:
    rows = []
    candidates = {
        "exact": StretchedExact(1.0),
        "exact, spread x 0.5": StretchedExact(0.5),
        "exact, spread x 2": StretchedExact(2.0),
        "trained network": estimator,
    }
    for name, posterior in candidates.items():
        tests = []
        for seed in range(seeds):
            rng = np.random.default_rng([9, seed])
            theta = MODEL.prior(n_test, rng)
            X = MODEL.simulator(theta, rng, M)
            result = tarp(posterior, X, theta, n_samples, random_state=seed)
            tests.append(result.uniformity_test())
        rows.append(
            {
                "posterior": name,
                "ks_pvalues": [float(t["ks_pvalue"]) for t in tests],
                "atc": [float(t["atc"]) for t in tests],
            }
        )
    return rows


def _rate(values) -> str:
    values = np.asarray(values)
    if len(values) == 0:
        return "-"
    rate = np.mean(values <= LEVEL)
    low, high = stats.binomtest(
        int(np.sum(values <= LEVEL)), len(values)
    ).proportion_ci()
    return f"{rate:.3f} [{low:.3f}, {high:.3f}]"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"`nproc` = {os.cpu_count()}, CPU {cpu}; load average at start {load} (shared "
        f"with other jobs). Python {platform.python_version()}, torch "
        f"{torch.__version__}, skamortise {skamortise.__version__}, sbi "
        f"{_sbi_version()}; estimators with `n_threads=1`, `OMP_NUM_THREADS=1`."
    )


def _sbi_version() -> str:
    try:
        import sbi

        return sbi.__version__
    except ImportError:
        return "not installed"


def write(path: Path, args, info: dict, rates: dict, flags: dict, tarps: list):
    lines = [
        "# Misspecification test, out-of-range warnings and TARP (Gaussian replicates)",
        "",
        f"Command: `python benchmarks/misspecification.py {' '.join(args.argv)}`  ",
        f"Machine: {info['machine']}  ",
        f"Estimator: `NeuralPosteriorEstimator('gaussian', hidden_layer_sizes=(64, 64),"
        f" n_iter_no_change=20, bounds=model.bounds)` on {args.n_train:,} data sets of "
        f"{M} replicates ({info['epochs']} epochs, best {info['best_epoch']}).  ",
        "Observed data: `model` = the simulator; `student_t3` = t noise with 3 df; "
        "`contaminated` = each replicate with probability 0.1 from N(mu, (5 sigma)^2). "
        f"Reference: {N_REFERENCE:,} fresh prior-predictive data sets per repetition.",
        "",
        "## Rejection rate at level 0.05 (95% Clopper-Pearson interval)",
        "",
        f"skamortise: {args.reps} repetitions, {args.permutations} permutations; sbi "
        f"`calc_misspecification_mmd` (x_space, n_shuffle=100, biased MMD, median "
        f"bandwidth): {args.sbi_reps} repetitions. Under `model` the rate is the "
        "false-positive rate (nominal 0.05); under the other processes it is the "
        "power.",
        "",
        "| process | observed data sets | " + " | ".join(METHODS) + " |",
        "|---|---|" + "---|" * len(METHODS),
    ]
    for key, p in rates.items():
        process, n_obs = key.split("|")
        cells = " | ".join(_rate(p[m]) for m in METHODS)
        lines.append(f"| {process} | {n_obs} | {cells} |")
    lines += [
        "",
        "## Single data sets flagged by `warn_out_of_range`",
        "",
        "Share of data sets whose learned summary lies beyond the recorded 99.9% "
        f"distance quantile ({args.n_flag:,} data sets each; nominal 0.001 for data "
        "like the training data).",
        "",
        "| data | flagged |",
        "|---|---|",
    ]
    lines += [f"| {name} | {share:.4f} |" for name, share in flags.items()]
    lines += [
        "",
        "## TARP",
        "",
        f"{args.tarp_test:,} test pairs from the prior, {args.tarp_samples} draws per "
        f"data set, {args.tarp_seeds} seeds; KS p-value of the jittered credibility "
        "against U(0, 1) and the area between the ECP curve and the diagonal above "
        "0.5 (ATC: negative = too narrow, positive = too wide).",
        "",
        "| posterior | KS p-values | ATC |",
        "|---|---|---|",
    ]
    for row in tarps:
        ks = ", ".join(f"{v:.2g}" for v in row["ks_pvalues"])
        atc = ", ".join(f"{v:+.3f}" for v in row["atc"])
        lines.append(f"| {row['posterior']} | {ks} | {atc} |")
    lines += ["", f"Wall time: {info['seconds']:.0f} s.", ""]
    path.write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--sbi-reps", type=int, default=100)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--n-train", type=int, default=20_000)
    parser.add_argument("--max-epochs", type=int, default=300)
    parser.add_argument("--n-flag", type=int, default=20_000)
    parser.add_argument("--tarp-test", type=int, default=1000)
    parser.add_argument("--tarp-samples", type=int, default=500)
    parser.add_argument("--tarp-seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="markdown file")
    parser.add_argument(
        "--only",
        choices=PROCESSES,
        nargs="+",
        help="compute the p-values of these processes and stop (runs in parallel "
        "share the cache; a final run without --only reads them back)",
    )
    args, _ = parser.parse_known_args()
    args.argv = sys.argv[1:]
    if args.quick:
        args.reps, args.sbi_reps, args.permutations = 10, 2, 200
        args.n_train, args.max_epochs, args.n_flag = 2000, 20, 2000
        args.tarp_test, args.tarp_samples, args.tarp_seeds = 300, 100, 1
    if args.out is None:
        name = "misspecification_quick.md" if args.quick else "misspecification.md"
        args.out = (Path("/tmp") if args.quick else RESULTS) / name
    torch.set_num_threads(1)
    start = time.perf_counter()
    info = {"machine": machine()}
    estimator, train_seconds = train(args.n_train, args.max_epochs)
    info.update(epochs=estimator.n_epochs_, best_epoch=estimator.best_epoch_)
    print(
        f"trained in {train_seconds:.0f} s ({estimator.n_epochs_} epochs)", flush=True
    )
    if args.only:
        rejection_rates(estimator, args.only, args)
        return
    rates = rejection_rates(estimator, PROCESSES, args)
    flags = flagged_shares(estimator, args.n_flag)
    print("flagged:", flags, flush=True)
    tarps = tarp_rows(estimator, args.tarp_test, args.tarp_samples, args.tarp_seeds)
    print("tarp:", tarps, flush=True)
    info["seconds"] = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path = args.out.with_suffix(".json")
    json_path.write_text(
        json.dumps({"rates": rates, "flags": flags, "tarp": tarps, "info": info})
    )
    write(args.out, args, info, rates, flags, tarps)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
