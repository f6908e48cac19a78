"""Neural posterior estimation: skamortise against sbi's default NPE.

For every task and simulation budget both libraries are trained on the same
simulations ``(X, y)``; their posterior samples for the same observations are scored
by C2ST (``skamortise.diagnostics.c2st``) against the same reference samples.
Training wall time and sampling throughput are measured in the same run.

skamortise: ``NeuralPosteriorEstimator()`` with its defaults (``distribution="auto"``:
spline flow up to 5 parameters, MAF above; ``n_threads=1``), given the prior's
support as ``bounds`` and a ``random_state``.
sbi: ``sbi.inference.NPE(prior)`` (NPE-C, default ``"maf"`` density estimator and
default training settings), with ``torch.set_num_threads(1)``; optionally one extra
row with torch's default thread count.

Quick smoke run (about 2 minutes)::

    python benchmarks/npe_vs_sbi.py --quick

Full run::

    python benchmarks/npe_vs_sbi.py --tasks gaussian_linear two_moons slcp \
        gaussian_mixture --sims 1000 10000 --n-obs 3 --n-samples 2000
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

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

from skamortise import NeuralPosteriorEstimator

N_THROUGHPUT_DATASETS = 100
N_THROUGHPUT_SAMPLES = 1000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~2 minute smoke run")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--sims", nargs="+", type=int, default=[1000, 10000])
    parser.add_argument("--n-obs", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0],
        help="training seeds; both libraries are trained once per seed and the "
        "summary averages over them (C2ST varies by about 0.01-0.03 between seeds)",
    )
    parser.add_argument(
        "--sbi-default-threads",
        nargs="*",
        default=["two_moons"],
        help="tasks on which sbi is trained once more, at the largest budget, with "
        "torch's default thread count",
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a line added under the header"
    )
    parser.add_argument("--out", default="npe", help="result stem under results/")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the runs already in the result JSON and skip those combinations",
    )
    parser.add_argument(
        "--merge",
        nargs="*",
        default=[],
        help="result JSON files of other runs (e.g. tasks run in parallel processes) "
        "whose runs are added to this one's table",
    )
    args = parser.parse_args()
    if args.quick:
        args.tasks = ["two_moons", "slcp"]
        args.sims = [1000]
        args.n_obs = 1
        args.n_samples = 1000
        args.sbi_default_threads = []
    return args


# -- the two libraries --
def run_skamortise(task, X, y, x_obs, x_thr, n_samples, seed=TRAIN_SEED):
    est = NeuralPosteriorEstimator(bounds=task.bounds, random_state=seed)
    with Timer() as fit:
        est.fit(X, y)
    with Timer() as draw:
        samples = est.sample(x_obs, n_samples, random_state=SAMPLE_SEED)
    with Timer() as thr:
        est.sample(x_thr, N_THROUGHPUT_SAMPLES, random_state=SAMPLE_SEED + 1)
    valid = np.asarray(est.history_["valid_loss"], dtype=float)
    return samples, {
        "train_s": fit.seconds,
        "epochs": len(valid),
        "best_epoch": int(np.argmin(valid)) + 1,
        "sample_obs_s": draw.seconds,
        "throughput_s": thr.seconds,
        "throughput": N_THROUGHPUT_DATASETS * N_THROUGHPUT_SAMPLES / thr.seconds,
    }


def run_sbi(task, X, y, x_obs, x_thr, n_samples, threads, seed=TRAIN_SEED):
    from sbi.inference import NPE

    theta = torch.as_tensor(y, dtype=torch.float32)
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch_threads(threads):
        torch.manual_seed(seed)
        with sbi_log_directory():
            inference = NPE(prior=task.sbi_prior(), show_progress_bars=False)
        with Timer() as fit:
            inference.append_simulations(theta, x).train()
            posterior = inference.build_posterior()
        torch.manual_seed(SAMPLE_SEED)
        with Timer() as draw:
            samples = np.stack(
                [
                    posterior.sample(
                        (n_samples,),
                        x=torch.as_tensor(xo, dtype=torch.float32),
                        show_progress_bars=False,
                    ).numpy()
                    for xo in x_obs
                ]
            )
        with Timer() as thr:
            posterior.sample_batched(
                (N_THROUGHPUT_SAMPLES,),
                x=torch.as_tensor(x_thr, dtype=torch.float32),
                show_progress_bars=False,
            )
    epochs = int(inference._summary["epochs_trained"][-1])
    return samples.astype(np.float64), {
        "train_s": fit.seconds,
        "epochs": epochs,
        "sample_obs_s": draw.seconds,
        "throughput_s": thr.seconds,
        "throughput": N_THROUGHPUT_DATASETS * N_THROUGHPUT_SAMPLES / thr.seconds,
    }


# -- main --
def main():
    args = parse_args()
    warnings.filterwarnings("ignore")
    info = machine_info()
    log(f"machine: {info}")
    pool = max(args.sims)
    runs, commands = [], []
    sources = [Path(m) for m in args.merge]
    if args.append and (RESULTS / f"{args.out}.json").exists():
        sources.insert(0, RESULTS / f"{args.out}.json")
    for source in sources:
        old = json.loads(source.read_text())
        a = old["args"]
        fallback = (
            a.get("commands")
            or [
                "python benchmarks/npe_vs_sbi.py --tasks "
                + " ".join(a["tasks"])
                + " --sims "
                + " ".join(map(str, a["sims"]))
                + f" --n-obs {a['n_obs']} --n-samples {a['n_samples']}"
            ]
        )[-1]
        for r in old["runs"]:
            r.setdefault("n_obs", a["n_obs"])
            r.setdefault("n_samples", a["n_samples"])
            r.setdefault("seed", TRAIN_SEED)
            r.setdefault("command", fallback)
            runs.append(r)
    this_command = command_line()
    commands = list(dict.fromkeys([r["command"] for r in runs] + [this_command]))
    args.commands = commands
    # Combinations already measured by an earlier run of the same output are
    # skipped; runs merged from other files do not block a new measurement.
    done = {
        (r["task"], r["n_simulations"], r["library"], r["torch_threads"], r["seed"])
        for r in runs
        if not args.merge
    }
    for name in args.tasks:
        task = TASKS[name]
        theta_obs, x_obs = observations(task, args.n_obs)
        reference = reference_samples(task, x_obs, args.n_samples)
        _, x_thr = task.model.observations(
            N_THROUGHPUT_DATASETS, np.random.default_rng(123)
        )
        for n in args.sims:
            X, y = simulations(task, n, pool)
            variants = [
                (library, 1, seed)
                for seed in args.seeds
                for library in ("skamortise", "sbi")
            ]
            if name in args.sbi_default_threads and n == max(args.sims):
                variants.append(("sbi", None, args.seeds[0]))
            for library, threads, seed in variants:
                thread_text = (
                    "1" if threads == 1 else f"default ({torch.get_num_threads()})"
                )
                if (task.name, n, library, thread_text, seed) in done:
                    continue
                log(
                    f"{task.name} n={n} seed={seed}: {library} "
                    f"(torch threads {thread_text}) ..."
                )
                if library == "skamortise":
                    samples, stats = run_skamortise(
                        task, X, y, x_obs, x_thr, args.n_samples, seed
                    )
                else:
                    samples, stats = run_sbi(
                        task, X, y, x_obs, x_thr, args.n_samples, threads, seed
                    )
                log(
                    f"  trained in {stats['train_s']:.1f} s "
                    f"({stats['epochs']} epochs); "
                    f"{stats['throughput']:.0f} samples/s; running C2ST ..."
                )
                with Timer() as t:
                    scores = c2st_scores(reference, samples)
                log(
                    f"  C2ST {np.mean(scores):.3f} per obs "
                    f"{np.round(scores, 3).tolist()} ({t.seconds:.0f} s)"
                )
                runs.append(
                    {
                        "task": task.name,
                        "n_simulations": n,
                        "library": library,
                        "torch_threads": thread_text,
                        "seed": seed,
                        "n_obs": args.n_obs,
                        "n_samples": args.n_samples,
                        "command": this_command,
                        "c2st": scores,
                        "c2st_mean": float(np.mean(scores)),
                        **stats,
                    }
                )
                write(args, info, runs)
    write(args, info, runs)


def write(args, info, runs):
    header = (
        (
            "# Neural posterior estimation: skamortise vs sbi\n\n"
            + "".join(
                f"Command {i}: `{c}`  \n" for i, c in enumerate(args.commands, start=1)
            )
            + f"{machine_markdown(info)}"
            "Settings: skamortise `NeuralPosteriorEstimator()` defaults "
            '(`distribution="auto"`: spline flow up to 5 parameters, MAF above; '
            "`n_threads=1`), `bounds` = the prior's support, `random_state` = the "
            "seed; sbi `NPE(prior)` (NPE-C, default `maf`, default `train()`) after "
            "`torch.manual_seed(seed)`, "
            "`torch.set_num_threads(1)` unless the threads column says otherwise. "
            "Same simulations (nested prefixes of one pool), same observations "
            "(`model.observation(1..n_obs)`), same reference samples, "
            "`skamortise.diagnostics.c2st` (MLP, 5 folds) with n_samples reference + "
            "n_samples posterior samples per observation "
            "(columns `obs`, `samples`).  \n"
            f"Throughput: {N_THROUGHPUT_DATASETS} data sets x {N_THROUGHPUT_SAMPLES:,} "
            "samples in one call (skamortise `sample`, sbi `sample_batched`, which "
            "includes its rejection of samples outside the prior support).  \n"
            "Times are wall-clock seconds on a shared machine; compare speed only as "
            "ratios within this run.\n\n"
        )
        + "".join(f"Note: {n}  \n" for n in args.note)
        + ("\n" if args.note else "")
    )
    rows = []
    for r in runs:
        rows.append(
            [
                args.commands.index(r["command"]) + 1
                if r.get("command") in args.commands
                else "-",
                r["task"],
                r["n_simulations"],
                r["library"],
                r["torch_threads"],
                r["seed"],
                r.get("n_obs", args.n_obs),
                r.get("n_samples", args.n_samples),
                r["c2st_mean"],
                " ".join(f"{s:.3f}" for s in r["c2st"]),
                r["train_s"],
                r["epochs"],
                r["throughput"],
            ]
        )
    table = markdown_table(
        [
            "command",
            "task",
            "simulations",
            "library",
            "torch threads",
            "seed",
            "obs",
            "samples",
            "C2ST mean",
            "C2ST per obs",
            "train s",
            "epochs",
            "samples/s",
        ],
        rows,
    )
    summary = summary_table(runs)
    text = (
        header
        + "## All runs\n\n"
        + table
        + ("\n## skamortise vs sbi (1 thread each; means over the training seeds)\n\n")
    )
    text += summary
    write_results(args.out, text, {"machine": info, "args": vars(args), "runs": runs})


def summary_table(runs):
    """Per task and budget: means over the training seeds both libraries ran."""
    rows = []
    keys = sorted({(r["task"], r["n_simulations"]) for r in runs})
    for task, n in keys:
        by_seed = {"skamortise": {}, "sbi": {}}
        for r in runs:  # later runs of the same combination replace earlier ones
            if r["task"] == task and r["n_simulations"] == n:
                if r["torch_threads"] == "1":
                    by_seed[r["library"]][r["seed"]] = r
        seeds = sorted(set(by_seed["skamortise"]) & set(by_seed["sbi"]))
        if not seeds:
            continue

        def stat(library, key, seeds=seeds, by_seed=by_seed):
            return np.array([by_seed[library][s][key] for s in seeds], dtype=float)

        ska, sbi = stat("skamortise", "c2st_mean"), stat("sbi", "c2st_mean")

        def spread(v):
            return f" ± {v.std(ddof=1):.3f}" if len(v) > 1 else ""

        rows.append(
            [
                task,
                n,
                len(seeds),
                f"{ska.mean():.3f}{spread(ska)}",
                f"{sbi.mean():.3f}{spread(sbi)}",
                sbi.mean() - ska.mean(),
                stat("skamortise", "train_s").sum() / stat("sbi", "train_s").sum(),
                stat("skamortise", "throughput").mean()
                / stat("sbi", "throughput").mean(),
            ]
        )
    return markdown_table(
        [
            "task",
            "simulations",
            "seeds",
            "C2ST skamortise (mean ± sd over seeds)",
            "C2ST sbi",
            "sbi - skamortise",
            "train time ratio (ska/sbi)",
            "throughput ratio (ska/sbi)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
