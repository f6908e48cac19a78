"""The README's quick start runs as written and prints answers close to the exact
posterior, and its commands match CI."""

import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quick_start_prints_answers_close_to_the_exact_posterior(capsys):
    block = re.search(r"## Quick start\n\n```python\n(.*?)```", README, re.S).group(1)
    assert len(block.strip().splitlines()) <= 16
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    npe, model, x_obs = (namespace[name] for name in ("npe", "model", "x_obs"))

    # What the README prints: the estimate next to the exact posterior mean, then
    # the estimated 90% intervals (both deterministic, so recomputing them here
    # reproduces the printed text).
    estimate, exact_mean = npe.predict(x_obs), model.posterior_mean(x_obs)
    interval = npe.predict_interval(x_obs, alpha=0.1)
    assert printed == f"{estimate} {exact_mean}\n{interval}\n"

    # Errors in units of the exact posterior sd (from 100,000 exact draws; their
    # Monte Carlo error is 0.2%). The quick start's Gaussian family, trained on
    # 2,000 simulations for 30 epochs, lands within 0.1 sd of the posterior mean,
    # within 0.15 sd of the ends of mu's exact interval (a Student-t with 26
    # degrees of freedom) and within 0.7 sd of sigma's (a Gaussian on log sigma
    # misses the skew of its posterior). The tolerances leave room for other CPUs.
    sd = model.posterior_sample(x_obs, 100_000, np.random.default_rng(0))[0].std(0)
    assert np.all(np.abs(estimate - exact_mean) / sd < 0.25)
    exact_interval = model.posterior_quantile(x_obs, [0.05, 0.95])
    interval_error = np.abs(interval - exact_interval)[0] / sd[:, None]
    assert np.all(interval_error < np.array([[0.4], [1.0]]))


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
