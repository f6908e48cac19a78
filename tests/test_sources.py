"""Training-data sources: arrays in memory and on disk, shard directories, simulators.

The central guarantees: every family trains from every source through one path;
pairs streamed from disk train exactly as the same pairs in memory when the
standardisation pass fits in one chunk (and to its rounding otherwise); the ratio
estimator learns its proposal from the source.
"""

import hashlib
import os

import numpy as np
import pytest
from scipy import stats

from skamortise import (
    NeuralBayesEstimator,
    NeuralModelComparison,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
    simulate,
    simulate_models,
)
from skamortise._data import as_data
from skamortise._filerows import FileRows
from skamortise._scaling import RunningMoments, data_moments, parameter_moments
from skamortise._tables import ArrayStore, StreamedTable
from skamortise.models import GaussianReplicates
from skamortise.simulation import ShardWriter
from skamortise.sources import (
    ArraySource,
    ModelSimulatorSource,
    ShardSource,
    SimulatorSource,
    TrainingSource,
)

MODEL = GaussianReplicates()
TINY = dict(hidden_layer_sizes=(8,), max_epochs=3, n_iter_no_change=50)


def weights(est) -> str:
    """A digest of the exact bytes of the fitted weights and history."""
    h = hashlib.sha256()
    for tensor in est.network_.state_dict().values():
        h.update(tensor.numpy().tobytes())
    h.update(repr(est.history_["train_loss"]).encode())
    h.update(repr(est.history_["valid_loss"]).encode())
    return h.hexdigest()


def uniform_mean(theta, rng):
    return theta + 0.5 * rng.normal(size=theta.shape)


def narrow(theta, rng, n_replicates=6):
    return theta[:, None, :] + rng.normal(size=(len(theta), n_replicates, 1))


def wide(theta, rng, n_replicates=6):
    return theta[:, None, :] + 3 * rng.normal(size=(len(theta), n_replicates, 1))


def normal_prior(n, rng):
    return rng.normal(size=(n, 1))


MODELS = {"narrow": (normal_prior, narrow), "wide": (normal_prior, wide)}

# family -> (estimator, simulate-to-memory, simulator source)
FAMILIES = {
    "point": (
        lambda: NeuralBayesEstimator(random_state=0, **TINY),
        lambda **kw: simulate(
            MODEL.prior, MODEL.simulator, 240, n_replicates=[2, 9], **kw
        ),
        lambda: SimulatorSource(MODEL.prior, MODEL.simulator, 120, n_replicates=4),
    ),
    "quantile": (
        lambda: NeuralQuantileEstimator(random_state=1, **TINY),
        lambda **kw: simulate(MODEL.prior, MODEL.simulator, 240, n_replicates=5, **kw),
        lambda: SimulatorSource(
            MODEL.prior, MODEL.simulator, 120, n_replicates=4, refresh="data"
        ),
    ),
    "posterior": (
        lambda: NeuralPosteriorEstimator(
            "gaussian", bounds=MODEL.bounds, random_state=2, **TINY
        ),
        lambda **kw: simulate(
            MODEL.prior, MODEL.simulator, 240, n_replicates=[2, 9], **kw
        ),
        lambda: SimulatorSource(MODEL.prior, MODEL.simulator, 120, n_replicates=[3, 6]),
    ),
    "ratio": (
        lambda: NeuralRatioEstimator(random_state=3, **TINY),
        lambda **kw: simulate(stats.uniform(-2, 4), uniform_mean, 240, **kw),
        lambda: SimulatorSource(stats.uniform(-2, 4), uniform_mean, 120),
    ),
    "model_comparison": (
        lambda: NeuralModelComparison(random_state=4, **TINY),
        lambda **kw: simulate_models(MODELS, 240, random_state=kw["random_state"]),
        lambda: ModelSimulatorSource(MODELS, 120),
    ),
}


def write_shards(path, X, y, size=70):
    """Pairs in memory written as shards of ``size`` pairs."""
    with ShardWriter(path) as writer:
        for start in range(0, len(y), size):
            writer.write(X[start : start + size], y[start : start + size])
    return path


# -- one path, every family, every source -----------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_shards_train_exactly_as_the_same_pairs_in_memory(family, tmp_path):
    make, pairs, _ = FAMILIES[family]
    X, y = pairs(random_state=0)
    directory = write_shards(tmp_path / "pairs", X, y)
    in_memory = make().fit(X, y)
    streamed = make().fit_source(ShardSource(directory))
    assert weights(streamed) == weights(in_memory)
    for name in ("x_loc_", "x_scale_", "y_loc_", "y_scale_", "support_", "classes_"):
        if hasattr(in_memory, name):
            np.testing.assert_array_equal(
                getattr(streamed, name), getattr(in_memory, name)
            )


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_trains_on_the_fly_epochwise_and_batchwise(family):
    make, _, source = FAMILIES[family]
    epochwise = make().set_params(batch_size=40).fit_source(source())
    batchwise_source = source()
    batchwise_source.refresh_every = "batch"
    batchwise = make().set_params(batch_size=40).fit_source(batchwise_source)
    assert epochwise.n_epochs_ == batchwise.n_epochs_ == 3
    # The first epoch trains on the same initial set; later ones on other pairs.
    h1, h2 = epochwise.history_["train_loss"], batchwise.history_["train_loss"]
    assert h1[0] == h2[0] and h1[1:] != h2[1:]


def test_simulate_to_disk_then_train_matches_simulate_then_fit(tmp_path):
    options = dict(n_replicates=[2, 9], batch_size=60, random_state=5)
    path = simulate(MODEL.prior, MODEL.simulator, 200, out=tmp_path / "d", **options)
    X, y = simulate(MODEL.prior, MODEL.simulator, 200, **options)
    est = NeuralBayesEstimator(random_state=0, **TINY)
    assert weights(est.fit_source(ShardSource(path))) == weights(est.fit(X, y))


# -- memory-mapped arrays -------------------------------------------------------------
@pytest.fixture
def mapped(tmp_path):
    X, y = simulate(MODEL.prior, MODEL.simulator, 300, n_replicates=6, random_state=0)
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    np.save(tmp_path / "y.npy", y)
    return (
        np.load(tmp_path / "X.npy", mmap_mode="r"),
        np.load(tmp_path / "y.npy", mmap_mode="r"),
        tmp_path,
    )


def test_small_memory_map_trains_as_the_array_in_memory(mapped):
    X, y, _ = mapped
    est = NeuralQuantileEstimator(random_state=0, **TINY)
    assert weights(est.fit(X, y)) == weights(est.fit(np.array(X), np.array(y)))


def test_streamed_memory_map_trains_as_shards_read_in_the_same_chunks(mapped):
    # Both stream, standardise over the same 40-pair chunks and read the same
    # minibatches: the same training, to the bit.
    X, y, path = mapped
    write_shards(path / "shards", np.asarray(X, dtype=np.float64), y, size=55)
    est = NeuralBayesEstimator(random_state=0, **TINY)
    from_map = weights(est.fit_source(ArraySource(X, y, chunk_size=40)))
    from_shards = weights(est.fit_source(ShardSource(path / "shards", chunk_size=40)))
    assert from_map == from_shards


def test_streamed_memory_map_standardises_as_in_memory_to_rounding(mapped):
    X, y, _ = mapped
    streamed = NeuralPosteriorEstimator(
        "gaussian", bounds=MODEL.bounds, random_state=0, **TINY
    )
    streamed.fit_source(ArraySource(X, y, chunk_size=40))
    in_memory = NeuralPosteriorEstimator(
        "gaussian", bounds=MODEL.bounds, random_state=0, **TINY
    )
    in_memory.fit(np.array(X), np.array(y))
    for name in ("x_loc_", "x_scale_", "y_loc_", "y_scale_"):
        np.testing.assert_allclose(
            getattr(streamed, name), getattr(in_memory, name), rtol=1e-12, atol=1e-15
        )


def test_streamed_nan_names_the_data_set(tmp_path):
    X = np.random.default_rng(0).normal(size=(100, 3, 2))
    X[57, 1, 0] = np.nan
    np.save(tmp_path / "X.npy", X)
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    est = NeuralBayesEstimator(**TINY)
    with pytest.raises(ValueError, match=r"NaN or infinity \(data set 57\)"):
        est.fit_source(ArraySource(X, np.zeros((100, 1)), chunk_size=30))


def test_streamed_parameters_outside_bounds_are_refused(mapped):
    X, y, _ = mapped
    y = np.array(y)
    y[250, 1] = -1.0  # sigma must be positive
    est = NeuralPosteriorEstimator("gaussian", bounds=MODEL.bounds, **TINY)
    with pytest.raises(ValueError, match="outside bounds for parameter 1"):
        est.fit_source(ArraySource(X, y, chunk_size=40))


# -- moments and pages ----------------------------------------------------------------
@pytest.mark.parametrize("layout", ["vector", "replicated", "ragged", "grid"])
def test_running_moments_match_the_whole_set(layout):
    rng = np.random.default_rng(0)
    if layout == "ragged":
        X = [rng.normal(3.0, 2.0, size=(m, 2)) for m in rng.integers(1, 9, 97)]
        data = as_data(X)
    else:
        shape = {"vector": (97, 3), "replicated": (97, 5, 3), "grid": (97, 4, 4)}
        data = as_data(
            rng.normal(3.0, 2.0, size=shape[layout]), event_ndim=1 + (layout == "grid")
        )
    y = rng.normal(-1.0, 5.0, size=(97, 2))
    running = (RunningMoments(), RunningMoments())
    for start in range(0, 97, 20):
        running[0].add_data(data.take(slice(start, start + 20)))
        running[1].add_parameters(y[start : start + 20])
    for got, want in zip(
        (*running[0].result(), *running[1].result()),
        (*data_moments(data), *parameter_moments(y)),
        strict=True,
    ):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def _resident_file_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    raise LookupError


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux only")
def test_streamed_reads_leave_no_file_pages_resident(tmp_path):
    np.save(tmp_path / "big.npy", np.ones((512, 2**13)))  # 32 MiB
    X = np.load(tmp_path / "big.npy", mmap_mode="r")
    store = ArrayStore(X[8:], np.zeros(504))  # a view: its place in the file is found
    before = _resident_file_kib()
    for start in range(0, 504, 50):
        values, _, _ = store.read(np.arange(start, min(start + 50, 504)))
        assert values.sum() == len(values) * 2**13
    streamed = _resident_file_kib()
    assert float(X[:, ::512].sum()) == 512 * 16  # indexing the map maps its pages
    mapped = _resident_file_kib()
    assert streamed - before < 2 * 1024
    assert mapped - streamed > 24 * 1024


def test_file_rows_read_what_the_map_holds(tmp_path):
    values = np.arange(40 * 3 * 2, dtype=np.float32).reshape(40, 3, 2)
    np.save(tmp_path / "a.npy", values)
    with open(tmp_path / "raw.bin", "wb") as handle:  # an offset off any boundary
        handle.write(b"x" * 100 + values.astype(">f8").tobytes())
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    raw = np.memmap(tmp_path / "raw.bin", ">f8", "r", offset=100, shape=(40, 3, 2))
    rows = np.array([0, 1, 2, 7, 8, 12])
    for array in (mapped, mapped[5:], mapped[3:40:3], raw, raw[11:]):
        reader = FileRows.of(array)
        assert reader is not None
        np.testing.assert_array_equal(reader.read(rows), np.asarray(array)[rows])
    assert FileRows.of(mapped[::-1]) is None  # rows run backwards: index instead
    assert FileRows.of(np.load(tmp_path / "a.npy", mmap_mode="c")) is None
    assert FileRows.of(values) is None


def test_streamed_reads_keep_rows_in_the_order_asked(tmp_path):
    X = np.arange(60.0).reshape(20, 3, 1)
    np.save(tmp_path / "X.npy", X)
    store = ArrayStore(np.load(tmp_path / "X.npy", mmap_mode="r"), np.arange(20.0))
    table = StreamedTable(store, 1, lambda y: np.asarray(y)[:, None], chunk_rows=4)
    view = table.take(np.array([9, 3, 17, 0, 5]))
    data, y = view.read(np.array([4, 0, 2]))
    np.testing.assert_array_equal(y[:, 0], [5.0, 9.0, 17.0])
    np.testing.assert_array_equal(data.values, X[[5, 9, 17]])


# -- on-the-fly sources ---------------------------------------------------------------
class Counting:
    def __init__(self):
        self.sizes, self.thetas = [], []

    def __call__(self, theta, rng, n_replicates=4):
        self.sizes.append(len(theta))
        self.thetas.append(theta.copy())
        return MODEL.simulator(theta, rng, n_replicates=n_replicates)


@pytest.mark.parametrize("refresh", ["parameters", "data"])
def test_batchwise_refresh_simulates_every_minibatch(refresh):
    sim = Counting()
    source = SimulatorSource(
        MODEL.prior, sim, 200, n_validation=40, refresh=refresh, refresh_every="batch"
    )
    NeuralBayesEstimator(batch_size=50, random_state=0, **TINY).fit_source(source)
    # training and validation sets, then 4 fresh minibatches in epochs 2 and 3
    assert sim.sizes == [200, 40] + [50] * 8
    first = sim.thetas[0]
    fresh = np.concatenate(sim.thetas[2:6])
    rows = {tuple(row) for row in first}
    if refresh == "data":  # the first set's parameters, each once per epoch
        assert sorted(map(tuple, fresh)) == sorted(rows)
    else:
        assert not rows & {tuple(row) for row in fresh}


def test_ratio_knows_its_proposal_through_the_source(tmp_path):
    prior = stats.uniform(-2, 4)
    est = NeuralRatioEstimator(**TINY)
    assert est.fit_source(SimulatorSource(prior, uniform_mean, 100)).proposal_ is prior
    assert (
        est.fit(*simulate(prior, uniform_mean, 100, random_state=0)).proposal_ is None
    )
    assert SimulatorSource(normal_prior, uniform_mean, 100).proposal is None
    assert not any("pending" in name for name in vars(est))


def test_model_comparison_refreshed_labels_keep_their_codes():
    source = ModelSimulatorSource(MODELS, 150, proportions=[0.8, 0.2])
    clf = NeuralModelComparison(random_state=0, **TINY).fit_source(source)
    assert clf.classes_.tolist() == ["narrow", "wide"]
    np.testing.assert_array_equal(clf.class_count_, [120, 30])
    assert not hasattr(clf, "fit_simulator")


def test_streamed_labels_are_gathered_across_chunks(tmp_path):
    X, y = simulate_models(MODELS, 200, proportions=[0.9, 0.1], random_state=0)
    order = np.argsort(y, kind="stable")  # every "wide" label in the last chunk
    write_shards(tmp_path / "s", X[order], y[order], size=50)
    clf = NeuralModelComparison(random_state=0, **TINY)
    clf.fit_source(ShardSource(tmp_path / "s", chunk_size=50))
    assert clf.classes_.tolist() == ["narrow", "wide"]
    np.testing.assert_array_equal(clf.class_count_, [180, 20])
    warm = NeuralModelComparison(warm_start=True, **TINY).fit(X, y)
    write_shards(tmp_path / "t", X, np.where(y == "wide", "other", y), size=50)
    with pytest.raises(ValueError, match="classes of the first fit"):
        warm.fit_source(ShardSource(tmp_path / "t", chunk_size=50))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(refresh="always"), "refresh must be 'parameters', 'data' or None"),
        (dict(refresh_every=0), "refresh_every must be a positive int or 'batch'"),
        (dict(n_validation=-1), "n_validation"),
    ],
)
def test_simulator_source_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimulatorSource(MODEL.prior, MODEL.simulator, 100, **kwargs)
    with pytest.raises(ValueError, match="n_simulations"):
        SimulatorSource(MODEL.prior, MODEL.simulator, 0)


def test_model_source_has_no_data_refresh():
    with pytest.raises(ValueError, match="refresh must be 'parameters' or None"):
        ModelSimulatorSource(MODELS, 100, refresh="data")


def test_fit_source_wants_a_source():
    with pytest.raises(TypeError, match="ArraySource"):
        NeuralBayesEstimator().fit_source((np.zeros((5, 2)), np.zeros(5)))
    assert isinstance(ArraySource(np.zeros((5, 2)), np.zeros(5)), TrainingSource)


def test_shards_beyond_the_open_file_limit_read_the_same(tmp_path, monkeypatch):
    import skamortise.sources.shards as shards

    monkeypatch.setattr(shards, "_OPEN_SHARDS", 2)  # 6 shards: files close and reopen
    X, y = simulate(MODEL.prior, MODEL.simulator, 240, n_replicates=4, random_state=0)
    write_shards(tmp_path / "s", X, y, size=40)
    est = NeuralBayesEstimator(random_state=0, **TINY)
    streamed = weights(est.fit_source(ShardSource(tmp_path / "s")))
    assert streamed == weights(est.fit(X, y))
    store = shards.ShardStore(tmp_path / "s", ShardSource(tmp_path / "s").shards)
    values, _, _ = store.read(np.arange(0, 240, 7))
    np.testing.assert_array_equal(values, X[::7])
    assert len(store._open) == 2
