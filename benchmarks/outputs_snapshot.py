"""Snapshot of bounded estimators' outputs, to compare two versions of the package.

Fits small bounded posterior (spline, mixture) and quantile estimators with fixed
seeds and saves their outputs. Run it once per checkout (``PYTHONPATH=<checkout>``)
and compare the files with ``--compare``: a refactoring that leaves training and the
parameter map unchanged gives identical or rounding-level (float64) differences.

Usage::

    PYTHONPATH=/path/a python benchmarks/outputs_snapshot.py /tmp/a.npz
    PYTHONPATH=/path/b python benchmarks/outputs_snapshot.py /tmp/b.npz
    python benchmarks/outputs_snapshot.py --compare /tmp/a.npz /tmp/b.npz
"""

import argparse

import numpy as np

BOUNDS = [(-1, 1), (0, None)]
SMALL = dict(hidden_layer_sizes=(16,), max_epochs=10, random_state=0)


def snapshot(path: str) -> None:
    from skamortise import NeuralPosteriorEstimator, NeuralQuantileEstimator

    rng = np.random.default_rng(0)
    theta = np.column_stack([rng.uniform(-1, 1, 600), rng.gamma(2.0, size=600)])
    X = theta + 0.3 * rng.normal(size=theta.shape)
    out = {}
    for family in ["spline", "mixture"]:
        est = NeuralPosteriorEstimator(family, bounds=BOUNDS, **SMALL).fit(X, theta)
        out[f"{family} predict"] = est.predict(X[:20])
        out[f"{family} log_prob"] = est.log_prob(X[:20], theta[:20])
        out[f"{family} quantiles"] = est.predict_quantiles(X[:20], [0.1, 0.5, 0.9])
        out[f"{family} sample"] = est.sample(X[:5], 50, random_state=1)
    quantile = NeuralQuantileEstimator(bounds=BOUNDS, **SMALL).fit(X, theta)
    out["quantile predict_quantiles"] = quantile.predict_quantiles(X[:20])
    np.savez(path, **out)


def compare(a_path: str, b_path: str) -> None:
    a, b = np.load(a_path), np.load(b_path)
    for key in a:
        if np.array_equal(a[key], b[key]):
            print(f"{key}: identical")
        else:
            rel = np.abs(a[key] - b[key]) / np.maximum(np.abs(a[key]), 1e-300)
            print(f"{key}: max relative difference {rel.max():.2e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    if args.compare:
        compare(*args.paths)
    else:
        snapshot(args.paths[0])
