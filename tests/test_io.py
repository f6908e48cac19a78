"""Saving and loading: round trips, safety, versions."""

import io
import os

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL
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
    _rewrite(path, format_version=skio.FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=r"format version 2 .* up to 1"):
        load(path)


def test_older_format_is_migrated_or_refused(tmp_path, tabular, monkeypatch):
    X, y = tabular
    path = tmp_path / "old.skm"
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    est.save(path)
    _rewrite(path, format_version=0)
    with pytest.raises(ValueError, match="format version 0.*format version 1"):
        load(path)
    monkeypatch.setitem(skio.MIGRATIONS, 0, lambda archive: archive)
    np.testing.assert_array_equal(load(path).predict(X), est.predict(X))


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
    ens = skamortise.NeuralEnsemble(NeuralBayesEstimator(**SMALL), n_estimators=2,
                                    random_state=0).fit(X, y)
    skamortise.save(ens, tmp_path / "e.skm")
    np.testing.assert_array_equal(load(tmp_path / "e.skm").predict(X), ens.predict(X))
    labels = np.where(X[:, 0] > np.median(X[:, 0]), "narrow", "wide")
    mc = skamortise.NeuralModelComparison(**SMALL).fit(X, labels)
    mc.save(tmp_path / "m.skm")
    loaded = load(tmp_path / "m.skm")
    np.testing.assert_array_equal(loaded.predict_proba(X), mc.predict_proba(X))
    assert list(loaded.classes_) == ["narrow", "wide"]
