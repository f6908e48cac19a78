"""A population time series: summaries learned from the series vs hand-made ones.

A population grows by births (rate ``birth * N``) and immigration (rate
``immigration``) and shrinks by deaths (rate ``death * N``), starting from 10
individuals; it is counted at times 1, 2, ..., 20
(:class:`skamortise.models.BirthDeathImmigration`, simulated exactly). The three
log-rates are to be inferred from one trajectory.

The same quantile estimator (5%, 50% and 95% marginal posterior quantiles, so
a median and a 90% credible interval per rate) is trained three ways on the same
simulations, each after ``log(1 + N)``:

- **rnn**: the series itself, summarised by a recurrent network
  (``summary_network="rnn"``), which reads the counts in order;
- **tcn**: the series, summarised by causal dilated convolutions
  (``summary_network="tcn"``);
- **hand-made**: the summary pipeline of ``birth_death_pipeline.py``, the mean,
  variance and lag-1 and lag-2 autocorrelations of the series
  (:class:`~skamortise.preprocessing.TimeSeriesSummaries`), then the default MLP.

Four statistics forget the order of the path (how fast a population climbs from
its first ten individuals, where it settles); the series networks see all of it.
The table compares, per rate and on fresh simulations, the RMSE of the
posterior median, the coverage of the 90% intervals (nominal 0.90) and their mean
width: narrower intervals at the right coverage mean more information extracted
from the same data. The figure plots the medians against the true log-rates. The
key numbers checked at the end are the coverages of the series networks' intervals,
whose known answer is 0.90.

Choosing ``"rnn"`` or ``"tcn"`` is what makes the estimator read each row of ``X``
as a series; with the default network a 2-D array would be one feature vector per
data set, and a 3-D array iid replicates (see the data-layout guide).

Run ``python examples/birth_death_series.py [--fast] [--out DIR]``.
"""

import argparse
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.preprocessing import FunctionTransformer

from skamortise import NeuralQuantileEstimator, simulate
from skamortise.models import BirthDeathImmigration
from skamortise.pipeline import make_pipeline
from skamortise.preprocessing import TimeSeriesSummaries

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args = parser.parse_args()

n_train = 1_500 if args.fast else 20_000
n_test = 300 if args.fast else 2_000
model = BirthDeathImmigration()
names = [f"log_{p}" for p in model.parameter_names]
log_bounds = [tuple(np.log(b)) for b in model.bounds]


def log_rates(seed, n):
    counts, rates = simulate(model.prior, model.simulator, n, random_state=seed)
    return counts, np.log(rates)


X, y = log_rates(0, n_train)
X_test, y_test = log_rates(1, n_test)


def estimator(**kwargs):
    return NeuralQuantileEstimator(
        quantiles=(0.05, 0.5, 0.95),
        bounds=log_bounds,
        hidden_layer_sizes=(32,) if args.fast else (64, 64),
        max_epochs=25 if args.fast else 200,
        random_state=0,
        **kwargs,
    )


log1p = FunctionTransformer(np.log1p)
methods = {
    "rnn": make_pipeline(
        log1p,
        estimator(
            summary_network="rnn",
            summary_network_kwargs={"hidden_size": 16 if args.fast else 64},
        ),
    ),
    "tcn": make_pipeline(
        log1p,
        estimator(
            summary_network="tcn",
            summary_network_kwargs={"channels": (16, 16) if args.fast else (32,) * 4},
        ),
    ),
    "hand-made": make_pipeline(
        log1p,
        TimeSeriesSummaries(moments=("mean", "var"), lags=(1, 2)),
        estimator(),
    ),
}

rows, medians = [], {}
for method, pipeline in methods.items():
    pipeline.fit(X, y)
    q = pipeline.predict_quantiles(X_test)  # (n, 3 rates, 3 levels)
    medians[method] = q[..., 1]
    inside = (q[..., 0] <= y_test) & (y_test <= q[..., 2])
    for j, name in enumerate(names):
        rows.append(
            {
                "rate": name,
                "method": method,
                "rmse": np.sqrt(np.mean((q[:, j, 1] - y_test[:, j]) ** 2)),
                "coverage90": inside[:, j].mean(),
                "width90": np.mean(q[:, j, 2] - q[:, j, 0]),
            }
        )
    print(f"{method}: trained for {pipeline[-1].n_epochs_} epochs")

table = pd.DataFrame(rows).set_index(["rate", "method"])
print(f"\nQuantile estimators on {n_test} fresh trajectories (log-rates)")
print(table.round(3).to_string())
ratio = table["rmse"].xs("rnn", level="method") / table["rmse"].xs(
    "hand-made", level="method"
)
print("\nRMSE of the rnn's medians over the hand-made summaries' (< 1: better):")
print(ratio.round(3).to_string())

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
for j, ax in enumerate(axes):
    for method, marker in zip(methods, ["o", "s", "^"], strict=True):
        ax.scatter(
            y_test[:200, j],
            medians[method][:200, j],
            s=6,
            marker=marker,
            alpha=0.6,
            label=method,
        )
    lims = log_bounds[j]
    ax.plot(lims, lims, color="k", lw=0.8)
    ax.set(xlabel=f"true {names[j]}", ylabel="posterior median", title=names[j])
axes[0].legend(fontsize=7)
fig.tight_layout()
if args.out is not None:
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "medians.png", dpi=100)
else:
    plt.show()


# --- known answer: 90% intervals cover 90% of the true rates ------------------------
def check_known_answers(**numbers):
    """Print ``KEY <name> <value> <low> <high>`` lines; fail if a value is outside."""
    outside = []
    for name, (value, low, high) in numbers.items():
        print(f"KEY {name} {value:.4f} {low:g} {high:g}")
        if not low <= value <= high:
            outside.append(f"{name} = {value:.4f} is outside [{low:g}, {high:g}]")
    if outside:
        sys.exit("Known-answer check failed: " + "; ".join(outside))


# Three binomial standard deviations of a coverage from n_test trajectories, plus
# what a network trained on this budget may add.
half = 3 * np.sqrt(0.9 * 0.1 / n_test) + (0.05 if args.fast else 0.01)
check_known_answers(
    **{
        f"coverage_90_{method}_{rate}": (
            table.loc[(rate, method), "coverage90"],
            round(0.9 - half, 3),
            round(min(0.9 + half, 1.0), 3),
        )
        for method in ("rnn", "tcn")
        for rate in names
    }
)
