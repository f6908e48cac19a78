"""Shared helpers of the sbi comparison benchmarks (npe_vs_sbi.py, nre_vs_sbi.py).

Task registry (skamortise models with a matching sbi prior), machine description,
timing, cached simulations and reference samples, the C2ST loop and a markdown
writer. Both libraries always see the same simulations, observations and reference
samples, and are scored by the same C2ST function.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import skamortise
from skamortise import models
from skamortise.diagnostics import c2st

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(os.environ.get("SKAMORTISE_BENCH_CACHE", "/tmp/skamortise_bench_cache"))

# Seeds: simulations, reference samples, posterior draws, C2ST.
SIM_SEED = 20240
REF_SEED = 7
SAMPLE_SEED = 11
C2ST_SEED = 3
TRAIN_SEED = 0


# -- tasks --
@dataclass
class Task:
    name: str
    label: str
    model: object

    @property
    def bounds(self):
        return self.model.bounds

    def sbi_prior(self):
        """The task's prior as a torch distribution (float32), as sbi expects."""
        from sbi.utils import BoxUniform

        m = self.model
        if isinstance(m, models.GaussianLinear):
            return torch.distributions.MultivariateNormal(
                torch.zeros(m.dim), m.prior_var * torch.eye(m.dim)
            )
        low = torch.tensor([b[0] for b in m.bounds], dtype=torch.float32)
        high = torch.tensor([b[1] for b in m.bounds], dtype=torch.float32)
        return BoxUniform(low, high)

    def torch_prior(self):
        """The prior as a float64 torch distribution (``-inf`` outside a box)."""
        m = self.model
        if isinstance(m, models.GaussianLinear):
            return torch.distributions.MultivariateNormal(
                torch.zeros(m.dim, dtype=torch.float64),
                m.prior_var * torch.eye(m.dim, dtype=torch.float64),
            )
        low = torch.tensor([b[0] for b in m.bounds], dtype=torch.float64)
        high = torch.tensor([b[1] for b in m.bounds], dtype=torch.float64)
        uniform = torch.distributions.Uniform(low, high, validate_args=False)
        return torch.distributions.Independent(uniform, 1, validate_args=False)


TASKS = {
    "gaussian_linear": Task("gaussian_linear", "Gaussian linear (10-D)", None),
    "two_moons": Task("two_moons", "two moons", None),
    "slcp": Task("slcp", "SLCP", None),
    "gaussian_mixture": Task("gaussian_mixture", "Gaussian mixture", None),
}
TASKS["gaussian_linear"].model = models.GaussianLinear()
TASKS["two_moons"].model = models.TwoMoons()
TASKS["slcp"].model = models.SLCP()
TASKS["gaussian_mixture"].model = models.GaussianMixture()


# -- machine --
def machine_info() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        nproc = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    import sbi
    import sklearn
    import zuko

    return {
        "nproc": nproc,
        "cpu": cpu,
        "load_average_at_start": load,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sbi": sbi.__version__,
        "skamortise": skamortise.__version__,
        "zuko": zuko.__version__,
        "sklearn": sklearn.__version__,
        "torch_default_threads": torch.get_num_threads(),
    }


def machine_markdown(info: dict) -> str:
    load = info["load_average_at_start"]
    load_text = "n/a" if load is None else ", ".join(f"{v:.2f}" for v in load)
    return (
        f"Machine: `nproc` = {info['nproc']}, CPU {info['cpu']}; 1-, 5-, 15-min load "
        f"average at start {load_text} (the cores were shared with other jobs).  \n"
        f"Versions: Python {info['python']}, torch {info['torch']}, sbi {info['sbi']}, "
        f"skamortise {info['skamortise']} (zuko {info['zuko']}), "
        f"scikit-learn {info['sklearn']}.  \n"
    )


# -- timing and threads --
class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` torch intra-op threads (None: leave the setting alone)."""
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def sbi_log_directory():
    """sbi writes training logs under ``./sbi-logs``; keep them in the cache folder."""
    CACHE.mkdir(parents=True, exist_ok=True)
    previous = os.getcwd()
    os.chdir(CACHE)
    try:
        yield
    finally:
        os.chdir(previous)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- data --
def simulations(task: Task, n: int, pool_size: int):
    """The first ``n`` of a fixed pool of ``pool_size`` simulations: ``(X, y)``.

    Smaller budgets are prefixes of larger ones, so every budget sees the same pairs.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"sims_{task.name}_{pool_size}_{SIM_SEED}.npz"
    if path.exists():
        data = np.load(path)
        X, y = data["X"], data["y"]
    else:
        X, y = skamortise.simulate(
            task.model.prior, task.model.simulator, pool_size, random_state=SIM_SEED
        )
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        np.savez(path, X=X, y=y)
    if n > len(X):
        raise ValueError(f"asked for {n} simulations from a pool of {len(X)}.")
    return X[:n], y[:n]


def observations(task: Task, n_obs: int):
    """Benchmark observations 1..n_obs: ``(theta_true, x_obs)`` stacked."""
    pairs = [task.model.observation(i) for i in range(1, n_obs + 1)]
    theta = np.stack([np.asarray(t, dtype=np.float64) for t, _ in pairs])
    x = np.stack([np.asarray(x, dtype=np.float64) for _, x in pairs])
    return theta, x


def reference_samples(task: Task, x_obs: np.ndarray, n_samples: int) -> np.ndarray:
    """``(n_obs, n_samples, p)`` reference posterior draws, cached on disk."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for i, x in enumerate(x_obs, start=1):
        path = CACHE / f"ref_{task.name}_obs{i}_{n_samples}_{REF_SEED}.npy"
        if path.exists():
            out.append(np.load(path))
            continue
        rng = np.random.default_rng([REF_SEED, i])
        with Timer() as t:
            draws = np.asarray(
                task.model.reference_posterior(x, n_samples, rng), dtype=np.float64
            )
        log(f"  reference posterior {task.name} obs {i}: {t.seconds:.1f} s")
        np.save(path, draws)
        out.append(draws)
    return np.stack(out)


# -- C2ST --
def c2st_scores(reference: np.ndarray, samples: np.ndarray) -> list[float]:
    """C2ST accuracy per observation (skamortise.diagnostics.c2st, MLP classifier).

    The same seed for every observation and library, and one BLAS thread.
    """
    scores = []
    with threadpool_limits(1):
        for ref, draws in zip(reference, samples, strict=True):
            draws = np.asarray(draws, dtype=np.float64)
            if not np.isfinite(draws).all():
                return [float("nan")] * len(reference)
            scores.append(c2st(ref, draws, random_state=C2ST_SEED))
    return scores


# -- output --
def fmt(value, digits=3) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if not np.isfinite(value):
        return "nan"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def command_line() -> str:
    return "python " + " ".join(
        [os.path.relpath(sys.argv[0], Path(__file__).resolve().parents[1])]
        + sys.argv[1:]
    )


def write_results(stem: str, markdown: str, raw: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    md_path = RESULTS / f"{stem}.md"
    json_path = RESULTS / f"{stem}.json"
    md_path.write_text(markdown)
    json_path.write_text(json.dumps(raw, indent=2, default=_json_default) + "\n")
    log(f"wrote {md_path} and {json_path}")
    return md_path, json_path


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(type(value))
