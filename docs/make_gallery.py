"""Regenerate the example gallery from full runs of the examples.

Run from the repository root::

    python docs/make_gallery.py [--jobs N] [NAME ...]

Every script in ``examples/`` (or only the NAMEs given, e.g. ``two_moons_flow``)
runs without ``--fast``, at its full simulation budget, with one torch and BLAS
thread, ``--jobs`` scripts at a time. Each saves its figures to
``docs/_static/examples/<name>/`` (older PNGs there are removed first), next to
``output.txt``, what the script printed, and ``key_numbers.json``: its key numbers
with the ranges they were checked against, its wall time and the machine. The
gallery (``docs/examples.rst``) shows all three. The command exits with an error
if a script fails, and a script fails when a key number leaves its range.

``tests/test_examples.py`` runs the same scripts through :func:`run` with
``--fast``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GALLERY = ROOT / "docs" / "_static" / "examples"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def example_scripts() -> list[str]:
    """File names of the example scripts (modules starting with ``_`` are helpers)."""
    return sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def saves_figures(script: str) -> bool:
    """Whether the script takes ``--out DIR`` to save its figures."""
    return '"--out"' in (EXAMPLES / script).read_text()


def read_key_numbers(stdout: str) -> dict[str, tuple[float, float, float]]:
    """``{name: (value, low, high)}`` from the ``KEY name value low high`` lines."""
    numbers = {}
    for line in stdout.splitlines():
        if line.startswith("KEY "):
            name, *values = line.split()[1:]
            numbers[name] = tuple(float(v) for v in values)
    return numbers


@dataclass
class Run:
    """One script's run: exit status (negative: killed by that signal), output,
    wall time, and CPU time (user plus system, of the script and the worker
    processes it waited for)."""

    script: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    cpu_seconds: float
    key_numbers: dict = field(default_factory=dict)


# Sets a CPU-time limit, then becomes the example's Python process (os.execv
# keeps the limit; a preexec_fn would not be safe with the runner's threads).
_LIMITED = (
    "import os, resource, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 5)); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
)


def run(script: str, out: Path, *, fast: bool, cpu_limit: float | None = None) -> Run:
    """Run one example with the Agg backend and one thread, figures into ``out``.

    The working directory is ``out``, so a script that writes elsewhere than
    ``--out`` cannot litter the repository. ``cpu_limit`` (seconds of CPU time,
    not of wall time, so that a busy machine does not count against the script)
    stops a script that runs away.
    """
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(EXAMPLES / script)]
    if cpu_limit is not None:
        # The kernel stops the script with SIGXCPU at the limit.
        command[1:1] = ["-c", _LIMITED, str(int(cpu_limit))]
    command += ["--fast"] if fast else []
    command += ["--out", str(out)] if saves_figures(script) else []
    env = dict(os.environ, MPLBACKEND="Agg", **dict.fromkeys(THREAD_VARIABLES, "1"))
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    start = time.perf_counter()
    # Output goes to files, not pipes: the child is reaped with os.wait4 for its
    # CPU time, and a pipe that nobody reads would block it.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=stderr,
            text=True,
            env=env,
            cwd=out,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        printed, errors = stdout.read(), stderr.read()
    return Run(
        script,
        returncode,
        printed,
        errors,
        time.perf_counter() - start,
        usage.ru_utime + usage.ru_stime,
        read_key_numbers(printed),
    )


def run_all(
    scripts: list[str], out: Path, *, fast: bool, jobs: int, cpu_limit=None
) -> Iterator[Run]:
    """Run scripts ``jobs`` at a time, each into ``out/<name>``, as they finish."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(run, s, out / Path(s).stem, fast=fast, cpu_limit=cpu_limit)
            for s in scripts
        ]
        for future in as_completed(futures):
            yield future.result()


def _machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, 1 thread per script"


def _clear(directory: Path) -> None:
    for old in [*directory.glob("*.png"), directory / "output.txt"]:
        old.unlink(missing_ok=True)


def _record(result: Run, directory: Path) -> None:
    (directory / "output.txt").write_text(result.stdout)
    record = {
        "command": f"python examples/{result.script}",
        "key_numbers": {
            name: {"value": v, "low": lo, "high": hi}
            for name, (v, lo, hi) in result.key_numbers.items()
        },
        "wall_seconds": round(result.seconds),
        "cpu_seconds": round(result.cpu_seconds),
        "machine": _machine(),
    }
    (directory / "key_numbers.json").write_text(json.dumps(record, indent=2) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="examples to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="scripts at a time")
    args = parser.parse_args(argv)
    scripts = example_scripts()
    if args.names:
        wanted = {Path(n).stem for n in args.names}
        unknown = wanted - {Path(s).stem for s in scripts}
        if unknown:
            parser.error(f"no example named {', '.join(sorted(unknown))}")
        scripts = [s for s in scripts if Path(s).stem in wanted]
    for script in scripts:
        _clear(GALLERY / Path(script).stem)
    failed = []
    for result in run_all(scripts, GALLERY, fast=False, jobs=args.jobs):
        _record(result, GALLERY / Path(result.script).stem)
        numbers = ", ".join(f"{k} {v[0]:g}" for k, v in result.key_numbers.items())
        print(
            f"{result.script}: {result.seconds / 60:.1f} min wall, "
            f"{result.cpu_seconds / 60:.1f} min CPU; {numbers}",
            flush=True,
        )
        if result.returncode != 0:
            failed.append(result.script)
            print(result.stderr[-3000:], file=sys.stderr, flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
