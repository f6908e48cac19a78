"""Bit-for-bit check that ``fit`` and ``fit_simulator`` train as they did before a
change to the training path.

Each configuration trains a tiny network on CPU with a fixed seed and hashes the
exact bytes of everything training produced: the weights, the history (without wall
times), the standardisation moments and family attributes such as ``support_``. The
digests of a reference version are kept in
``benchmarks/results/training_equivalence.json``; running the script compares the
current code against them.

Usage::

    python benchmarks/training_equivalence.py            # compare with the record
    python benchmarks/training_equivalence.py --write    # record the current code
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from skamortise import (
    NeuralBayesEstimator,
    NeuralModelComparison,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
    simulate,
)
from skamortise.models import GaussianReplicates

RECORD = Path(__file__).resolve().parent / "results" / "training_equivalence.json"
MODEL = GaussianReplicates()
SMALL = dict(hidden_layer_sizes=(16,), max_epochs=6, n_iter_no_change=50)


def _tabular():
    rng = np.random.default_rng(0)
    theta = MODEL.prior(300, rng)
    Z = MODEL.simulator(theta, rng, n_replicates=8)[..., 0]
    return np.column_stack([Z.mean(1), np.log(Z.std(1))]), theta


def _replicated():
    rng = np.random.default_rng(1)
    theta = MODEL.prior(300, rng)
    return MODEL.simulator(theta, rng, n_replicates=6), theta


def _ragged():
    rng = np.random.default_rng(2)
    theta = MODEL.prior(300, rng)
    counts = rng.integers(1, 12, size=300)
    X = [
        MODEL.simulator(t[None], rng, n_replicates=m)[0]
        for t, m in zip(theta, counts, strict=True)
    ]
    return X, theta


def _flaky(theta, rng, n_replicates=5):
    x = MODEL.simulator(theta, rng, n_replicates=n_replicates)
    x[theta[:, 0] > 1.0] = np.nan
    return x


def _labelled():
    def prior(n, rng):
        return rng.normal(size=(n, 1))

    def narrow(theta, rng, n_replicates=6):
        return theta[:, None, :] + rng.normal(size=(len(theta), n_replicates, 1))

    def wide(theta, rng, n_replicates=6):
        return theta[:, None, :] + 3 * rng.normal(size=(len(theta), n_replicates, 1))

    rng = np.random.default_rng(5)
    labels = rng.choice(["narrow", "wide"], size=300)
    X = np.where(
        (labels == "wide")[:, None, None],
        wide(np.zeros((300, 1)), rng),
        narrow(np.zeros((300, 1)), rng),
    )
    return X, labels, prior


def configurations():
    """Name -> a function returning a fitted estimator."""
    uniform = stats.uniform(-2, 4)

    def gaussian_mean(theta, rng):
        return theta + 0.5 * rng.normal(size=theta.shape)

    def warm():
        X, y = _tabular()
        est = NeuralBayesEstimator(warm_start=True, random_state=3, **SMALL)
        return est.fit(X, y).fit(X, y)

    return {
        "point_tabular_split": lambda: NeuralBayesEstimator(
            random_state=0, **SMALL
        ).fit(*_tabular()),
        "point_tabular_no_validation": lambda: NeuralBayesEstimator(
            random_state=1, validation_fraction=0, **SMALL
        ).fit(*_tabular()),
        "point_warm_start": warm,
        "quantile_replicated": lambda: NeuralQuantileEstimator(
            random_state=2, **SMALL
        ).fit(*_replicated()),
        "point_ragged_balanced": lambda: NeuralBayesEstimator(
            random_state=4, **SMALL
        ).fit(*_ragged()),
        "posterior_ragged_bounds": lambda: NeuralPosteriorEstimator(
            "gaussian", bounds=MODEL.bounds, random_state=5, **SMALL
        ).fit(*_ragged()),
        "ratio_arrays": lambda: NeuralRatioEstimator(random_state=6, **SMALL).fit(
            *simulate(uniform, gaussian_mean, 300, random_state=1)
        ),
        "ratio_simulator_parameters": lambda: NeuralRatioEstimator(
            random_state=7, **SMALL
        ).fit_simulator(uniform, gaussian_mean, 300, refresh_every=2),
        "point_simulator_data_ragged": lambda: NeuralBayesEstimator(
            random_state=8, **SMALL
        ).fit_simulator(
            MODEL.prior,
            MODEL.simulator,
            300,
            n_replicates=range(1, 15),
            refresh="data",
        ),
        "quantile_simulator_fixed": lambda: NeuralQuantileEstimator(
            random_state=9, **SMALL
        ).fit_simulator(
            MODEL.prior, MODEL.simulator, 300, n_replicates=5, refresh=None
        ),
        "posterior_simulator_no_validation": lambda: NeuralPosteriorEstimator(
            "gaussian", bounds=MODEL.bounds, random_state=10, **SMALL
        ).fit_simulator(
            MODEL.prior,
            MODEL.simulator,
            300,
            n_replicates=[3, 7],
            n_validation=0,
            refresh="parameters",
        ),
        "point_simulator_drop": lambda: NeuralBayesEstimator(
            random_state=11, **SMALL
        ).fit_simulator(
            MODEL.prior, _flaky, 300, n_replicates=5, refresh="data", on_error="drop"
        ),
        "model_comparison": lambda: NeuralModelComparison(random_state=12, **SMALL).fit(
            *_labelled()[:2]
        ),
    }


_ATTRIBUTES = (
    "x_loc_",
    "x_scale_",
    "y_loc_",
    "y_scale_",
    "support_",
    "classes_",
    "class_count_",
    "best_epoch_",
    "n_epochs_",
)


def digest(est) -> str:
    h = hashlib.sha256()
    for name, tensor in est.network_.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().numpy().tobytes())
    history = {k: v for k, v in est.history_.items() if k != "time"}
    h.update(json.dumps(history, sort_keys=True).encode())
    for name in _ATTRIBUTES:
        if hasattr(est, name):
            h.update(name.encode())
            h.update(np.asarray(getattr(est, name)).tobytes())
    proposal = getattr(est, "proposal_", "absent")
    h.update(repr(type(proposal)).encode())
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the digests")
    args = parser.parse_args()
    import warnings

    digests = {}
    for name, fit in configurations().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            digests[name] = digest(fit())
    if args.write:
        RECORD.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(digests)} configurations in {RECORD}")
        return 0
    record = json.loads(RECORD.read_text())
    failed = [name for name in record if digests.get(name) != record[name]]
    for name in record:
        print(f"{name:36s} {'same' if name not in failed else 'DIFFERENT'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
