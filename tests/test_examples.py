"""Every example script runs in its fast mode and saves its figures.

The scripts run in subprocesses, two at a time, with the Agg backend and one BLAS
thread each (numpy's linear algebra oversubscribes a shared machine otherwise).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Wall-clock limit per script, in seconds; generous for a busy two-core machine.
TIMEOUT = 240
# Scripts that take an output directory, and the option that names it.
OUTPUT_OPTION = {"plot_diagnostics.py": "--output"}
NO_OUTPUT = {"quickstart.py", "birth_death_pipeline.py"}
# The slowest first, so that two workers finish together.
SLOWEST = ["quickstart.py", "ratio_estimator.py", "two_moons_flow.py"]
SCRIPTS = sorted(
    (path.name for path in EXAMPLES.glob("*.py")),
    key=lambda name: (SLOWEST.index(name) if name in SLOWEST else 99, name),
)


def _command(script: str, out: Path) -> list[str]:
    command = [sys.executable, str(EXAMPLES / script), "--fast"]
    if script not in NO_OUTPUT:
        command += [OUTPUT_OPTION.get(script, "--out"), str(out / Path(script).stem)]
    return command


def _environment() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def _run(script: str, out: Path) -> tuple[subprocess.CompletedProcess | None, float]:
    start = time.perf_counter()
    try:
        result = subprocess.run(
            _command(script, out),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=_environment(),
            cwd=out,
        )
    except subprocess.TimeoutExpired:
        result = None
    return result, time.perf_counter() - start


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run all scripts once, two at a time; results keyed by script name."""
    out = tmp_path_factory.mktemp("examples")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(
            zip(SCRIPTS, pool.map(lambda s: _run(s, out), SCRIPTS), strict=True)
        )
    return out, results


def test_every_example_is_listed():
    assert {
        "quickstart.py",
        "plot_diagnostics.py",
        "birth_death_pipeline.py",
        "gaussian_replicates_intervals.py",
        "two_moons_flow.py",
        "identifiability.py",
        "nuisance_parameters.py",
        "ratio_estimator.py",
        "spatial_cnn.py",
    } <= set(SCRIPTS)


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(runs, script):
    out, results = runs
    result, seconds = results[script]
    assert result is not None, f"{script} took more than {TIMEOUT} s"
    assert result.returncode == 0, (
        f"{script} failed after {seconds:.0f} s:\n{result.stdout[-2000:]}\n"
        f"{result.stderr[-4000:]}"
    )
    if script not in NO_OUTPUT:
        figures = list((out / Path(script).stem).glob("*.png"))
        assert figures, f"{script} saved no figure"


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_has_a_docstring_and_options(script):
    source = (EXAMPLES / script).read_text()
    assert source.lstrip().startswith('"""'), f"{script} has no module docstring"
    assert "--fast" in source
