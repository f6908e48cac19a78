"""Values of Assessment summaries against hand computations."""

import numpy as np
import pytest

from skamortise.diagnostics import assess


class Cubic:
    """Estimates whose errors vary in size, so RMSE and mean absolute error differ."""

    def predict(self, X):
        means = np.array([x.mean() for x in X])
        return np.column_stack([means, 50.0 + 10.0 * means**3])


@pytest.fixture(scope="module")
def assessment():
    rng = np.random.default_rng(0)
    counts = np.repeat([3, 8], 60)
    X = [rng.normal(size=(m, 1)) for m in counts]
    theta = rng.normal(size=(120, 2)) * [1.0, 10.0] + [0.0, 50.0]
    error = Cubic().predict(X) - theta
    return assess(Cubic(), X, theta, parameter_names=["a", "b"]), error, counts


def test_rmse_is_the_root_mean_squared_error_of_each_parameter(assessment):
    result, error, _ = assessment
    expected = np.sqrt((error**2).mean(axis=0))
    # The data tell RMSE from the mean absolute error by far more than the tolerance.
    assert (expected > 1.05 * np.abs(error).mean(axis=0)).all()
    table = result.rmse()
    assert table["parameter"].tolist() == ["a", "b"]
    np.testing.assert_allclose(table["rmse"], expected, rtol=1e-12)


def test_rmse_by_replicate_count(assessment):
    result, error, counts = assessment
    table = result.rmse(by_replicates=True)
    assert table["n_replicates"].tolist() == [3, 8, 3, 8]
    expected = [
        np.sqrt((error[counts == m, j] ** 2).mean()) for j in (0, 1) for m in (3, 8)
    ]
    np.testing.assert_allclose(table["rmse"], expected, rtol=1e-12)
