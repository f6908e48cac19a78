"""Every example runs in its fast mode, saves its figures and meets its known answers.

The scripts run in subprocesses, two at a time, with the Agg backend and one BLAS
thread each, through the runner that regenerates the gallery
(``docs/make_gallery.py``). Each script ends by printing its key numbers as
``KEY <name> <value> <low> <high>`` lines and checking them; the tests read those
lines and check that every expected number is there, inside its range, and that
the range holds the number's known answer.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "make_gallery", ROOT / "docs" / "make_gallery.py"
)
make_gallery = importlib.util.module_from_spec(_spec)
sys.modules["make_gallery"] = make_gallery
_spec.loader.exec_module(make_gallery)

# CPU-time limit per script, in seconds: the slowest fast run takes about a third
# of it. CPU time, unlike wall time, does not grow on a busy machine.
CPU_LIMIT = 300
# The slowest first, so that two workers finish together.
SLOWEST = ["quickstart.py", "two_moons_flow.py", "plot_diagnostics.py"]
SCRIPTS = sorted(
    make_gallery.example_scripts(),
    key=lambda name: (SLOWEST.index(name) if name in SLOWEST else 99, name),
)
# The known answer of each kind of key number: C2ST accuracy of draws that a
# classifier cannot tell from exact ones; risk of the exact posterior mean over
# itself; coverage error of calibrated intervals; coverage of 90% intervals.
KNOWN_ANSWERS = {
    "c2st": 0.5,
    "risk_ratio": 1.0,
    "coverage_error": 0.0,
    "coverage_90": 0.9,
}
# The key numbers each example must report.
EXPECTED = {
    "quickstart.py": [
        "risk_ratio_mu",
        "risk_ratio_sigma",
        "coverage_90_mu",
        "coverage_90_sigma",
    ],
    "gaussian_replicates_intervals.py": [
        "risk_ratio_mu",
        "risk_ratio_sigma",
        "coverage_90_mu",
        "coverage_90_sigma",
    ],
    "two_moons_flow.py": ["c2st"],
    "identifiability.py": ["c2st"],
    "nuisance_parameters.py": ["c2st_1", "c2st_2", "c2st_3", "coverage_error"],
    "ratio_estimator.py": ["c2st_training_prior", "c2st_new_prior"],
    "spatial_cnn.py": ["c2st_1", "c2st_2", "c2st_3", "coverage_error"],
    "birth_death_pipeline.py": [
        f"coverage_90_{estimator}_log_{rate}"
        for estimator in ("posterior", "quantile")
        for rate in ("birth", "death", "immigration")
    ],
    "plot_diagnostics.py": [
        *(
            f"risk_ratio_{estimator}_{name}"
            for estimator in ("point", "posterior")
            for name in ("mu", "sigma")
        ),
        "c2st",
        "coverage_error_posterior",
        "coverage_error_quantile",
    ],
}


def _known_answer(name: str) -> float:
    kinds = [kind for kind in KNOWN_ANSWERS if name.startswith(kind)]
    assert kinds, f"key number {name} is of no known kind"
    return KNOWN_ANSWERS[max(kinds, key=len)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run all scripts once, two at a time; results keyed by script name."""
    out = tmp_path_factory.mktemp("examples")
    results = make_gallery.run_all(SCRIPTS, out, fast=True, jobs=2, cpu_limit=CPU_LIMIT)
    return out, {result.script: result for result in results}


def test_every_example_is_listed():
    assert set(SCRIPTS) == set(EXPECTED)


def test_key_numbers_are_read_from_the_output():
    stdout = "table\nKEY c2st 0.5123 0.45 0.6\nKEY risk_ratio_mu 1.02 0.95 1.1\n"
    assert make_gallery.read_key_numbers(stdout) == {
        "c2st": (0.5123, 0.45, 0.6),
        "risk_ratio_mu": (1.02, 0.95, 1.1),
    }


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_and_meets_its_known_answers(runs, script):
    out, results = runs
    result = results[script]
    assert result.cpu_seconds < CPU_LIMIT, f"{script}: over {CPU_LIMIT} s of CPU"
    assert result.returncode == 0, (
        f"{script} failed after {result.seconds:.0f} s:\n{result.stdout[-2000:]}\n"
        f"{result.stderr[-4000:]}"
    )
    if make_gallery.saves_figures(script):
        assert list((out / Path(script).stem).glob("*.png")), f"{script}: no figure"
    numbers = result.key_numbers
    assert list(numbers) == EXPECTED[script], result.stdout[-2000:]
    for name, (value, low, high) in numbers.items():
        assert low <= value <= high, (
            f"{script}: {name} = {value} not in [{low}, {high}]"
        )
        assert low <= _known_answer(name) <= high, (
            f"{script}: the range [{low}, {high}] of {name} misses its known answer"
        )


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_has_a_docstring_and_options(script):
    source = (make_gallery.EXAMPLES / script).read_text()
    assert source.lstrip().startswith('"""'), f"{script} has no module docstring"
    assert "--fast" in source
    assert "check_known_answers(" in source, f"{script} checks no known answer"
