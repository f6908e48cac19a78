"""Tests for skamortise.bootstrap."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import ROUNDING
from scipy import stats
from sklearn.exceptions import NotFittedError

from skamortise import NeuralBayesEstimator
from skamortise.bootstrap import BootstrapResult, bootstrap
from skamortise.models import GaussianReplicates
from skamortise.simulation import simulate

MODEL = GaussianReplicates()


class MeanSD:
    """Sample mean and standard deviation of replicated (or ragged) data."""

    def predict(self, X):
        if isinstance(X, list):
            return np.array([[x[:, 0].mean(), x[:, 0].std(ddof=1)] for x in X])
        X = np.asarray(X)[..., 0]
        return np.column_stack([X.mean(axis=1), X.std(axis=1, ddof=1)])


class Recorder(MeanSD):
    """MeanSD that remembers the replicate counts it was asked about."""

    def __init__(self):
        self.counts = []

    def predict(self, X):
        self.counts.extend(len(x) for x in X)
        return super().predict(X)


class Exact:
    """The closed-form posterior mean, the Bayes estimator under squared error."""

    def predict(self, X):
        return MODEL.posterior_mean(X)


def observed(n=4, m=12, seed=0):
    rng = np.random.default_rng(seed)
    theta = MODEL.prior(n, rng)
    return MODEL.simulator(theta, rng, n_replicates=m), theta


def vector_simulator(theta, rng):
    return theta + rng.normal(size=theta.shape)


class Identity:
    def predict(self, X):
        return np.asarray(X, dtype=np.float64)


# ---------------------------------------------------------------- results


@pytest.mark.parametrize("method", ["parametric", "nonparametric"])
def test_result_shapes(method):
    X, _ = observed(n=3, m=10)
    result = bootstrap(
        MeanSD(), X, method, 50, simulator=MODEL.simulator, random_state=0
    )
    assert isinstance(result, BootstrapResult)
    assert result.samples.shape == (3, 50, 2)
    assert (result.n_datasets, result.n_boot, result.n_parameters) == (3, 50, 2)
    np.testing.assert_allclose(result.estimate, MeanSD().predict(X))
    assert result.standard_error.shape == result.bias.shape == (3, 2)
    for kind in ("percentile", "basic", "bc"):
        bounds = result.interval(alpha=0.1, kind=kind)
        assert bounds.shape == (3, 2, 2)
        assert (bounds[..., 0] <= bounds[..., 1]).all()
    frame = result.to_frame()
    assert len(frame) == 6 and list(frame["dataset"]) == [0, 0, 1, 1, 2, 2]
    assert list(result.samples_frame().columns) == [
        "dataset",
        "boot",
        "parameter",
        "value",
    ]
    assert len(result.samples_frame()) == 3 * 50 * 2


def test_interval_kinds_by_hand():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(2, 101, 1)) + 1.0
    estimate = np.array([[0.5], [1.0]])
    result = BootstrapResult(samples, estimate, ["a"], "parametric")
    lo, hi = np.quantile(samples, [0.05, 0.95], axis=1)
    np.testing.assert_allclose(result.interval(0.1), np.stack([lo, hi], axis=-1))
    np.testing.assert_allclose(
        result.interval(0.1, "basic"),
        np.stack([2 * estimate - hi, 2 * estimate - lo], -1),
    )
    # With the estimate at the bootstrap median, z0 = 0 and bc is the percentile.
    centred = BootstrapResult(samples, np.median(samples, axis=1), ["a"], "parametric")
    np.testing.assert_allclose(centred.interval(0.1, "bc"), centred.interval(0.1))
    # Samples above the estimate (a downward-biased estimator) move bc's levels down.
    assert (result.interval(0.1, "bc")[0] < result.interval(0.1)[0]).all()


def test_bias_and_standard_error_by_hand():
    rng = np.random.default_rng(2)
    samples = rng.normal(size=(3, 40, 2)) * [1.0, 5.0] + [0.0, 100.0]
    estimate = rng.normal(size=(3, 2)) + [0.0, 100.0]
    result = BootstrapResult(samples, estimate, ["a", "b"], "parametric")
    np.testing.assert_allclose(result.bias, samples.mean(axis=1) - estimate)
    np.testing.assert_allclose(result.standard_error, samples.std(axis=1, ddof=1))
    frame = result.to_frame()
    np.testing.assert_allclose(frame["bias"], result.bias.ravel())


def test_bias_of_a_shrinkage_estimator_points_towards_zero():
    # Shrunk halves the sample mean: resampled at its estimate m / 2, it returns
    # m / 4 on average, so the bootstrap bias of mu is -estimate / 2.
    X, _ = observed(n=4, m=20, seed=3)
    X = X + np.array([-30.0, -10.0, 10.0, 30.0])[:, None, None]
    result = bootstrap(
        Shrunk(), X, "parametric", 400, simulator=MODEL.simulator, random_state=0
    )
    # four Monte Carlo standard errors of the mean of 400 bootstrap estimates
    tolerance = 4 * result.standard_error[:, 0] / np.sqrt(400)
    expected = -result.estimate[:, 0] / 2
    assert (np.abs(result.bias[:, 0] - expected) < tolerance).all()
    assert (np.abs(expected) > 20 * tolerance).all()  # a sign error cannot pass


def test_interval_rejects_bad_arguments():
    result = BootstrapResult(np.zeros((1, 5, 1)), np.zeros((1, 1)), ["a"], "parametric")
    with pytest.raises(ValueError, match="alpha"):
        result.interval(alpha=1.5)
    with pytest.raises(ValueError, match="kind"):
        result.interval(kind="studentized")


# A 90% basic interval of the mean, its spread estimated from m = 20 replicates,
# covers P(|t_19| < z_0.95) = 0.884 of the time; over 300 data sets three binomial
# standard errors are 0.056.
T_COVERAGE = 2 * stats.t.cdf(stats.norm.ppf(0.95), df=19) - 1


def assert_covers_like_t(covered):
    tolerance = 3 * np.sqrt(T_COVERAGE * (1 - T_COVERAGE) / len(covered))
    assert abs(covered.mean() - T_COVERAGE) < tolerance, covered.mean()


def test_parametric_coverage_of_an_unbiased_estimator():
    X, theta = observed(n=300, m=20, seed=1)
    result = bootstrap(
        MeanSD(), X, "parametric", 200, simulator=MODEL.simulator, random_state=0
    )
    bounds = result.interval(alpha=0.1, kind="basic")[:, 0]
    assert_covers_like_t((bounds[:, 0] <= theta[:, 0]) & (theta[:, 0] <= bounds[:, 1]))


class Shrunk(MeanSD):
    """Half the sample mean: a linear shrinkage of mu towards 0."""

    def predict(self, X):
        out = super().predict(X)
        out[:, 0] *= 0.5
        return out


def test_jacobian_of_a_linear_estimator_is_exact():
    # Common random numbers: shifting mu shifts every bootstrap mean alike.
    X, _ = observed(n=3, m=15)
    result = bootstrap(
        Shrunk(),
        X,
        "parametric",
        50,
        simulator=MODEL.simulator,
        jacobian=True,
        random_state=0,
    )
    assert result.jacobian.shape == (3, 2, 2)
    np.testing.assert_allclose(result.jacobian[:, 0, 0], 0.5, rtol=1e-9)
    np.testing.assert_allclose(result.jacobian[:, 1, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(result.jacobian[:, 1, 1], 1.0, atol=0.1)


def test_rescaled_interval_undoes_shrinkage():
    X, theta = observed(n=300, m=20, seed=1)
    result = bootstrap(
        Shrunk(),
        X,
        "parametric",
        200,
        simulator=MODEL.simulator,
        jacobian=True,
        random_state=0,
    )

    def mu_covered(kind):
        bounds = result.interval(alpha=0.1, kind=kind)[:, 0]
        return (bounds[:, 0] <= theta[:, 0]) & (theta[:, 0] <= bounds[:, 1])

    assert mu_covered("basic").mean() < 0.7  # 0.39: far below the 0.884 expected
    assert_covers_like_t(mu_covered("rescaled"))


# ---------------------------------------------------------------- seeding


def test_seeded_result_is_reproducible():
    X, _ = observed()
    a = bootstrap(MeanSD(), X, "nonparametric", 30, random_state=5)
    b = bootstrap(MeanSD(), X, "nonparametric", 30, random_state=5)
    c = bootstrap(MeanSD(), X, "nonparametric", 30, random_state=6)
    np.testing.assert_array_equal(a.samples, b.samples)  # the same computation twice
    assert not np.array_equal(a.samples, c.samples)


@pytest.mark.parametrize("method", ["parametric", "nonparametric"])
# Process backends are tested once, in test_simulation.py (loky) and below (dask).
@pytest.mark.parametrize(
    "backend, n_jobs, batch_size",
    [
        ("threading", 2, 50),
        ("sequential", 1, 7),
    ],
)
def test_reproducible_across_n_jobs_backends_and_batch_size(
    method, backend, n_jobs, batch_size
):
    X, _ = observed(n=5, m=8)
    options = dict(simulator=MODEL.simulator, random_state=3)
    reference = bootstrap(Exact(), X, method, 230, **options)
    with joblib.parallel_backend(backend):
        result = bootstrap(
            Exact(), X, method, 230, n_jobs=n_jobs, batch_size=batch_size, **options
        )
    # The same simulated data sets, estimated in other batches: equal to rounding.
    np.testing.assert_allclose(result.samples, reference.samples, **ROUNDING)


def test_draws_of_a_data_set_do_not_depend_on_the_others():
    X, _ = observed(n=5)
    full = bootstrap(
        MeanSD(), X, "parametric", 150, simulator=MODEL.simulator, random_state=0
    )
    head = bootstrap(
        MeanSD(), X[:2], "parametric", 150, simulator=MODEL.simulator, random_state=0
    )
    np.testing.assert_allclose(head.samples, full.samples[:2], **ROUNDING)


def test_dask_cluster_matches_local():
    distributed = pytest.importorskip("distributed")
    X, _ = observed(n=3)
    local = {
        m: bootstrap(
            Exact(),
            X,
            m,
            120,
            simulator=MODEL.simulator,
            batch_size=100,
            random_state=2,
        )
        for m in ("parametric", "nonparametric")
    }
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        remote = {
            m: bootstrap(
                Exact(),
                X,
                m,
                120,
                simulator=MODEL.simulator,
                batch_size=100,
                random_state=2,
            )
            for m in ("parametric", "nonparametric")
        }
    for m in local:
        # The same batches on the same machine: the same computation.
        np.testing.assert_array_equal(remote[m].samples, local[m].samples)


# ---------------------------------------------------------------- resampling


def test_nonparametric_keeps_replicate_count_and_values():
    X, _ = observed(n=3, m=9)
    estimator = Recorder()
    bootstrap(estimator, X, "nonparametric", 40, random_state=0)
    assert set(estimator.counts) == {9}


def test_nonparametric_ragged_keeps_each_count():
    rng = np.random.default_rng(0)
    X = [np.arange(m, dtype=float)[:, None] + 100 * i for i, m in enumerate([3, 11, 6])]
    seen = []

    class Check:
        def predict(self, data):
            for x in data:
                seen.append(len(x))
                owner = int(x[0, 0] // 100)
                # Every resampled replicate comes from its own data set.
                assert np.isin(x, X[owner]).all()
                assert len(x) == len(X[owner])
            return np.array([x.mean(axis=0) for x in data])

    result = bootstrap(Check(), X, "nonparametric", 30, random_state=rng.integers(9))
    assert sorted(set(seen)) == [3, 6, 11]
    assert result.samples.shape == (3, 30, 1)


def test_block_bootstrap_resamples_runs_of_consecutive_replicates():
    m, length = 20, 4
    X = np.arange(m, dtype=float)[None, :, None]
    result_data = []

    class Keep:
        def predict(self, data):
            data = np.asarray(data)
            result_data.append(data)
            return data.mean(axis=1)

    bootstrap(Keep(), X, "nonparametric", 50, block_length=length, random_state=0)
    resampled = np.concatenate(result_data[1:])[..., 0]
    assert resampled.shape == (50, m)
    steps = np.diff(resampled.reshape(50, m // length, length), axis=-1)
    np.testing.assert_array_equal(steps, 1.0)


def test_parametric_passes_observed_counts_per_data_set():
    rng = np.random.default_rng(0)
    theta = MODEL.prior(3, rng)
    X = [
        MODEL.simulator(t[None], rng, n_replicates=m)[0]
        for t, m in zip(theta, [4, 15, 7], strict=True)
    ]
    estimator = Recorder()
    result = bootstrap(
        estimator, X, "parametric", 60, simulator=MODEL.simulator, random_state=0
    )
    assert sorted(set(estimator.counts)) == [4, 7, 15]
    assert estimator.counts[3:].count(15) == 60
    assert result.samples.shape == (3, 60, 2)


def test_parametric_vector_data_passes_no_replicate_keyword():
    X = np.array([[0.0, 1.0], [3.0, -2.0]])
    result = bootstrap(
        Identity(), X, "parametric", 200, simulator=vector_simulator, random_state=0
    )
    np.testing.assert_allclose(result.samples.mean(axis=1), X, atol=0.25)
    np.testing.assert_allclose(result.standard_error, 1.0, atol=0.15)


def test_simulator_kwargs_and_replicate_override():
    def shifted(theta, rng, n_replicates, shift):
        return MODEL.simulator(theta, rng, n_replicates) + shift

    X, _ = observed(n=2, m=5)
    estimator = Recorder()
    result = bootstrap(
        estimator,
        X,
        "parametric",
        20,
        simulator=shifted,
        simulator_kwargs={"shift": 100.0},
        replicate_counts=13,
        random_state=0,
    )
    assert set(estimator.counts[2:]) == {13}
    assert (result.samples[..., 0] > 50).all()


# ---------------------------------------------------------------- estimators


def test_neural_estimator_end_to_end_with_names_and_1d_output():
    X, y = simulate(MODEL.prior, MODEL.simulator, 400, n_replicates=10, random_state=0)
    names = pd.DataFrame(y, columns=["mu", "sigma"])
    small = dict(hidden_layer_sizes=(16,), max_epochs=5, random_state=0)
    est = NeuralBayesEstimator(**small).fit(X, names)
    result = bootstrap(
        est, X[:3], "parametric", 40, simulator=MODEL.simulator, random_state=0
    )
    assert result.parameter_names == ["mu", "sigma"]
    assert result.to_frame()["parameter"].tolist() == ["mu", "sigma"] * 3
    # Under pandas output predict returns a DataFrame; the result is unchanged.
    est.set_output(transform="pandas")
    again = bootstrap(
        est, X[:3], "parametric", 40, simulator=MODEL.simulator, random_state=0
    )
    np.testing.assert_array_equal(again.samples, result.samples)  # same computation
    # A network fitted on 1-D y predicts 1-D: samples keep a parameter axis.
    mu_only = NeuralBayesEstimator(**small).fit(X, y[:, 0])
    result = bootstrap(mu_only, X[:3], "nonparametric", 40, random_state=0)
    assert result.samples.shape == (3, 40, 1)


def summaries(theta, rng):
    """Sample mean and log standard deviation of 20 replicates: 2-D data."""
    x = MODEL.simulator(theta, rng, n_replicates=20)[..., 0]
    return np.column_stack([x.mean(axis=1), np.log(x.std(axis=1))])


def test_dataframe_data_keeps_feature_names():
    X, y = simulate(MODEL.prior, summaries, 300, random_state=0)
    X = pd.DataFrame(X, columns=["mean", "log_sd"])
    est = NeuralBayesEstimator(
        hidden_layer_sizes=(16,), max_epochs=5, random_state=0
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = bootstrap(
            est, X.iloc[:4], "parametric", 30, simulator=summaries, random_state=0
        )
    assert result.samples.shape == (4, 30, 2)


# ---------------------------------------------------------------- errors


def test_parametric_needs_a_simulator():
    X, _ = observed()
    with pytest.raises(ValueError, match="pass simulator="):
        bootstrap(MeanSD(), X, "parametric")


@pytest.mark.parametrize("n_boot", [0, 1, -5, 2.5, "100", None])
def test_bad_n_boot(n_boot):
    X, _ = observed()
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap(MeanSD(), X, "nonparametric", n_boot)


def test_unfitted_estimator():
    X, _ = observed()
    with pytest.raises(NotFittedError):
        bootstrap(NeuralBayesEstimator(), X, "parametric", simulator=MODEL.simulator)


def test_estimator_without_predict():
    with pytest.raises(ValueError, match="estimator"):
        bootstrap(object(), observed()[0], "nonparametric")


def test_bad_method():
    with pytest.raises(ValueError, match="method"):
        bootstrap(MeanSD(), observed()[0], "jackknife")


def test_nonparametric_needs_replicates():
    with pytest.raises(ValueError, match="one vector per data set"):
        bootstrap(Identity(), np.zeros((3, 2)), "nonparametric")


def test_block_length_checks():
    X = [np.zeros((5, 1)), np.zeros((3, 1))]
    with pytest.raises(ValueError, match="exceeds the replicate count of data set 1"):
        bootstrap(MeanSD(), X, "nonparametric", block_length=4)
    with pytest.raises(ValueError, match="nonparametric bootstrap only"):
        bootstrap(MeanSD(), X, "parametric", simulator=MODEL.simulator, block_length=2)


def test_rescaled_needs_a_jacobian():
    X, _ = observed()
    result = bootstrap(
        MeanSD(), X, "parametric", 10, simulator=MODEL.simulator, random_state=0
    )
    with pytest.raises(ValueError, match="jacobian=True"):
        result.interval(kind="rescaled")
    with pytest.raises(ValueError, match="needs the parametric bootstrap"):
        bootstrap(MeanSD(), X, "nonparametric", 10, jacobian=True)


def test_simulator_failing_at_the_estimate():
    def nan_simulator(theta, rng, n_replicates):
        return np.full((len(theta), n_replicates, 1), np.nan)

    with pytest.raises(ValueError, match="at the estimate"):
        bootstrap(MeanSD(), observed()[0], "parametric", 10, simulator=nan_simulator)


def test_progress_bar(capsys):
    bootstrap(MeanSD(), observed()[0], "nonparametric", 20, verbose=1, random_state=0)
    assert "nonparametric bootstrap" in capsys.readouterr().err
