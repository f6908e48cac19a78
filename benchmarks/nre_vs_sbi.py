"""Neural ratio estimation: skamortise against sbi's default NRE.

For every task, simulation budget and training seed both libraries are trained on the
same simulations and draw 10,000 posterior samples for each reported observation,
one observation at a time (what a scientist with one observed data set does).
Measured:

- C2ST (``skamortise.diagnostics.c2st``, the benchmark's 10,000 reference vs 10,000
  posterior draws) against the task's reference posterior samples;
- training wall time;
- the time to 10,000 draws for one observation, both libraries in the same process;
- skamortise's MCMC diagnostics for those draws (largest split-R-hat, smallest bulk
  ESS, acceptance rate).

skamortise: ``NeuralRatioEstimator()`` defaults (``n_threads=1``) with the prior's
support as ``bounds`` and ``random_state=seed``; ``sample(x, 10_000, prior=<the
task's prior>)`` with its default MCMC. sbi: ``sbi.inference.NRE(prior)`` (NRE-B,
``resnet`` classifier, default training) and its default ``build_posterior()``
(MCMC ``slice_np_vectorized``, 20 chains, 200 warm-up steps, ``resample``
initialisation), with ``torch.set_num_threads(1)`` and ``torch.manual_seed(seed)``.

The defaults were chosen on observations 101 and 102 (``model.observation(i)``);
the reported observations are 1, 2, 3, ... (``--obs``).

Quick smoke run (a few minutes)::

    python benchmarks/nre_vs_sbi.py --quick

Full run (tasks in parallel processes, then merged)::

    python benchmarks/nre_vs_sbi.py --tasks two_moons --out nre_two_moons
    python benchmarks/nre_vs_sbi.py --tasks slcp --out nre_slcp
    python benchmarks/nre_vs_sbi.py --tasks gaussian_linear --out nre_gaussian_linear
    python benchmarks/nre_vs_sbi.py --tasks --merge benchmarks/results/nre_*.json
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import (
    CACHE,
    REF_SEED,
    SAMPLE_SEED,
    TASKS,
    Timer,
    c2st_scores,
    command_line,
    log,
    machine_info,
    machine_markdown,
    markdown_table,
    sbi_log_directory,
    simulations,
    torch_threads,
    write_results,
)

from skamortise import NeuralRatioEstimator

BENCH_TASKS = ["two_moons", "slcp", "gaussian_linear"]
LIBRARIES = ["skamortise", "sbi"]


def reference_samples_for(task, ids, n_samples):
    """Observations ``ids`` and their reference draws (cached on disk)."""
    x_obs, out = [], []
    for i in ids:
        x = np.asarray(task.model.observation(i)[1], dtype=np.float64)
        path = CACHE / f"ref_{task.name}_obs{i}_{n_samples}_{REF_SEED}.npy"
        if path.exists():
            draws = np.load(path)
        else:
            rng = np.random.default_rng([REF_SEED, i])
            draws = np.asarray(
                task.model.reference_posterior(x, n_samples, rng), dtype=np.float64
            )
            CACHE.mkdir(parents=True, exist_ok=True)
            np.save(path, draws)
        x_obs.append(x)
        out.append(draws)
    return np.stack(x_obs), np.stack(out)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--tasks", nargs="*", default=BENCH_TASKS, choices=list(TASKS))
    parser.add_argument("--sims", nargs="+", type=int, default=[1000, 10000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--obs", nargs="+", type=int, default=[1], help="reported observation ids"
    )
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument(
        "--libraries", nargs="+", default=["skamortise", "sbi"], choices=LIBRARIES
    )
    parser.add_argument(
        "--ska-kwargs",
        type=json.loads,
        default={},
        help="JSON of NeuralRatioEstimator arguments that replace the defaults "
        '(e.g. \'{"loss": "contrastive"}\')',
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a line added under the header"
    )
    parser.add_argument("--out", default="nre", help="result stem under results/")
    parser.add_argument(
        "--merge",
        nargs="*",
        default=[],
        help="result JSON files of other runs whose runs are added to this table",
    )
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.sims, args.seeds = ["two_moons"], [1000], [0]
        args.n_samples = 2000
    return args


# -- the two libraries --
def run_skamortise(task, X, y, x_obs, n_samples, seed, **kwargs):
    est = NeuralRatioEstimator(bounds=task.bounds, random_state=seed, **kwargs)
    with Timer() as fit:
        est.fit(X, y)
    prior = task.torch_prior()
    draws, seconds, rhat, ess, acceptance = [], [], [], [], []
    for i, x in enumerate(x_obs):
        with Timer() as t:
            samples, info = est.sample(
                x[None],
                n_samples,
                prior=prior,
                random_state=SAMPLE_SEED + i,
                return_info=True,
            )
        draws.append(samples[0])
        seconds.append(t.seconds)
        rhat.append(float(np.max(info.rhat)))
        ess.append(float(np.min(info.ess)))
        acceptance.append(float(np.min(info.acceptance_rate)))
    return np.stack(draws), {
        "train_s": fit.seconds,
        "epochs": est.n_epochs_,
        "best_epoch": est.best_epoch_,
        "sample_s": seconds,
        "rhat_max": rhat,
        "ess_min": ess,
        "acceptance": acceptance,
    }


def run_sbi(task, X, y, x_obs, n_samples, seed, **kwargs):
    from sbi.inference import NRE

    with torch_threads(1):
        torch.manual_seed(seed)
        with sbi_log_directory():
            inference = NRE(prior=task.sbi_prior(), show_progress_bars=False)
        with Timer() as fit:
            inference.append_simulations(
                torch.as_tensor(y, dtype=torch.float32),
                torch.as_tensor(X, dtype=torch.float32),
            ).train()
            posterior = inference.build_posterior()
        draws, seconds = [], []
        for i, x in enumerate(x_obs):
            torch.manual_seed(SAMPLE_SEED + i)
            with Timer() as t:
                samples = posterior.sample(
                    (n_samples,),
                    x=torch.as_tensor(x, dtype=torch.float32),
                    show_progress_bars=False,
                )
            draws.append(samples.numpy().astype(np.float64))
            seconds.append(t.seconds)
    return np.stack(draws), {
        "train_s": fit.seconds,
        "epochs": int(inference._summary["epochs_trained"][-1]),
        "sample_s": seconds,
    }


# -- main --
def main():
    args = parse_args()
    warnings.filterwarnings("ignore")
    info = machine_info()
    # GNU nproc reports OMP_NUM_THREADS when it is set; count the cores instead.
    info["nproc"] = len(os.sched_getaffinity(0))
    log(f"machine: {info}")
    pool = max(args.sims + [10000])
    runs = []
    for source in map(Path, args.merge):
        runs.extend(json.loads(source.read_text())["runs"])
    this_command = command_line()
    for name in args.tasks:
        task = TASKS[name]
        x_obs, reference = reference_samples_for(task, args.obs, args.n_samples)
        for n in args.sims:
            X, y = simulations(task, n, pool)
            for seed in args.seeds:
                for library in args.libraries:
                    run = {"skamortise": run_skamortise, "sbi": run_sbi}[library]
                    log(f"{name} n={n} seed={seed}: {library} ...")
                    options = args.ska_kwargs if library == "skamortise" else {}
                    samples, stats = run(
                        task, X, y, x_obs, args.n_samples, seed, **options
                    )
                    with Timer() as t:
                        scores = c2st_scores(reference, samples)
                    log(
                        f"  C2ST {np.round(scores, 3).tolist()} ({t.seconds:.0f} s); "
                        f"train {stats['train_s']:.1f} s; sample "
                        f"{np.round(stats['sample_s'], 2).tolist()} s"
                    )
                    runs.append(
                        {
                            "task": name,
                            "n_simulations": n,
                            "library": library,
                            "seed": seed,
                            "options": options,
                            "obs": args.obs,
                            "n_samples": args.n_samples,
                            "c2st": scores,
                            "command": this_command,
                            **stats,
                        }
                    )
                    write(args, info, runs)
    write(args, info, runs)


def _mean(rows, key):
    return float(np.mean([np.mean(r[key]) for r in rows]))


def summarise(runs):
    """Per task and budget: means over seeds (and observations) of both libraries.

    Only skamortise runs with its defaults enter the summary.
    """
    runs = [r for r in runs if not r.get("options")]
    out = []
    for task, n in sorted({(r["task"], r["n_simulations"]) for r in runs}):
        ska = [
            r
            for r in runs
            if (r["task"], r["n_simulations"], r["library"]) == (task, n, "skamortise")
        ]
        sbi = [
            r
            for r in runs
            if (r["task"], r["n_simulations"], r["library"]) == (task, n, "sbi")
        ]
        if not ska or not sbi:
            continue
        seed_means = [np.mean(r["c2st"]) for r in ska]
        # speed-up per (seed, observation), only where both were measured in the
        # same process (the same command)
        same = {(r["seed"], r["command"]): r for r in sbi}
        ratios = [
            b / a
            for r in ska
            if (r["seed"], r["command"]) in same
            for a, b in zip(
                r["sample_s"], same[r["seed"], r["command"]]["sample_s"], strict=True
            )
        ]
        out.append(
            [
                task,
                n,
                len(ska),
                f"{np.mean(seed_means):.3f} ± {np.std(seed_means, ddof=1):.3f}"
                if len(ska) > 1
                else f"{np.mean(seed_means):.3f}",
                _mean(sbi, "c2st"),
                _mean(sbi, "c2st") - _mean(ska, "c2st"),
                _mean(ska, "train_s") / _mean(sbi, "train_s"),
                _mean(ska, "sample_s"),
                _mean(sbi, "sample_s"),
                float(np.min(ratios)) if ratios else None,
                float(np.max([np.max(r["rhat_max"]) for r in ska])),
            ]
        )
    return out


def write(args, info, runs):
    commands = list(dict.fromkeys(r["command"] for r in runs))
    n_samples = sorted({r["n_samples"] for r in runs})
    header = (
        "# Neural ratio estimation: skamortise vs sbi\n\n"
        + "".join(f"Command: `{c}`  \n" for c in commands)
        + machine_markdown(info)
        + "Settings: skamortise `NeuralRatioEstimator()` defaults (`n_threads=1`), "
        "`bounds` = the prior's support, `random_state=seed`, `sample(x, 10_000, "
        "prior=<the task's prior>)` with its default MCMC, one observation per call; "
        "sbi `NRE(prior)` (NRE-B, `resnet` classifier, default `train()`), default "
        "`build_posterior()` (MCMC `slice_np_vectorized`, 20 chains, 200 warm-up "
        "steps, `resample` initialisation), `torch.set_num_threads(1)`. Same "
        "simulations (smaller budgets are prefixes of larger ones), observations "
        "and reference samples; `skamortise.diagnostics.c2st` (MLP, 5 folds) with "
        f"{', '.join(f'{s:,}' for s in n_samples)} reference + posterior samples "
        "per observation. Defaults were tuned on observations 101 and 102, not on "
        "the reported ones.  \n"
        "Times are wall-clock seconds on a shared machine; compare speed only as "
        "ratios within one process (the speed-up pairs each skamortise timing with "
        "sbi's for the same seed and observation made by the same command).\n\n"
        + "".join(f"Note: {n}  \n" for n in args.note)
        + ("\n" if args.note else "")
    )
    rows = [
        [
            r["task"],
            r["n_simulations"],
            r["library"]
            + (f" `{json.dumps(r['options'])}`" if r.get("options") else ""),
            r["seed"],
            " ".join(str(o) for o in r["obs"]),
            " ".join(f"{s:.3f}" for s in r["c2st"]),
            r["train_s"],
            r["epochs"],
            " ".join(f"{s:.2f}" for s in r["sample_s"]),
            " ".join(f"{v:.4f}" for v in r["rhat_max"]) if "rhat_max" in r else "-",
            " ".join(f"{v:,.0f}" for v in r["ess_min"]) if "ess_min" in r else "-",
        ]
        for r in runs
    ]
    text = (
        header
        + "## Runs\n\n"
        + markdown_table(
            [
                "task",
                "simulations",
                "library",
                "seed",
                "obs",
                "C2ST per obs",
                "train s",
                "epochs",
                "s for 10,000 draws (per obs)",
                "max R-hat",
                "min bulk ESS",
            ],
            rows,
        )
    )
    summary = summarise(runs)
    if summary:
        text += "\n## skamortise vs sbi (means over seeds and observations)\n\n"
        text += markdown_table(
            [
                "task",
                "simulations",
                "seeds",
                "C2ST skamortise (mean ± sd over seeds)",
                "C2ST sbi",
                "sbi - skamortise",
                "train time ratio (ska/sbi)",
                "s per 10,000 draws skamortise",
                "s per 10,000 draws sbi",
                "smallest sampling speed-up (sbi s / ska s, same process)",
                "largest R-hat",
            ],
            summary,
        )
    write_results(args.out, text, {"args": vars(args), "machine": info, "runs": runs})


if __name__ == "__main__":
    main()
