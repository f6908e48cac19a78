"""Write the format-version-1 files that tests/test_io.py loads.

Run with a skamortise that writes format version 1 (before the data's
standardisation moved into the network):
``PYTHONPATH=<that checkout> python tests/data/format_v1/make.py``.
"""

from pathlib import Path

import numpy as np

from skamortise import NeuralBayesEstimator, NeuralEnsemble, save
from skamortise.nn import CNN

HERE = Path(__file__).parent
TINY = dict(hidden_layer_sizes=(4,), max_epochs=2, random_state=0)


def main():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(60, 2))
    X = 50.0 + theta[:, None, :] + rng.normal(size=(60, 5, 2))
    grids = 3.0 + theta[:, :1, None] + rng.normal(size=(60, 6, 6))
    estimators = {
        "replicated": (NeuralBayesEstimator(**TINY), X),
        "grid": (
            NeuralBayesEstimator(
                summary_network=CNN,
                summary_network_kwargs={"event_shape": (6, 6)},
                **TINY,
            ),
            grids,
        ),
        "ensemble": (
            NeuralEnsemble(NeuralBayesEstimator(**TINY), 2, random_state=0),
            X,
        ),
    }
    expected = {}
    for name, (est, data) in estimators.items():
        est.fit(data, theta)
        save(est, HERE / f"{name}.skm")
        expected[f"{name}_X"] = data[:4]
        expected[f"{name}_predict"] = est.predict(data[:4])
        if hasattr(est, "x_loc_"):
            expected[f"{name}_x_loc"] = est.x_loc_
            expected[f"{name}_x_scale"] = est.x_scale_
    np.savez(HERE / "expected.npz", **expected)


if __name__ == "__main__":
    main()
