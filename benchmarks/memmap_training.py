"""Training from a memory-mapped training set many times larger than the process's RAM.

Three steps, each its own process (so that each peak resident memory is its own):

``prepare``
    Writes ``X.npy`` (``n`` data sets of ``--width`` float64 features: the replicates
    of the Gaussian model, as one vector) and ``y.npy`` to ``--dir``, a chunk at a
    time.
``compare``
    The same ``--n-small`` pairs, alternately, ``--repeats`` times: in memory
    (``fit(np.array(X), y)``), memory-mapped (``fit(np.load(..., mmap_mode="r"),
    y)``, streamed) and from shards (``fit_source(ShardSource(...))``). Training
    throughput (pairs per second of the epochs) is compared as ratios within this
    one process; peak resident memory (``VmHWM``, reset before each fit through
    ``/proc/self/clear_refs``) and the final losses are recorded.
``large``
    ``fit`` on the whole memory-mapped ``X.npy`` for ``--epochs`` epochs, under
    ``RLIMIT_DATA`` of ``--cap-mib`` MiB, recording the peak resident memory, the
    time of the passes over the set and the training throughput.

``run`` does all three and writes ``benchmarks/results/memmap.md`` and ``.json``.

Usage::

    python benchmarks/memmap_training.py run --dir /tmp/skamortise_memmap
    python benchmarks/memmap_training.py run --dir /tmp/m --n 200000 --quick
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
NETWORK = dict(hidden_layer_sizes=(32,), batch_size=512, n_iter_no_change=50)


def status() -> dict:
    """Resident memory figures of this process, in MiB."""
    values = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "VmData"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def reset_peak() -> None:
    """Start a new resident-memory high-water mark (Linux ``clear_refs`` 5)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def prepare(args) -> None:
    from skamortise.models import GaussianReplicates

    model = GaussianReplicates()
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    X = np.lib.format.open_memmap(
        directory / "X.npy", mode="w+", dtype=np.float64, shape=(args.n, args.width)
    )
    y = np.lib.format.open_memmap(
        directory / "y.npy", mode="w+", dtype=np.float64, shape=(args.n, 2)
    )
    rng = np.random.default_rng(0)
    step = 100_000
    for start in range(0, args.n, step):
        stop = min(start + step, args.n)
        theta = model.prior(stop - start, rng)
        X[start:stop] = model.simulator(theta, rng, n_replicates=args.width)[..., 0]
        y[start:stop] = theta
        X.flush()
    del X, y
    size = (directory / "X.npy").stat().st_size / 2**20
    print(json.dumps({"n": args.n, "width": args.width, "X_MiB": round(size)}))


def _warm_up() -> None:
    """Import what the first optimiser imports (torch._dynamo, seconds), untimed."""
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def _fit(make, load):
    """Fit on ``load()`` (arrays or a source); peak and starting resident memory.

    The peak is reset before ``load`` runs, so that reading arrays into memory
    counts for the in-memory path.
    """
    from skamortise.sources import TrainingSource

    gc.collect()
    reset_peak()
    before = status()["VmRSS"]
    est = make()
    start = time.perf_counter()
    data = load()
    if isinstance(data, TrainingSource):
        est.fit_source(data)
    else:
        est.fit(*data)
    total = time.perf_counter() - start
    epochs = est.history_["time"][-1]
    del data
    return est, total, epochs, status()["VmHWM"], before


def compare(args) -> None:
    from skamortise import NeuralBayesEstimator
    from skamortise.simulation import ShardWriter
    from skamortise.sources import ShardSource

    _warm_up()
    directory = Path(args.dir)
    X_map = np.load(directory / "X.npy", mmap_mode="r")[: args.n_small]
    y_map = np.load(directory / "y.npy", mmap_mode="r")[: args.n_small]
    shards = directory / f"shards-{args.n_small}"
    if not shards.exists():
        with ShardWriter(shards) as writer:
            for start in range(0, args.n_small, 50_000):
                writer.write(
                    np.array(X_map[start : start + 50_000]),
                    np.array(y_map[start : start + 50_000]),
                )

    def make():
        return NeuralBayesEstimator(max_epochs=args.epochs, random_state=0, **NETWORK)

    n_train = args.n_small - int(np.ceil(0.1 * args.n_small))
    rows = {"memory": [], "memmap": [], "shards": []}
    losses = {}
    loaders = {
        "memory": lambda: (np.array(X_map), np.array(y_map)),
        "memmap": lambda: (X_map, y_map),
        "shards": lambda: ShardSource(shards),
    }
    for _ in range(args.repeats):
        for mode, load in loaders.items():
            est, total, epochs, peak, before = _fit(make, load)
            throughput = args.epochs * n_train / epochs
            rows[mode].append(
                dict(
                    total_s=total,
                    pairs_per_s=throughput,
                    peak=peak,
                    added=peak - before,
                )
            )
            losses[mode] = est.history_["valid_loss"][-1]
    print(json.dumps({"rows": rows, "valid_loss": losses}))


def large(args) -> None:
    cap = args.cap_mib * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    from skamortise import NeuralBayesEstimator

    _warm_up()
    directory = Path(args.dir)
    X = np.load(directory / "X.npy", mmap_mode="r")
    y = np.load(directory / "y.npy", mmap_mode="r")
    est, total, epochs, peak, before = _fit(
        lambda: NeuralBayesEstimator(max_epochs=args.epochs, random_state=0, **NETWORK),
        lambda: (X, y),
    )
    n_train = len(X) - int(np.ceil(0.1 * len(X)))
    print(
        json.dumps(
            {
                "n": len(X),
                "X_MiB": X.nbytes / 2**20,
                "cap_MiB": args.cap_mib,
                "peak_MiB": peak,
                "before_MiB": before,
                "end": status(),
                "fit_s": total,
                "epochs_s": epochs,
                "passes_s": total - epochs,
                "pairs_per_s": args.epochs * n_train / epochs,
                "valid_loss": est.history_["valid_loss"],
            }
        )
    )


def _child(step: str, args) -> dict:
    command = [sys.executable, __file__, step, "--dir", args.dir]
    for name in ("n", "width", "n_small", "repeats", "epochs", "cap_mib"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _cpu() -> str:
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def run(args) -> None:
    import torch

    import skamortise

    started = time.perf_counter()
    if not (Path(args.dir) / "X.npy").exists():
        prepared = _child("prepare", args)
    else:
        prepared = {"X_MiB": (Path(args.dir) / "X.npy").stat().st_size / 2**20}
    compared = _child("compare", args)
    big = _child("large", args)
    load = os.getloadavg()
    record = {
        "prepared": prepared,
        "compare": compared,
        "large": big,
        "args": vars(args),
        "load_average": load,
        "elapsed_s": time.perf_counter() - started,
    }
    (RESULTS / "memmap.json").write_text(json.dumps(record, indent=1) + "\n")
    rows = compared["rows"]

    def median(mode, key):
        return float(np.median([r[key] for r in rows[mode]]))

    base = median("memory", "pairs_per_s")
    small_mib = args.n_small * args.width * 8 / 2**20
    lines = [
        "### Training from a memory-mapped set larger than memory",
        "",
        "Command: `python benchmarks/memmap_training.py run --dir DIR "
        f"--n {big['n']} --width {args.width} --n-small {args.n_small} "
        f"--epochs {args.epochs} --cap-mib {args.cap_mib}` (MLP {NETWORK}, "
        "n_threads=1, validation_fraction=0.1).",
        "",
        f"Machine: {os.cpu_count()} cores ({_cpu()}), shared (load average "
        f"{load[0]:.1f} at the end), Python {platform.python_version()}, torch "
        f"{torch.__version__}, skamortise {skamortise.__version__}.",
        "",
        f"**Larger than memory.** `fit(np.load('X.npy', mmap_mode='r'), y)` on "
        f"{big['n']:,} data sets x {args.width} features = {big['X_MiB']:,.0f} MiB "
        f"of float64, in a process whose data segment was capped at "
        f"{args.cap_mib} MiB (`RLIMIT_DATA`): peak resident memory "
        f"{big['peak_MiB']:.0f} MiB (`VmHWM`), of which {big['before_MiB']:.0f} "
        "MiB were resident before `fit` (Python, numpy, torch), so the "
        f"training set is {big['X_MiB'] / big['peak_MiB']:.1f}x the peak and "
        f"{big['X_MiB'] / args.cap_mib:.1f}x the cap. {args.epochs} epoch(s) took "
        f"{big['epochs_s']:.0f} s ({big['pairs_per_s']:,.0f} training pairs/s); "
        f"the validation and standardisation passes over the set "
        f"{big['passes_s']:.0f} s. Validation loss per epoch: "
        + ", ".join(f"{v:.4f}" for v in big["valid_loss"])
        + ".",
        "",
        f"**Against the in-memory path**, on the first {args.n_small:,} data sets "
        f"({small_mib:.0f} MiB), {args.repeats} alternating repeats in one process "
        f"(medians). Memory added: the peak resident memory of the fit (loading the "
        "arrays included) above the resident memory before it:",
        "",
        "| training data | pairs/s | relative | added MiB | final valid loss |",
        "|---|---|---|---|---|",
    ]
    for mode, label in (
        ("memory", "arrays in memory"),
        ("memmap", "memory-mapped .npy, streamed"),
        ("shards", "shard directory, streamed"),
    ):
        lines.append(
            f"| {label} | {median(mode, 'pairs_per_s'):,.0f} | "
            f"{median(mode, 'pairs_per_s') / base:.2f} | {median(mode, 'added'):.0f} | "
            f"{compared['valid_loss'][mode]:.5f} |"
        )
    lines += [
        "",
        "The streamed paths read each minibatch's rows from the page cache (the file "
        "fits the machine's page cache; from a disk, random reads would cost more), "
        "standardise them and make tensors per minibatch, where the in-memory path "
        "indexes tensors made once. Their standardisation is computed in 32 MiB "
        "chunks, so their losses agree with the in-memory ones to rounding, not to "
        "the bit (with one chunk they agree exactly: `tests/test_sources.py`). The "
        "memory added is measured above the resident memory at the start of each "
        "fit, which holds heap freed by the earlier fits of the same process; the "
        "fresh process of the larger-than-memory run is the clean measure.",
    ]
    (RESULTS / "memmap.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "compare", "large", "run"])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--n", type=int, default=5_000_000)
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--n-small", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--cap-mib", type=int, default=576)
    args = parser.parse_args()
    {"prepare": prepare, "compare": compare, "large": large, "run": run}[args.step](
        args
    )


if __name__ == "__main__":
    main()
