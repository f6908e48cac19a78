"""Neural ratio estimation: skamortise against sbi's default NRE.

Both libraries are trained on the same simulations. Measured:

- C2ST (``skamortise.diagnostics.c2st``) of posterior samples against the same
  reference samples, for the same observations;
- maximum likelihood error on Gaussian linear: the model is ``x ~ N(theta, 0.1 I)``,
  so for one observation the exact MLE is ``x`` itself; on the box where inference
  runs (skamortise's ``support_``, the range of the training parameters) it is
  ``x`` clipped coordinate-wise to that box, since the likelihood is isotropic. Both
  libraries are maximised on that box: skamortise by ``predict`` and sbi's learned
  log ratio by the same multi-start optimiser (``skamortise.inference.maximize``),
  since sbi has no MLE method;
- the time to draw 1,000 posterior samples for each of 100 data sets: skamortise in
  one vectorised ``sample`` call (default slice-sampling MCMC), sbi with its default
  MCMC posterior (``build_posterior()``: ``slice_np_vectorized``, 20 chains, 200
  warm-up steps, ``resample`` initialisation), one data set at a time; sbi is timed
  on a few data sets and extrapolated to 100 (the table says how many).

skamortise: ``NeuralRatioEstimator()`` defaults (``n_threads=1``) with the prior's
support as ``bounds``; the task's prior is passed to ``sample``. sbi:
``sbi.inference.NRE(prior)`` (NRE-B, ``resnet`` classifier, default training), with
``torch.set_num_threads(1)``.

Quick smoke run (about 2 minutes)::

    python benchmarks/nre_vs_sbi.py --quick

Full run::

    python benchmarks/nre_vs_sbi.py --tasks gaussian_linear two_moons --sims 10000 \
        --n-obs 3 --n-samples 2000 --sbi-timing-datasets 5
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import torch
from _common import (
    RESULTS,
    SAMPLE_SEED,
    TASKS,
    TRAIN_SEED,
    Timer,
    c2st_scores,
    command_line,
    log,
    machine_info,
    machine_markdown,
    markdown_table,
    observations,
    reference_samples,
    sbi_log_directory,
    simulations,
    torch_threads,
    write_results,
)

from skamortise import NeuralRatioEstimator
from skamortise.inference import maximize

N_TIMING_DATASETS = 100
N_TIMING_SAMPLES = 1000
N_MLE_STARTS = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~2 minute smoke run")
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=["gaussian_linear", "two_moons"],
        choices=list(TASKS),
    )
    parser.add_argument("--sims", nargs="+", type=int, default=[10000])
    parser.add_argument("--n-obs", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument(
        "--sbi-timing-datasets",
        type=int,
        default=5,
        help="data sets on which sbi's per-data-set MCMC is timed "
        "(extrapolated to 100)",
    )
    parser.add_argument(
        "--sbi-batched",
        action="store_true",
        help="also time sbi's sample_batched over all 100 data sets",
    )
    parser.add_argument(
        "--timing-datasets",
        type=int,
        default=N_TIMING_DATASETS,
        help="data sets in the sampling-time and MLE comparison (100 by default)",
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a line added under the header"
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the results already in the result JSON; skip tasks done there",
    )
    parser.add_argument("--out", default="nre", help="result stem under results/")
    args = parser.parse_args()
    if args.quick:
        args.tasks = ["gaussian_linear", "two_moons"]
        args.sims = [2000]
        args.n_obs = 1
        args.n_samples = 1000
        args.sbi_timing_datasets = 2
    return args


# -- skamortise --
def run_skamortise(task, X, y, x_obs, x_timing, n_samples):
    est = NeuralRatioEstimator(bounds=task.bounds, random_state=TRAIN_SEED)
    with Timer() as fit:
        est.fit(X, y)
    prior = task.torch_prior()
    with Timer() as draw:
        samples = est.sample(x_obs, n_samples, prior=prior, random_state=SAMPLE_SEED)
    with Timer() as timing:
        est.sample(
            x_timing, N_TIMING_SAMPLES, prior=prior, random_state=SAMPLE_SEED + 1
        )
    valid = np.asarray(est.history_["valid_loss"], dtype=float)
    stats = {
        "train_s": fit.seconds,
        "epochs": len(valid),
        "best_epoch": int(np.argmin(valid)) + 1,
        "sample_obs_s": draw.seconds,
        "timing_datasets": len(x_timing),
        "timing_measured_s": timing.seconds,
        "timing_100_s": timing.seconds * N_TIMING_DATASETS / len(x_timing),
        "timing_extrapolated": False,
    }
    return est, samples, stats


# -- sbi --
def train_sbi(task, X, y):
    from sbi.inference import NRE

    torch.manual_seed(TRAIN_SEED)
    with sbi_log_directory():
        inference = NRE(prior=task.sbi_prior(), show_progress_bars=False)
    with Timer() as fit:
        network = inference.append_simulations(
            torch.as_tensor(y, dtype=torch.float32),
            torch.as_tensor(X, dtype=torch.float32),
        ).train()
        posterior = inference.build_posterior()
    epochs = int(inference._summary["epochs_trained"][-1])
    return network, posterior, fit.seconds, epochs


def sbi_draws(posterior, x_rows, n_samples):
    out = []
    for xo in x_rows:
        out.append(
            posterior.sample(
                (n_samples,),
                x=torch.as_tensor(xo, dtype=torch.float32),
                show_progress_bars=False,
            ).numpy()
        )
    return np.stack(out).astype(np.float64)


def run_sbi(task, X, y, x_obs, x_timing, n_samples, n_timing, batched):
    with torch_threads(1):
        network, posterior, train_s, epochs = train_sbi(task, X, y)
        torch.manual_seed(SAMPLE_SEED)
        with Timer() as draw:
            samples = sbi_draws(posterior, x_obs, n_samples)
        with Timer() as timing:
            sbi_draws(posterior, x_timing[:n_timing], N_TIMING_SAMPLES)
        batched_s = None
        if batched:
            with Timer() as t:
                posterior.sample_batched(
                    (N_TIMING_SAMPLES,),
                    x=torch.as_tensor(x_timing, dtype=torch.float32),
                    show_progress_bars=False,
                )
            batched_s = t.seconds
    stats = {
        "train_s": train_s,
        "epochs": epochs,
        "sample_obs_s": draw.seconds,
        "timing_datasets": n_timing,
        "timing_measured_s": timing.seconds,
        "timing_100_s": timing.seconds * N_TIMING_DATASETS / n_timing,
        "timing_extrapolated": n_timing < N_TIMING_DATASETS,
        "batched_100_s": batched_s,
    }
    return network, samples, stats


def sbi_mle(network, x, lower, upper):
    """Maximise sbi's learned log ratio over the box with the multi-start optimiser."""
    x32 = torch.as_tensor(x, dtype=torch.float32)
    network.eval()

    def log_fn(theta):  # (n, k, p) float64 -> (n, k)
        t = theta.transpose(0, 1).to(torch.float32)  # (k, n, p)
        value = network.unnormalized_log_ratio(t, x32.expand(t.shape[0], -1, -1))
        return value.transpose(0, 1).to(theta.dtype)

    gen = torch.Generator().manual_seed(0)
    lo, hi = torch.as_tensor(lower), torch.as_tensor(upper)
    u = torch.rand(1, N_MLE_STARTS, len(lo), generator=gen, dtype=torch.float64)
    starts = (lo + (hi - lo) * u).expand(len(x), -1, -1)
    with torch_threads(1):
        theta, _ = maximize(log_fn, starts, bounds=(lo, hi))
    return np.asarray(theta, dtype=np.float64)


def mle_errors(estimate, x, lower, upper):
    exact = np.clip(x, lower, upper)
    return {
        "rmse_vs_exact_on_box": float(np.sqrt(np.mean((estimate - exact) ** 2))),
        "rmse_vs_x": float(np.sqrt(np.mean((estimate - x) ** 2))),
        "max_abs_vs_exact_on_box": float(np.max(np.abs(estimate - exact))),
        "fraction_of_x_clipped": float(np.mean(exact != x)),
    }


# -- main --
def main():
    args = parse_args()
    warnings.filterwarnings("ignore")
    info = machine_info()
    log(f"machine: {info}")
    pool = max(args.sims)
    runs, mle, commands = [], [], []
    if args.append and (RESULTS / f"{args.out}.json").exists():
        old = json.loads((RESULTS / f"{args.out}.json").read_text())
        runs, mle = old["runs"], old["mle"]
        a = old["args"]
        commands = a.get("commands") or [
            "python benchmarks/nre_vs_sbi.py --tasks "
            + " ".join(a["tasks"])
            + " --sims "
            + " ".join(map(str, a["sims"]))
            + f" --n-obs {a['n_obs']} --n-samples {a['n_samples']}"
            + f" --sbi-timing-datasets {a['sbi_timing_datasets']}"
        ]
    done = {(r["task"], r["n_simulations"], r["library"]) for r in runs}
    todo = [
        (name, n)
        for name in args.tasks
        for n in args.sims
        if not {(name, n, "skamortise"), (name, n, "sbi")} <= done
    ]
    if todo:
        commands.append(command_line())
    args.commands = commands
    for name in args.tasks:
        task = TASKS[name]
        _, x_obs = observations(task, args.n_obs)
        reference = reference_samples(task, x_obs, args.n_samples)
        _, x_timing = task.model.observations(
            args.timing_datasets, np.random.default_rng(123)
        )
        for n in args.sims:
            if (name, n) not in todo:
                continue
            X, y = simulations(task, n, pool)
            log(f"{task.name} n={n}: skamortise ...")
            est, samples, stats = run_skamortise(
                task, X, y, x_obs, x_timing, args.n_samples
            )
            record(runs, task, n, "skamortise", reference, samples, stats)
            write(args, info, runs, mle)
            log(f"{task.name} n={n}: sbi ...")
            network, samples, stats = run_sbi(
                task,
                X,
                y,
                x_obs,
                x_timing,
                args.n_samples,
                args.sbi_timing_datasets,
                args.sbi_batched,
            )
            record(runs, task, n, "sbi", reference, samples, stats)
            if name == "gaussian_linear":
                lower, upper = est.support_
                with Timer() as t:
                    ska_hat = np.asarray(est.predict(x_timing))
                ska = mle_errors(ska_hat, x_timing, lower, upper)
                with Timer() as t_sbi:
                    sbi_hat = sbi_mle(network, x_timing, lower, upper)
                sbi = mle_errors(sbi_hat, x_timing, lower, upper)
                posterior_mean = mle_errors(x_timing / 2, x_timing, lower, upper)
                for library, values, seconds in (
                    ("skamortise", ska, t.seconds),
                    ("sbi", sbi, t_sbi.seconds),
                    (
                        "posterior mean x/2 (not an MLE; scale reference)",
                        posterior_mean,
                        None,
                    ),
                ):
                    mle.append(
                        {
                            "task": task.name,
                            "n_simulations": n,
                            "estimator": library,
                            "seconds": seconds,
                            **values,
                        }
                    )
                    log(f"  MLE {library}: {values}")
            write(args, info, runs, mle)
    write(args, info, runs, mle)


def record(runs, task, n, library, reference, samples, stats):
    log(
        f"  trained in {stats['train_s']:.1f} s ({stats['epochs']} epochs); "
        f"100 x {N_TIMING_SAMPLES} samples: {stats['timing_100_s']:.1f} s"
        + (" (extrapolated)" if stats["timing_extrapolated"] else "")
        + "; running C2ST ..."
    )
    with Timer() as t:
        scores = c2st_scores(reference, samples)
    log(
        f"  C2ST {np.mean(scores):.3f} per obs {np.round(scores, 3).tolist()} "
        f"({t.seconds:.0f} s)"
    )
    runs.append(
        {
            "task": task.name,
            "n_simulations": n,
            "library": library,
            "c2st": scores,
            "c2st_mean": float(np.mean(scores)),
            **stats,
        }
    )


def write(args, info, runs, mle):
    header = (
        (
            "# Neural ratio estimation: skamortise vs sbi\n\n"
            + "".join(f"Command: `{c}`  \n" for c in args.commands)
            + f"{machine_markdown(info)}"
            "Settings: skamortise `NeuralRatioEstimator()` defaults (`n_threads=1`), "
            "`bounds` = the prior's support, `random_state=0`, `sample(..., prior=<the "
            "task's prior>)` with its default slice-sampling MCMC (10 chains per data "
            "set, 200 warm-up steps); sbi `NRE(prior)` (NRE-B, `resnet` classifier, "
            "default `train()`), default `build_posterior()` "
            "(MCMC `slice_np_vectorized`, "
            "20 chains, 200 warm-up steps, `resample` initialisation), with "
            "`torch.set_num_threads(1)`. Same simulations, observations "
            f"(`model.observation(1..{args.n_obs})`) and reference samples; "
            f"`skamortise.diagnostics.c2st` (MLP, 5 folds) with {args.n_samples:,} "
            f"reference + {args.n_samples:,} posterior samples per observation.  \n"
            f"Sampling time: {N_TIMING_SAMPLES:,} posterior samples for each of "
            f"{N_TIMING_DATASETS} simulated data sets (prior predictive, seed 123). "
            "skamortise: one vectorised `sample` call over all 100; sbi: "
            "`posterior.sample` one data set at a time, timed on "
            f"{args.sbi_timing_datasets} data sets and extrapolated linearly to 100"
            + (
                "; sbi `sample_batched` over all 100 is timed too"
                if args.sbi_batched
                else ""
            )
            + ".  \nTimes are wall-clock seconds on a shared machine; compare speed "
            "only as ratios within this run.\n\n"
        )
        + "".join(f"Note: {n}  \n" for n in args.note)
        + ("\n" if args.note else "")
    )
    rows = []
    for r in runs:
        rows.append(
            [
                r["task"],
                r["n_simulations"],
                r["library"],
                r["c2st_mean"],
                " ".join(f"{s:.3f}" for s in r["c2st"]),
                r["train_s"],
                r["epochs"],
                r["timing_100_s"],
                f"{r['timing_datasets']} measured ({r['timing_measured_s']:.1f} s)"
                + (", extrapolated" if r["timing_extrapolated"] else ""),
                r.get("batched_100_s"),
            ]
        )
    text = (
        header
        + "## C2ST, training and sampling time\n\n"
        + markdown_table(
            [
                "task",
                "simulations",
                "library",
                "C2ST mean",
                "C2ST per obs",
                "train s",
                "epochs",
                "s for 100 x 1,000 samples",
                "data sets timed",
                "sbi sample_batched s (100 x 1,000)",
            ],
            rows,
        )
    )
    summary = []
    keys = sorted({(r["task"], r["n_simulations"]) for r in runs})
    for task, n in keys:
        pick = {
            r["library"]: r
            for r in runs
            if (r["task"], r["n_simulations"]) == (task, n)
        }
        if len(pick) < 2:
            continue
        ska, sbi = pick["skamortise"], pick["sbi"]
        summary.append(
            [
                task,
                n,
                ska["c2st_mean"],
                sbi["c2st_mean"],
                sbi["c2st_mean"] - ska["c2st_mean"],
                sbi["timing_100_s"] / ska["timing_100_s"],
                ska["train_s"] / sbi["train_s"],
            ]
        )
    if summary:
        text += "\n## skamortise vs sbi\n\n" + markdown_table(
            [
                "task",
                "simulations",
                "C2ST skamortise",
                "C2ST sbi",
                "sbi - skamortise",
                "sampling speed-up (sbi s / skamortise s)",
                "train time ratio (ska/sbi)",
            ],
            summary,
        )
    if mle:
        text += (
            "\n## Maximum likelihood, Gaussian linear (100 data sets x 10 "
            "coordinates)\n\n"
            "Exact MLE: `x` (one observation, noise `N(0, 0.1 I)`); on the box where "
            "inference runs it is `x` clipped to the box. RMSE over all "
            "coordinates. The noise standard deviation, i.e. the MLE's own sampling "
            "error, is 0.316.\n\n"
            + markdown_table(
                [
                    "simulations",
                    "estimator",
                    "RMSE vs exact MLE on box",
                    "max abs error",
                    "RMSE vs x",
                    "fraction of x coords outside box",
                    "seconds",
                ],
                [
                    [
                        m["n_simulations"],
                        m["estimator"],
                        m["rmse_vs_exact_on_box"],
                        m["max_abs_vs_exact_on_box"],
                        m["rmse_vs_x"],
                        m["fraction_of_x_clipped"],
                        m["seconds"],
                    ]
                    for m in mle
                ],
            )
        )
    write_results(
        args.out, text, {"machine": info, "args": vars(args), "runs": runs, "mle": mle}
    )


if __name__ == "__main__":
    main()
