"""Tests for skamortise.simulation: layouts, seeding, parallel backends, failures."""

import warnings

import joblib
import numpy as np
import pytest
from scipy import stats

from skamortise.models import GaussianReplicates
from skamortise.simulation import draw_prior, simulate, simulate_data, stack_rows

MODEL = GaussianReplicates()


def normal_prior(n, rng):
    return rng.normal(size=(n, 2))


def vector_simulator(theta, rng):
    return theta + rng.normal(size=theta.shape)


def fragile_simulator(theta, rng):
    """Raises for any batch holding a parameter row with theta_0 > 1.5."""
    if (theta[:, 0] > 1.5).any():
        raise RuntimeError("diverged")
    return theta + rng.normal(size=theta.shape)


def nan_simulator(theta, rng):
    """NaN data for parameter rows with theta_0 > 1.5."""
    out = theta + rng.normal(size=theta.shape)
    out[theta[:, 0] > 1.5] = np.nan
    return out


def assert_same(X1, X2):
    assert type(X1) is type(X2)
    assert len(X1) == len(X2)
    for a, b in zip(X1, X2, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- layouts


def test_vector_layout():
    X, y = simulate(normal_prior, vector_simulator, 25, random_state=0)
    assert X.shape == (25, 2) and y.shape == (25, 2)
    assert X.dtype == np.float64 and y.dtype == np.float64


def test_replicated_layout_passes_count():
    X, y = simulate(MODEL.prior, MODEL.simulator, 30, n_replicates=7, random_state=0)
    assert X.shape == (30, 7, 1) and y.shape == (30, 2)


def test_ragged_layout_draws_counts_from_sequence():
    X, y = simulate(
        MODEL.prior,
        MODEL.simulator,
        200,
        n_replicates=[2, 9],
        batch_size=50,
        random_state=0,
    )
    assert isinstance(X, list) and len(X) == len(y) == 200
    assert {len(x) for x in X} == {2, 9}


def test_pairs_are_aligned():
    # With almost no noise, each data set sits on its own parameter row.
    X, y = simulate(
        normal_prior,
        lambda t, rng: t + 1e-9 * rng.normal(size=t.shape),
        40,
        batch_size=7,
        random_state=3,
    )
    np.testing.assert_allclose(X, y, atol=1e-6)


def test_scipy_prior():
    prior = stats.multivariate_normal(mean=[0.0, 1.0])
    X, y = simulate(prior, vector_simulator, 11, batch_size=4, random_state=0)
    assert X.shape == y.shape == (11, 2)
    assert draw_prior(stats.norm(), 1, np.random.default_rng(0)).shape == (1, 1)


def test_simulator_kwargs_are_passed():
    def shifted(theta, rng, shift):
        return theta + shift

    X, y = simulate(
        normal_prior, shifted, 5, simulator_kwargs={"shift": 10.0}, random_state=0
    )
    np.testing.assert_allclose(X, y + 10.0)


def test_simulate_data_groups_rows_by_count():
    calls = []

    def recording(theta, rng, n_replicates):
        calls.append((len(theta), n_replicates))
        return np.zeros((len(theta), n_replicates, 1))

    rows = simulate_data(
        recording, np.zeros((4, 1)), np.random.default_rng(0), [3, 5, 3, 3]
    )
    assert [len(x) for x in rows] == [3, 5, 3, 3]
    assert sorted(calls) == [(1, 5), (3, 3)]
    assert stack_rows(rows) is rows


# ---------------------------------------------------------------- seeding


def test_same_seed_same_result_other_seed_differs():
    a = simulate(normal_prior, vector_simulator, 50, random_state=1)
    b = simulate(normal_prior, vector_simulator, 50, random_state=1)
    c = simulate(normal_prior, vector_simulator, 50, random_state=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[1], c[1])


# The loky case starts worker processes (each imports torch): several seconds. It is
# the suite's one test of a process backend; test_bootstrap.py runs dask.
@pytest.mark.parametrize(
    "backend, n_jobs",
    [
        pytest.param("loky", 2, marks=pytest.mark.slow),
        ("threading", 2),
        ("sequential", 1),
    ],
)
def test_reproducible_across_n_jobs_and_backends(backend, n_jobs):
    options = dict(n_replicates=[3, 6], batch_size=40, random_state=7)
    X_ref, y_ref = simulate(MODEL.prior, MODEL.simulator, 170, **options)
    with joblib.parallel_backend(backend):
        X, y = simulate(MODEL.prior, MODEL.simulator, 170, n_jobs=n_jobs, **options)
    assert_same(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_batch_size_defines_the_streams():
    # The chunk is the unit of seeding: a different chunking is a different draw.
    a, _ = simulate(normal_prior, vector_simulator, 20, batch_size=5, random_state=0)
    b, _ = simulate(normal_prior, vector_simulator, 20, batch_size=10, random_state=0)
    assert not np.array_equal(a, b)


# ---------------------------------------------------------------- failures


def _first_named_row(message):
    return [float(v) for v in message.split(": [", 1)[1].split("]")[0].split(",")]


def test_raising_simulator_names_parameters():
    with pytest.raises(
        RuntimeError,
        match=r"raised RuntimeError \(diverged\) for \d+ "
        r"parameter row\(s\): \[",
    ) as info:
        simulate(normal_prior, fragile_simulator, 200, batch_size=50, random_state=0)
    assert _first_named_row(str(info.value))[0] > 1.5


def test_nonfinite_output_raises_naming_parameters():
    with pytest.raises(
        ValueError, match=r"NaN or infinite values for \d+ parameter"
    ) as info:
        simulate(normal_prior, nan_simulator, 200, random_state=0)
    assert _first_named_row(str(info.value))[0] > 1.5


@pytest.mark.parametrize("simulator", [fragile_simulator, nan_simulator])
def test_drop_policy_warns_with_count_and_keeps_pairs_aligned(simulator):
    with pytest.warns(UserWarning, match=r"Dropped (\d+) of 300 simulations") as record:
        X, y = simulate(
            normal_prior, simulator, 300, batch_size=64, on_error="drop", random_state=0
        )
    n_dropped = int(str(record[0].message).split()[1])
    assert n_dropped > 0 and len(X) == len(y) == 300 - n_dropped
    assert (y[:, 0] <= 1.5).all() and np.isfinite(X).all()
    # Dropping is deterministic: the same pairs survive under parallel workers.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with joblib.parallel_backend("threading"):
            X2, y2 = simulate(
                normal_prior,
                simulator,
                300,
                batch_size=64,
                on_error="drop",
                n_jobs=2,
                random_state=0,
            )
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(X, X2)


def test_every_simulation_failing_raises():
    def broken(theta, rng):
        raise ValueError("nope")

    with pytest.raises(ValueError, match="Every one of the 10 simulations failed"):
        simulate(normal_prior, broken, 10, on_error="drop", random_state=0)


def test_batch_only_failure_is_explained():
    def one_at_a_time(theta, rng):
        if len(theta) > 1:
            raise ValueError("batch too large")
        return theta

    with pytest.raises(RuntimeError, match="no single row fails on its own"):
        simulate(normal_prior, one_at_a_time, 5, random_state=0)


def test_wrong_number_of_data_sets():
    with pytest.raises(ValueError, match="one data set per row"):
        simulate(normal_prior, lambda t, rng: t[:-1], 5, random_state=0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, "n must be a positive integer"),
        ({"n": 2.5}, ValueError, "n must be a positive integer"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"on_error": "ignore"}, ValueError, "on_error"),
        ({"n_replicates": 0}, ValueError, "at least 1"),
        ({"n_replicates": [1.5, 2]}, ValueError, "positive int"),
        ({"simulator": "not callable"}, TypeError, "simulator must be callable"),
        ({"prior": 3}, TypeError, "prior must be"),
    ],
)
def test_invalid_arguments(kwargs, error, match):
    args = {"prior": normal_prior, "simulator": vector_simulator, "n": 5, **kwargs}
    with pytest.raises(error, match=match):
        simulate(args.pop("prior"), args.pop("simulator"), args.pop("n"), **args)


def test_progress_bar(capsys):
    simulate(
        normal_prior, vector_simulator, 30, batch_size=10, verbose=1, random_state=0
    )
    assert "simulating" in capsys.readouterr().err


# ---------------------------------------------------------------- shards on disk


def _read_back(path):
    """Every pair of a shard directory, as lists of per-data-set arrays."""
    from skamortise.simulation.shards import open_shard, read_manifest

    rows, ys = [], []
    for shard in read_manifest(path):
        x, counts, y = open_shard(path, shard)
        for i in range(shard.n):
            rows.append(np.array(x[i] if counts is None else x[i, : counts[i]]))
        ys.append(np.array(y))
    return rows, np.concatenate(ys)


@pytest.mark.parametrize("n_replicates", [None, 4, [2, 9]])
def test_out_writes_the_pairs_simulate_returns(n_replicates, tmp_path):
    sim = vector_simulator if n_replicates is None else MODEL.simulator
    prior = normal_prior if n_replicates is None else MODEL.prior
    options = dict(n_replicates=n_replicates, batch_size=30, random_state=3)
    X, y = simulate(prior, sim, 100, **options)
    path = simulate(prior, sim, 100, out=tmp_path / "pairs", **options)
    rows, y_disk = _read_back(path)
    np.testing.assert_array_equal(y_disk, y)
    assert_same(rows, list(X))


def test_out_drops_failed_pairs_like_memory(tmp_path):
    options = dict(batch_size=64, on_error="drop", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y = simulate(normal_prior, nan_simulator, 300, **options)
        path = simulate(normal_prior, nan_simulator, 300, out=tmp_path / "d", **options)
    rows, y_disk = _read_back(path)
    np.testing.assert_array_equal(y_disk, y)
    assert_same(rows, list(X))


def test_out_refuses_a_directory_holding_files(tmp_path):
    (tmp_path / "earlier.npy").write_bytes(b"")
    with pytest.raises(ValueError, match="not empty"):
        simulate(normal_prior, vector_simulator, 5, out=tmp_path)


def test_failed_simulation_leaves_no_manifest(tmp_path):
    from skamortise.sources import ShardSource

    with pytest.raises(ValueError, match="NaN or infinite"):
        simulate(normal_prior, nan_simulator, 300, batch_size=10, out=tmp_path / "d")
    with pytest.raises(ValueError, match="holds no manifest.json"):
        ShardSource(tmp_path / "d")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda m: m.update(version=2), "format version 2"),
        (lambda m: m.update(format="other"), "not a skamortise-shards manifest"),
        (lambda m: m["shards"][0].update(x="../../etc/x-000000.npy"), "unexpected"),
        (lambda m: m["shards"][0].update(n=7), "holds 10 rows but the manifest says 7"),
        (lambda m: m["shards"][0].update(n=True), "positive int"),
        (lambda m: m["shards"][0].pop("counts"), "malformed"),
    ],
)
def test_manifest_is_checked_before_use(change, match, tmp_path):
    import json

    from skamortise import NeuralBayesEstimator
    from skamortise.sources import ShardSource

    path = simulate(normal_prior, vector_simulator, 20, batch_size=10, out=tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=match):
        NeuralBayesEstimator(max_epochs=1).fit_source(ShardSource(path))
