"""The one training loop: early stopping, history, interruption, non-finite losses."""

import numpy as np
import pytest
import torch
from conftest import SMALL

from skamortise import NeuralBayesEstimator, NeuralQuantileEstimator
from skamortise._training import evaluate


def test_history_and_best_weights(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(**{**SMALL, "max_epochs": 40}).fit(X, y)
    h = est.history_
    assert len(h["train_loss"]) == len(h["valid_loss"]) == est.n_epochs_
    best = int(np.argmin(h["valid_loss"])) + 1
    assert est.best_epoch_ == best
    assert not est.interrupted_


def test_kept_weights_are_the_best_validation_weights(tabular):
    X, y = tabular
    # Reproduce the held-out split to evaluate the final network on it.
    est = NeuralBayesEstimator(**{**SMALL, "max_epochs": 30}).fit(X, y)
    rng = np.random.RandomState(0)
    rng.randint(0, 2**31 - 1, size=2)
    valid = rng.permutation(len(X))[: int(np.ceil(0.1 * len(X)))]
    batch = est._batch(
        est._validate_X(X[valid], reset=False),
        y[valid],
        torch.device("cpu"),
        torch.float64,
    )
    loss = evaluate(est.network_, est._loss, batch)
    assert loss == pytest.approx(min(est.history_["valid_loss"]), rel=1e-4)


def test_early_stopping_stops_before_max_epochs(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(
        **{**SMALL, "max_epochs": 500, "n_iter_no_change": 3, "learning_rate": 0.05}
    ).fit(X, y)
    assert est.n_epochs_ < 500
    assert est.n_epochs_ - est.best_epoch_ == 4


def test_learning_rate_halves_on_plateau(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(
        **{**SMALL, "max_epochs": 200, "n_iter_no_change": 6, "learning_rate": 0.05}
    ).fit(X, y)
    rates = est.history_["learning_rate"]
    assert rates[0] == 0.05 and min(rates) < 0.05


def test_keyboard_interrupt_keeps_best_weights(tabular):
    X, y = tabular
    calls = {"n": 0}

    def loss(estimate, truth):
        calls["n"] += 1
        # 270 training pairs in batches of 100 plus one validation pass: 4 calls an
        # epoch, so call 13 is the first batch of epoch 4.
        if calls["n"] == 13:
            raise KeyboardInterrupt
        return (estimate - truth) ** 2

    with pytest.warns(UserWarning, match="interrupted"):
        est = NeuralBayesEstimator(loss=loss, batch_size=100, **SMALL).fit(X, y)
    assert est.interrupted_ and est.n_epochs_ == 3
    assert np.isfinite(est.predict(X)).all()


def test_non_finite_loss_is_a_clear_error_and_no_nan_weights(tabular):
    X, y = tabular
    calls = {"n": 0}

    def loss(estimate, truth):
        calls["n"] += 1
        value = (estimate - truth) ** 2
        return value * np.nan if calls["n"] > 20 else value

    est = NeuralBayesEstimator(loss=loss, batch_size=100, **SMALL)
    with pytest.raises(
        FloatingPointError, match=r"epoch \d+, batch \d+.*learning_rate"
    ):
        est.fit(X, y)
    assert not hasattr(est, "network_")  # no half-trained model passed off as fitted


def test_non_finite_loss_during_warm_start_keeps_the_fitted_model(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(warm_start=True, **SMALL).fit(X, y)
    before = est.predict(X)
    est.set_params(loss=lambda e, t: (e - t) ** 2 * np.nan)
    with pytest.raises(FloatingPointError):
        est.fit(X, y)
    after = est.predict(X)
    assert np.isfinite(after).all()
    np.testing.assert_allclose(after, before)


def test_warm_start_continues_from_fitted_weights(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(warm_start=True, **SMALL).fit(X, y)
    first = est.history_["train_loss"]
    est.fit(X, y)
    assert est.history_["train_loss"][0] < first[0]
    cold = NeuralBayesEstimator(**SMALL).fit(X, y)
    assert cold.history_["train_loss"][0] == pytest.approx(first[0])


def test_warm_start_rejects_different_parameter_count(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(warm_start=True, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="same number of parameters"):
        est.fit(X, y[:, :1])


def test_verbose_shows_progress(tabular, capsys):
    X, y = tabular
    NeuralBayesEstimator(verbose=1, **{**SMALL, "max_epochs": 2}).fit(X, y)
    assert "training" in capsys.readouterr().err


def test_no_validation_monitors_training_loss(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(validation_fraction=0, **SMALL).fit(X, y)
    assert est.history_["valid_loss"] == [None] * est.n_epochs_


class CountingSimulator:
    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self, theta, rng, n_replicates=5):
        self.calls += 1
        return self.model.simulator(theta, rng, n_replicates=n_replicates)


@pytest.mark.parametrize("refresh", ["parameters", "data", None])
def test_fit_simulator_refreshes_training_data(refresh, gaussian_model):
    sim = CountingSimulator(gaussian_model)
    est = NeuralBayesEstimator(**{**SMALL, "max_epochs": 4, "n_iter_no_change": 50})
    est.fit_simulator(
        gaussian_model.prior,
        sim,
        200,
        n_validation=50,
        refresh=refresh,
        refresh_every=2,
        n_replicates=5,
    )
    # one call each for training and validation, plus one per refresh (epochs 3)
    assert sim.calls == 2 + (refresh is not None)
    assert est.replicated_ and est.predict(np.zeros((2, 5, 1))).shape == (2, 2)


def test_fit_simulator_without_validation_trains_on_every_simulation(gaussian_model):
    # n_validation=0 means no validation set (whatever validation_fraction says):
    # the training loss is monitored, and refresh="data" re-simulates at every
    # training parameter, none of which is held out.
    seen = []

    def simulator(theta, rng, n_replicates=5):
        seen.append(len(theta))
        return gaussian_model.simulator(theta, rng, n_replicates=n_replicates)

    est = NeuralBayesEstimator(**{**SMALL, "max_epochs": 3, "validation_fraction": 0.2})
    est.fit_simulator(
        gaussian_model.prior, simulator, 100, n_validation=0, refresh="data"
    )
    assert seen == [100, 100, 100]  # first simulation, then two refreshes
    assert est.history_["valid_loss"] == [None] * 3
    assert est.best_epoch_ == int(np.argmin(est.history_["train_loss"])) + 1


def test_fit_simulator_across_replicate_counts(gaussian_model):
    est = NeuralQuantileEstimator(**SMALL)
    est.fit_simulator(
        gaussian_model.prior,
        gaussian_model.simulator,
        300,
        n_replicates=range(1, 20),
        refresh="data",
    )
    assert est.predict_quantiles(np.zeros((1, 7, 1))).shape == (1, 2, 3)


def test_fit_simulator_is_reproducible(gaussian_model):
    def fitted():
        return NeuralBayesEstimator(**{**SMALL, "max_epochs": 3}).fit_simulator(
            gaussian_model.prior, gaussian_model.simulator, 200, n_replicates=4
        )

    X = np.random.default_rng(0).normal(size=(3, 4, 1))
    # The same computation twice (seed, batches, threads): bit for bit.
    assert np.array_equal(fitted().predict(X), fitted().predict(X))


def test_fit_simulator_rejects_bad_refresh(gaussian_model):
    with pytest.raises(ValueError, match="refresh"):
        NeuralBayesEstimator(**SMALL).fit_simulator(
            gaussian_model.prior, gaussian_model.simulator, 50, refresh="always"
        )


def test_resume_from_checkpoint_matches_uninterrupted_run(tabular, tmp_path):
    X, y = tabular
    params = {**SMALL, "max_epochs": 12, "n_iter_no_change": 50}

    calls = {"n": 0}

    def interrupting(estimate, truth):
        calls["n"] += 1
        if calls["n"] == 8 * 4 + 2:  # during epoch 9 (4 loss calls an epoch)
            raise KeyboardInterrupt
        return (estimate - truth) ** 2

    ckpt = dict(checkpoint_dir=str(tmp_path), checkpoint_every=4, batch_size=100)
    with pytest.warns(UserWarning, match="interrupted"):
        NeuralBayesEstimator(loss=interrupting, **ckpt, **params).fit(X, y)
    assert (tmp_path / "checkpoint.pt").exists()
    resumed = NeuralBayesEstimator(**ckpt, **params).fit(X, y)
    reference = NeuralBayesEstimator(batch_size=100, **params).fit(X, y)
    # Resuming repeats the uninterrupted run's computations exactly, in order.
    assert resumed.history_["train_loss"][:8] == reference.history_["train_loss"][:8]
    for a, b in zip(
        resumed.network_.parameters(), reference.network_.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    assert resumed.n_epochs_ == reference.n_epochs_ == 12


def test_finished_checkpoint_starts_afresh(tabular, tmp_path):
    X, y = tabular
    params = {
        **SMALL,
        "max_epochs": 3,
        "checkpoint_dir": tmp_path,
        "checkpoint_every": 1,
    }
    first = NeuralBayesEstimator(**params).fit(X, y)
    again = NeuralBayesEstimator(**params).fit(X, y)
    assert again.history_["train_loss"] == first.history_["train_loss"]


def test_checkpoint_for_other_data_is_not_resumed(tabular, tmp_path):
    X, y = tabular
    params = {
        **SMALL,
        "max_epochs": 3,
        "checkpoint_dir": tmp_path,
        "checkpoint_every": 1,
    }
    NeuralBayesEstimator(**params).fit(X, y)
    torch.save(
        {
            **torch.load(tmp_path / "checkpoint.pt", weights_only=True),
            "finished": False,
        },
        tmp_path / "checkpoint.pt",
    )
    with pytest.warns(UserWarning, match="other training data"):
        NeuralBayesEstimator(**params).fit(X[:100], y[:100])


class FlakySimulator:
    """Returns NaN for parameters above 2 (a simulator failing in part of the prior)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, theta, rng, n_replicates=5):
        x = self.model.simulator(theta, rng, n_replicates=n_replicates)
        x[theta[:, 0] > 1.0] = np.nan
        return x


@pytest.mark.parametrize("refresh", ["parameters", "data"])
def test_fit_simulator_follows_the_simulate_error_policy(refresh, gaussian_model):
    sim = FlakySimulator(gaussian_model)
    est = NeuralBayesEstimator(**{**SMALL, "max_epochs": 3})
    with pytest.raises(ValueError, match="NaN or infinite values"):
        est.fit_simulator(gaussian_model.prior, sim, 300, n_replicates=5)
    with pytest.warns(UserWarning, match="Dropped"):
        est.fit_simulator(
            gaussian_model.prior,
            sim,
            300,
            n_replicates=5,
            refresh=refresh,
            on_error="drop",
        )
    assert np.isfinite(est.predict(np.zeros((2, 5, 1)))).all()


def _ragged_training(estimator, gaussian_model):
    return estimator.fit_simulator(
        gaussian_model.prior,
        gaussian_model.simulator,
        400,
        n_replicates=range(1, 30),
    )


class ScriptedValidation:
    """Squared error in training; in validation passes, set losses per group.

    Validation runs without gradients, one call per replicate-count group, so the
    calls of epoch ``k`` return ``values[k]`` in turn, and record the truths they
    saw.
    """

    def __init__(self, values):
        self.values, self.calls = values, []

    def __call__(self, estimate, truth):
        if torch.is_grad_enabled():
            return (estimate - truth) ** 2
        epoch, group = divmod(len(self.calls), len(self.values[0]))
        self.calls.append(truth.detach().clone())
        return torch.full_like(estimate, self.values[epoch][group])


def test_balanced_loss_is_the_geometric_mean_of_replicate_count_groups():
    # y is the replicate count, so the truths a validation call sees tell which
    # counts its group holds.
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 30, size=400)
    X = [rng.normal(size=(m, 1)) for m in counts]
    y = counts.astype(float)
    # Epoch 2 is worse pooled (mean 1.4 > 1) but better balanced (0.5^(1/5) < 1);
    # the values are exact in float32, the network's precision.
    values = [[1.0] * 5, [4.0, 1.0, 1.0, 1.0, 0.125]]
    loss = ScriptedValidation(values)
    est = NeuralBayesEstimator(
        loss=loss, **{**SMALL, "max_epochs": 2, "n_iter_no_change": 10}
    ).fit(X, y)
    groups = loss.calls[:5]
    sizes = np.array([len(g) for g in groups])
    assert sizes.sum() == 40  # validation_fraction=0.1 of 400 data sets
    # Groups ascend in replicate count and split the validation set about evenly.
    assert all(a.max() <= b.min() for a, b in zip(groups, groups[1:], strict=False))
    assert sizes.max() - sizes.min() <= 1
    h = est.history_
    balanced = [np.exp(np.mean(np.log(v))) for v in values]
    pooled = [np.dot(v, sizes) / sizes.sum() for v in values]
    np.testing.assert_allclose(h["valid_balanced"], balanced, rtol=1e-12)
    np.testing.assert_allclose(h["valid_loss"], pooled, rtol=1e-12)
    assert est.best_epoch_ == 2  # early stopping follows the balanced loss


def test_posterior_family_keeps_the_pooled_loss(gaussian_model):
    from skamortise import NeuralPosteriorEstimator

    est = _ragged_training(
        NeuralPosteriorEstimator("gaussian", **SMALL), gaussian_model
    )
    # A log density is not a scale: its pooled mean already weighs all counts.
    assert "valid_balanced" not in est.history_
    assert est.best_epoch_ == int(np.argmin(est.history_["valid_loss"])) + 1


def test_one_replicate_count_keeps_the_pooled_loss(gaussian_model):
    est = NeuralBayesEstimator(**SMALL).fit_simulator(
        gaussian_model.prior, gaussian_model.simulator, 300, n_replicates=5
    )
    assert "valid_balanced" not in est.history_
