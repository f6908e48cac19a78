"""Wall-time speed-up of ``skamortise.simulate`` from ``n_jobs=1`` to ``n_jobs=2``.

The simulator is deliberately Python-bound: the stochastic Ricker map (a population
model common in simulation-based inference) iterated in a plain Python loop per data
set, as much scientific simulation code is. numpy cannot vectorise it, so only
processes (joblib's default loky backend) can use a second core.

Both settings run in the same process, alternating, ``--repeats`` times; the first
parallel run includes starting the worker processes ("cold"), later ones reuse them.
The script also checks that both settings return identical data.

Usage::

    python benchmarks/simulate_speedup.py            # 100,000 data sets
    python benchmarks/simulate_speedup.py --quick    # 10,000 data sets
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np

from skamortise import simulate

N_STEPS = 200


def ricker_prior(n, rng):
    """``(log r, sigma, phi)``: growth rate, process noise, observation scale."""
    return np.column_stack(
        [rng.uniform(3.0, 4.5, n), rng.uniform(0.1, 0.6, n), rng.uniform(5.0, 15.0, n)]
    )


def ricker_simulator(theta, rng, n_steps=N_STEPS):
    """Counts ``y_t ~ Poisson(phi N_t)``, ``N_{t+1} = r N_t exp(-N_t + e_t)``."""
    out = np.empty((len(theta), n_steps))
    for i, (log_r, sigma, phi) in enumerate(theta):
        noise = (sigma * rng.standard_normal(n_steps)).tolist()
        population, row = 1.0, out[i]
        trajectory = [0.0] * n_steps
        for t in range(n_steps):
            population = math.exp(log_r + math.log(population) - population + noise[t])
            trajectory[t] = population
        row[:] = trajectory
        out[i] = rng.poisson(phi * out[i])
    return out


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or model
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({model}); load average {load}"


def run(n: int, n_jobs: int) -> tuple[float, float, tuple]:
    """Wall time, this process's CPU time, and the output."""
    start, cpu = time.perf_counter(), time.process_time()
    out = simulate(
        ricker_prior,
        ricker_simulator,
        n,
        n_jobs=n_jobs,
        batch_size=1000,
        random_state=0,
    )
    return time.perf_counter() - start, time.process_time() - cpu, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 data sets")
    parser.add_argument("--n", type=int, default=None, help="number of data sets")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.n or (10_000 if args.quick else 100_000)

    print(f"machine: {machine()}")
    print(
        f"simulate {n:,} Ricker data sets ({N_STEPS} Python-loop steps each), "
        f"batch_size=1000, loky backend"
    )
    times, cpu_share = {1: [], 2: []}, []
    reference = None
    for repeat in range(args.repeats):
        for n_jobs in (1, 2):
            seconds, cpu, (X, y) = run(n, n_jobs)
            times[n_jobs].append(seconds)
            if n_jobs == 1:
                # Below 1 when other processes take the core: a contention gauge.
                cpu_share.append(cpu / seconds)
            if reference is None:
                reference = (X, y)
            elif not (
                np.array_equal(X, reference[0]) and np.array_equal(y, reference[1])
            ):
                raise AssertionError("n_jobs changed the simulated data")
            print(f"  repeat {repeat}: n_jobs={n_jobs}: {seconds:7.2f} s")
    serial, parallel = statistics.median(times[1]), statistics.median(times[2])
    cold = times[1][0] / times[2][0]
    print(f"machine after: {machine()}")
    print()
    print(
        "| n | n_jobs=1 (s) | n_jobs=2 (s) | speed-up (median) | speed-up (cold) | "
        "CPU share of n_jobs=1 |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {n:,} | {serial:.2f} | {parallel:.2f} | {serial / parallel:.2f}x | "
        f"{cold:.2f}x | {statistics.median(cpu_share):.2f} |"
    )
    print("identical output for n_jobs=1 and 2: yes")


if __name__ == "__main__":
    main()
