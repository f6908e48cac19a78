"""Saving and loading: round trips, safety, versions."""

import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROUNDING, SMALL
from sklearn.base import clone
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler

import skamortise
from skamortise import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
    load,
)
from skamortise import io as skio
from skamortise.nn import CNN
from skamortise.preprocessing import ReplicateSummaries

FAMILIES = [
    NeuralBayesEstimator(**SMALL),
    NeuralQuantileEstimator(quantiles=None, bounds=[(None, None), (0, None)], **SMALL),
    NeuralPosteriorEstimator(
        "spline",
        bounds=[(None, None), (0, None)],
        distribution_kwargs={"n_transforms": 1},
        **SMALL,
    ),
    NeuralRatioEstimator(**SMALL),
]


@pytest.mark.parametrize("est", FAMILIES, ids=lambda e: type(e).__name__)
def test_round_trip_restores_predictions_samples_and_history(est, replicated, tmp_path):
    X, y = replicated
    est = clone(est)
    est.fit(X, pd.DataFrame(y, columns=["mu", "sigma"]))
    path = tmp_path / "model.skm"
    est.save(path)
    loaded = load(path)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    assert loaded.history_ == est.history_
    assert loaded.parameter_names_ == ["mu", "sigma"]
    if isinstance(est, NeuralQuantileEstimator):
        np.testing.assert_array_equal(
            loaded.predict_quantiles(X, quantiles=[0.1, 0.9]),
            est.predict_quantiles(X, quantiles=[0.1, 0.9]),
        )
    else:
        np.testing.assert_array_equal(loaded.predict(X[:20]), est.predict(X[:20]))
    if hasattr(est, "sample"):
        np.testing.assert_array_equal(
            loaded.sample(X[:3], 20, random_state=2),
            est.sample(X[:3], 20, random_state=2),
        )


def test_pipeline_round_trip(tabular, tmp_path, replicated):
    X, y = replicated
    pipe = skamortise.make_pipeline(
        ReplicateSummaries(), NeuralPosteriorEstimator("gaussian", **SMALL)
    )
    pipe.fit(X, y)
    skamortise.save(pipe, tmp_path / "pipe.skm")
    loaded = load(tmp_path / "pipe.skm")
    np.testing.assert_array_equal(
        loaded.sample(X[:4], 10, random_state=0), pipe.sample(X[:4], 10, random_state=0)
    )
    Xt, yt = tabular
    scaled = sk_make_pipeline(StandardScaler(), NeuralBayesEstimator(**SMALL)).fit(
        Xt, yt
    )
    skamortise.save(scaled, tmp_path / "sk.skm")
    np.testing.assert_array_equal(
        load(tmp_path / "sk.skm").predict(Xt), scaled.predict(Xt)
    )


def test_unfitted_and_pandas_output_round_trip(tmp_path, tabular):
    X, y = tabular
    est = NeuralBayesEstimator(**SMALL).set_output(transform="pandas")
    est.save(tmp_path / "u.skm")
    loaded = load(tmp_path / "u.skm")
    assert not hasattr(loaded, "network_")
    assert isinstance(loaded.fit(X, y).predict(X), pd.DataFrame)


class _Payload:
    def __reduce__(self):
        return (os.mkdir, (str(_Payload.target),))


def test_tampered_file_is_refused_without_executing(tmp_path, tabular):
    X, y = tabular
    NeuralBayesEstimator(**SMALL).fit(X, y).save(tmp_path / "ok.skm")
    archive = torch.load(tmp_path / "ok.skm", weights_only=True)
    _Payload.target = tmp_path / "pwned"
    archive["extra"] = _Payload()
    buffer = io.BytesIO()
    torch.save(archive, buffer)
    (tmp_path / "bad.skm").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="nothing was executed"):
        load(tmp_path / "bad.skm")
    assert not _Payload.target.exists()


def test_foreign_names_need_custom_objects(tmp_path, tabular):
    X, y = tabular
    est = NeuralBayesEstimator(loss=_my_loss, **SMALL).fit(X, y)
    est.save(tmp_path / "c.skm")
    with pytest.raises(ValueError, match="custom_objects"):
        load(tmp_path / "c.skm")
    loaded = load(tmp_path / "c.skm", custom_objects={"_my_loss": _my_loss})
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def _my_loss(estimate, truth):
    return (estimate - truth) ** 2


def _rewrite(path, **changes):
    archive = torch.load(path, weights_only=True)
    archive.update(changes)
    torch.save(archive, path)


def test_future_format_is_refused_naming_both_versions(tmp_path, tabular):
    X, y = tabular
    path = tmp_path / "f.skm"
    NeuralBayesEstimator(**SMALL).fit(X, y).save(path)
    version = skio.FORMAT_VERSION
    _rewrite(path, format_version=version + 1)
    with pytest.raises(
        ValueError, match=rf"format version {version + 1} .* up to {version}"
    ):
        load(path)


def test_older_format_is_migrated_or_refused(tmp_path, tabular, monkeypatch):
    X, y = tabular
    path = tmp_path / "old.skm"
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    est.save(path)
    _rewrite(path, format_version=0)
    with pytest.raises(
        ValueError, match=f"format version 0.*format version {skio.FORMAT_VERSION}"
    ):
        load(path)
    for version in range(skio.FORMAT_VERSION):
        monkeypatch.setitem(skio.MIGRATIONS, version, lambda archive: archive)
    np.testing.assert_array_equal(load(path).predict(X), est.predict(X))


V1 = Path(__file__).parent / "data" / "format_v1"


@pytest.mark.parametrize("name", ["replicated", "grid", "ensemble"])
def test_format_version_1_files_load_and_predict_as_before(name):
    # Files written by the release that kept the data's moments as attributes
    # (tests/data/format_v1/make.py), with what that release predicted.
    expected = np.load(V1 / "expected.npz")
    assert torch.load(V1 / f"{name}.skm", weights_only=True)["format_version"] == 1
    est = load(V1 / f"{name}.skm")
    np.testing.assert_allclose(
        est.predict(expected[f"{name}_X"]), expected[f"{name}_predict"], **ROUNDING
    )
    if name != "ensemble":
        np.testing.assert_array_equal(est.x_loc_, expected[f"{name}_x_loc"])
        np.testing.assert_array_equal(est.x_scale_, expected[f"{name}_x_scale"])


def test_a_malformed_format_version_1_file_is_refused_naming_the_version(tmp_path):
    archive = torch.load(V1 / "replicated.skm", weights_only=True)
    tree = json.loads(archive["estimator"])
    tree["attributes"]["x_scale_"] = "a string"
    path = tmp_path / "old.skm"
    torch.save({**archive, "estimator": json.dumps(tree)}, path)
    with pytest.raises(ValueError, match=r"format version 1 .*x_scale_ is not a float"):
        load(path)


def test_the_data_moments_are_saved_as_weights_and_checked(tabular, tmp_path):
    X, y = tabular
    path = tmp_path / "f.skm"
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    est.save(path)
    archive = torch.load(path, weights_only=True)
    tree = json.loads(archive["estimator"])
    assert "x_loc_" not in tree["attributes"]
    loaded = load(path)
    for name in ("x_loc_", "x_scale_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(est, name))
    tensors = archive["tensors"]
    tensors["t0/standardise.loc"] = torch.zeros(X.shape[1] + 1, dtype=torch.float64)
    _write(path, tree, tensors)
    with pytest.raises(ValueError, match="'standardise.loc' has shape"):
        load(path)


def test_not_a_skamortise_file(tmp_path):
    (tmp_path / "x.skm").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a skamortise file"):
        load(tmp_path / "x.skm")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "y.skm")
    with pytest.raises(ValueError, match="not a skamortise file"):
        load(tmp_path / "y.skm")


def test_loads_onto_the_cpu(tmp_path, tabular, monkeypatch):
    # A GPU-trained model: tensors are mapped to the requested device at load.
    X, y = tabular
    NeuralBayesEstimator(**SMALL).fit(X, y).save(tmp_path / "m.skm")
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    loaded = load(tmp_path / "m.skm")
    assert seen["map_location"] == "cpu" and seen["weights_only"] is True
    assert next(loaded.network_.parameters()).device.type == "cpu"


def test_ensemble_and_model_comparison_round_trip(tabular, tmp_path):
    X, y = tabular
    ens = skamortise.NeuralEnsemble(
        NeuralBayesEstimator(**SMALL), n_estimators=2, random_state=0
    ).fit(X, y)
    skamortise.save(ens, tmp_path / "e.skm")
    np.testing.assert_array_equal(load(tmp_path / "e.skm").predict(X), ens.predict(X))
    labels = np.where(X[:, 0] > np.median(X[:, 0]), "narrow", "wide")
    mc = skamortise.NeuralModelComparison(**SMALL).fit(X, labels)
    mc.save(tmp_path / "m.skm")
    loaded = load(tmp_path / "m.skm")
    np.testing.assert_array_equal(loaded.predict_proba(X), mc.predict_proba(X))
    assert list(loaded.classes_) == ["narrow", "wide"]


# ---------------------------------------------------------------- crafted files
# Each file below is built by hand, as save builds one, and must be refused with a
# ValueError that names the offending entry, before anything it names has run.

POINT = "skamortise.estimators.point:NeuralBayesEstimator"


def _write(path, tree, tensors=None):
    torch.save(
        {
            "format": "skamortise",
            "format_version": skio.FORMAT_VERSION,
            "skamortise_version": skamortise.__version__,
            "estimator": json.dumps(tree),
            "tensors": tensors or {},
        },
        path,
    )
    return path


def _fitted_entry(**params):
    """A fitted point estimator on two features, whose network load must rebuild."""
    return {
        "__estimator__": POINT,
        "params": params,
        "attributes": {
            "n_parameters_": 1,
            "event_shape_": {"__tuple__": [2]},
            "replicated_": False,
            "network_": {"__state_dict__": "t0"},
        },
    }


def _only_file_left(tmp_path, name="f.skm"):
    return sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_shell_command_through_a_module_attribute_is_refused(tmp_path):
    marker = tmp_path / "ran"
    entry = _fitted_entry(
        summary_network={"__callable__": "skamortise.io:os.system"},
        summary_network_kwargs={"__dict__": {"command": f"touch {marker}"}},
    )
    path = _write(tmp_path / "f.skm", entry)
    with pytest.raises(
        ValueError,
        match=r"estimator\.summary_network: .*'skamortise\.io:os\.system'.*nothing "
        "was called",
    ):
        load(path)
    assert not marker.exists()


def _unfitted(name=POINT):
    return {"__estimator__": name, "params": {}, "attributes": {}}


# Callables with side effects, reachable as attributes of allowed modules: a library
# function that creates a directory, a class whose construction creates a file, and
# a package function that is not a network factory (it writes a file).
SIDE_EFFECTS = {
    "skamortise.io:tempfile.mkdtemp": lambda tmp: {"dir": str(tmp), "prefix": "ran"},
    "skamortise.io:io.FileIO": lambda tmp: {"file": str(tmp / "ran"), "mode": "w"},
    "skamortise:save": lambda tmp: {"estimator": _unfitted(), "path": str(tmp / "ran")},
}


@pytest.mark.parametrize("name", SIDE_EFFECTS)
def test_callables_with_side_effects_are_refused(name, tmp_path):
    entry = _fitted_entry(
        summary_network={"__callable__": name},
        summary_network_kwargs={"__dict__": SIDE_EFFECTS[name](tmp_path)},
    )
    path = _write(tmp_path / "f.skm", entry)
    with pytest.raises(
        ValueError, match=rf"estimator\.summary_network: .*{re.escape(repr(name))}"
    ):
        load(path)
    assert _only_file_left(tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "skamortise.nn.mlp:MLP",  # a registered summary network, not an estimator
        "skamortise._bootstrap_result:BootstrapResult",
        "skamortise.io:io.FileIO",
    ],
)
def test_non_estimator_classes_are_refused(name, tmp_path):
    entry = {
        "__estimator__": name,
        "params": {"file": str(tmp_path / "ran"), "mode": "w"},
        "attributes": {},
    }
    with pytest.raises(ValueError, match=rf"^estimator: .*{re.escape(repr(name))}"):
        load(_write(tmp_path / "f.skm", entry))
    assert _only_file_left(tmp_path)


@pytest.mark.parametrize(
    "name, kind",
    [
        ("skamortise:NeuralBayesEstimator", "estimator"),  # re-export, not recorded
        ("sklearn.preprocessing:StandardScaler", "estimator"),
        ("sklearn.utils:all_estimators", "callable"),
        ("skamortise.losses:pinball", "callable"),
        ("skamortise.nn:build_summary_network", "callable"),
    ],
)
def test_names_match_the_registry_exactly(name, kind, tmp_path):
    entry = (
        _unfitted(name)
        if kind == "estimator"
        else {**_unfitted(), "params": {"loss": {"__callable__": name}}}
    )
    with pytest.raises(ValueError, match=rf"{re.escape(repr(name))}.*custom_objects"):
        load(_write(tmp_path / "f.skm", entry))


def test_registry_holds_every_public_estimator_and_summary_network():
    from sklearn.base import BaseEstimator
    from sklearn.preprocessing import StandardScaler

    from skamortise import nn
    from skamortise import pipeline as sk_pipeline
    from skamortise import preprocessing as pre
    from skamortise.io._registry import find, qualified_name

    public = [getattr(m, n) for m in (skamortise, pre, sk_pipeline) for n in m.__all__]
    estimators = {
        c for c in public if isinstance(c, type) and issubclass(c, BaseEstimator)
    }
    assert len(estimators) >= 10
    for cls in estimators | {StandardScaler}:
        assert find(qualified_name(cls), "estimator") is cls
        assert find(qualified_name(cls), "callable") is None
    for cls in (nn.MLP, nn.DeepSet, nn.CNN):
        assert find(qualified_name(cls), "callable") is cls
        assert find(qualified_name(cls), "estimator") is None


@pytest.fixture
def saved_point(tabular, tmp_path):
    """A fitted estimator's file, its archive, and its JSON tree, to tamper with."""
    X, y = tabular
    path = tmp_path / "f.skm"
    NeuralBayesEstimator(**SMALL).fit(X, y).save(path)
    archive = torch.load(path, weights_only=True)
    return path, archive, json.loads(archive["estimator"])


def _rewrite_tree(path, archive, tree):
    _write(path, tree, archive["tensors"])


def _weights(archive):
    return {k: v for k, v in archive["tensors"].items() if k.endswith("weight")}


@pytest.mark.parametrize("change", ["transposed", "missing", "extra", "nan"])
def test_weights_that_do_not_fit_the_parameters_are_refused(saved_point, change):
    path, archive, tree = saved_point
    key = next(iter(_weights(archive)))
    tensors = archive["tensors"]
    if change == "transposed":
        tensors[key] = tensors[key].T.contiguous()
    elif change == "missing":
        del tensors[key]
    elif change == "extra":
        tensors[key.replace("weight", "scale")] = torch.ones(3)
    else:
        tensors[key][0, 0] = float("nan")
    _write(path, tree, tensors)
    name = key.split("/", 1)[1].replace(
        "weight", "scale" if change == "extra" else "weight"
    )
    with pytest.raises(
        ValueError, match=rf"^estimator \(NeuralBayesEstimator\): .*'{name}'"
    ):
        load(path)


# Refused by the size limit itself, not by a failed allocation.
REFUSED = r"Cannot rebuild .*: it (needs a tensor of [\d,]+ elements|makes more than)"
ABSURD = {
    "one huge layer": ("params", "hidden_layer_sizes", {"__tuple__": [10**9]}),
    "many layers": ("params", "hidden_layer_sizes", {"__tuple__": [16] * 10**4}),
    "huge parameter count": ("attributes", "n_parameters_", 10**9),
    "huge event": ("attributes", "event_shape_", {"__tuple__": [10**9]}),
}


@pytest.mark.parametrize("case", ABSURD)
def test_absurd_sizes_are_refused_without_allocating(saved_point, case):
    import resource

    path, archive, tree = saved_point
    part, name, value = ABSURD[case]
    tree[part][name] = value
    _rewrite_tree(path, archive, tree)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with pytest.raises(
        ValueError, match=rf"^estimator \(NeuralBayesEstimator\): {REFUSED}"
    ):
        load(path)
    # A network of these sizes takes 8 GB or more; refusing it takes next to nothing.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 2**20


def test_absurd_flow_sizes_are_refused(tabular, tmp_path):
    X, y = tabular
    path = tmp_path / "f.skm"
    est = NeuralPosteriorEstimator(
        "maf", distribution_kwargs={"n_transforms": 1}, **SMALL
    )
    est.fit(X, y).save(path)
    archive = torch.load(path, weights_only=True)
    tree = json.loads(archive["estimator"])
    for kwargs in ({"n_transforms": 10**7}, {"hidden_features": 10**9}):
        tree["params"]["distribution_kwargs"] = {"__dict__": kwargs}
        _rewrite_tree(path, archive, tree)
        with pytest.raises(ValueError, match=REFUSED):
            load(path)


@pytest.mark.parametrize(
    "name, value",
    [
        ("learning_rate", -1),
        ("batch_size", "8"),
        ("max_epochs", 1.5),
        ("hidden_layer_sizes", {"__tuple__": [0]}),
        ("activation", "os.system"),
        ("loss", "cubic"),
    ],
)
def test_invalid_parameter_values_are_refused(saved_point, name, value):
    path, archive, tree = saved_point
    tree["params"][name] = value
    _rewrite_tree(path, archive, tree)
    with pytest.raises(
        ValueError, match=rf"^estimator \(NeuralBayesEstimator\): .*{name}"
    ):
        load(path)


def test_invalid_parameters_of_an_unfitted_member_are_refused(tmp_path):
    member = {**_unfitted(), "params": {"learning_rate": -1}}
    quantile = {
        "__estimator__": "skamortise.estimators.quantile:NeuralQuantileEstimator",
        "params": {"quantiles": [0.5, 2.0]},
        "attributes": {},
    }
    ensemble = {
        "__estimator__": "skamortise.ensemble:NeuralEnsemble",
        "params": {"estimator": member},
        "attributes": {},
    }
    with pytest.raises(
        ValueError, match=r"estimator\.estimator \(Neural.*learning_rate"
    ):
        load(_write(tmp_path / "e.skm", ensemble))
    with pytest.raises(ValueError, match=r"^estimator \(NeuralQuantile.*quantiles"):
        load(_write(tmp_path / "q.skm", quantile))


@pytest.mark.parametrize("name", ["__class__", "predict", "_private"])
def test_only_fitted_attribute_names_are_set(saved_point, name):
    path, archive, tree = saved_point
    tree["attributes"][name] = {"__callable__": "skamortise.losses:squared_error"}
    _rewrite_tree(path, archive, tree)
    with pytest.raises(ValueError, match=f"estimator.{name}: not a fitted attribute"):
        load(path)


def linear_summary(width=4):
    """A summary network of the user's own, for two features."""
    return torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.Tanh())


def test_summary_networks_round_trip_by_registry_or_custom_objects(tabular, tmp_path):
    X, y = tabular
    own = NeuralBayesEstimator(
        summary_network=linear_summary, summary_network_kwargs={"width": 3}, **SMALL
    ).fit(X, y)
    own.save(tmp_path / "own.skm")
    with pytest.raises(ValueError, match="linear_summary.*custom_objects"):
        load(tmp_path / "own.skm")
    loaded = load(
        tmp_path / "own.skm", custom_objects={"linear_summary": linear_summary}
    )
    np.testing.assert_array_equal(loaded.predict(X), own.predict(X))

    fields = np.random.default_rng(0).normal(size=(40, 6, 6)) * y[:40, :1, None]
    cnn = NeuralBayesEstimator(
        summary_network=CNN,
        summary_network_kwargs={"event_shape": (6, 6), "channels": (2,)},
        **SMALL,
    ).fit(fields, y[:40])
    cnn.save(tmp_path / "cnn.skm")
    np.testing.assert_array_equal(
        load(tmp_path / "cnn.skm").predict(fields), cnn.predict(fields)
    )


def test_a_step_with_a_function_parameter_needs_custom_objects(tabular, tmp_path):
    from sklearn.feature_selection import SelectKBest, f_regression

    X, y = tabular
    pipe = sk_make_pipeline(
        SelectKBest(f_regression, k=1), NeuralBayesEstimator(**SMALL)
    ).fit(X, y[:, 0])
    skamortise.save(pipe, tmp_path / "k.skm")
    with pytest.raises(ValueError, match=r"score_func: .*f_regression.*custom_objects"):
        load(tmp_path / "k.skm")
    loaded = load(tmp_path / "k.skm", custom_objects={"f_regression": f_regression})
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


@pytest.mark.parametrize("distribution", ["gaussian", "mixture", "coupling", "maf"])
def test_every_posterior_family_round_trips(distribution, tabular, tmp_path):
    X, y = tabular
    est = NeuralPosteriorEstimator(
        distribution, distribution_kwargs=None, **{**SMALL, "max_epochs": 2}
    ).fit(X, y)
    est.save(tmp_path / "p.skm")
    loaded = load(tmp_path / "p.skm")
    np.testing.assert_array_equal(
        loaded.sample(X[:3], 5, random_state=0), est.sample(X[:3], 5, random_state=0)
    )
