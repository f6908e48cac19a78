"""The thread policy: torch intra-op threads during an estimator's work.

Times one fixed training workload (a DeepSet point estimator, a fixed number of epochs,
no early stopping) and one inference workload with ``n_threads=1`` and ``n_threads=2``,
first as the machine is, then with one competing CPU-bound process started by this
script. All timings come from the same run; compare ratios, not absolute numbers.

Run: python benchmarks/threads.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from skamortise import NeuralBayesEstimator, simulate
from skamortise.models import GaussianReplicates

RESULTS = Path(__file__).parent / "results"


def _burn(stop):
    x = 0
    while not stop.is_set():
        x = (x * 1103515245 + 12345) % 2**31


def _time(n_threads, X, y, epochs, repeats):
    best_fit, best_predict = np.inf, np.inf
    for _ in range(repeats):
        est = NeuralBayesEstimator(
            n_threads=n_threads,
            max_epochs=epochs,
            n_iter_no_change=10**6,
            random_state=0,
        )
        start = time.perf_counter()
        est.fit(X, y)
        best_fit = min(best_fit, time.perf_counter() - start)
        start = time.perf_counter()
        est.predict(X)
        best_predict = min(best_predict, time.perf_counter() - start)
    return best_fit, best_predict


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, epochs, repeats = (1000, 2, 1) if args.quick else (5000, 5, 3)
    model = GaussianReplicates()
    X, y = simulate(model.prior, model.simulator, n, n_replicates=20, random_state=0)
    rows = []
    for load in ("as is", "+1 busy process"):
        stop = mp.Event()
        burner = None
        if load != "as is":
            burner = mp.Process(target=_burn, args=(stop,))
            burner.start()
        try:
            for n_threads in (1, 2):
                fit, predict = _time(n_threads, X, y, epochs, repeats)
                rows.append((load, n_threads, fit, predict))
        finally:
            stop.set()
            if burner is not None:
                burner.join()
    lines = [
        "| machine load | n_threads | fit (s) | predict (s) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c:.2f} | {d:.3f} |" for a, b, c, d in rows]
    text = (
        f"Command: `python benchmarks/threads.py{' --quick' if args.quick else ''}`"
        f" ({n} data sets x 20 replicates, {epochs} epochs, best of {repeats})\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(text)
    (RESULTS / f"threads{'_quick' if args.quick else ''}.md").write_text(text)


if __name__ == "__main__":
    main()
