"""Two moons: a bimodal posterior learned by a neural spline flow.

The two moons simulator (:class:`skamortise.models.TwoMoons`) maps two parameters,
uniform on ``[-1, 1]^2``, to a 2-D data point through ``|theta_1 + theta_2|`` and a
noisy half ring. The absolute value makes the posterior two crescents, mirror
images across the line ``theta_1 + theta_2 = 0``: a Gaussian, or any unimodal
family, cannot represent it. A :class:`~skamortise.NeuralPosteriorEstimator` with a
rational-quadratic spline flow (``distribution="spline"``) maps the data to a
conditional normalising flow, trained by maximising ``log q(theta | x)`` over
simulated pairs; ``bounds`` keeps every draw inside the prior box.

The script checks the flow three ways:

- a **pair plot** (:func:`skamortise.plotting.plot_pairs`) of flow draws for the
  observation ``x = (0, 0)``, next to exact draws from the model's rejection
  sampler (:meth:`~skamortise.models.TwoMoons.reference_posterior`): both should
  show the two crescents with the same weight;
- a **classifier two-sample test** (:func:`skamortise.diagnostics.c2st`) between
  the two sets of draws: accuracy 0.5 means a classifier cannot tell them apart;
- **simulation-based calibration** (:func:`skamortise.diagnostics.sbc`): for data
  sets simulated from the prior, the rank of the true parameter among posterior
  draws is uniform when the posterior is calibrated. The ECDF plot
  (:func:`skamortise.plotting.plot_sbc_ecdf`) shows the ranks' empirical CDF minus
  the uniform one inside a 95% simultaneous band; a curve that leaves the band
  upwards then downwards means an overconfident posterior.

SBC checks calibration on average over the prior, not the shape of one
posterior; C2ST checks the shape for one observation. Both are needed.

Run ``python examples/two_moons_flow.py [--fast] [--out DIR]``.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skamortise import NeuralPosteriorEstimator, simulate
from skamortise.diagnostics import c2st, sbc
from skamortise.models import TwoMoons
from skamortise.plotting import plot_pairs, plot_sbc_ecdf

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args = parser.parse_args()

n_train = 2_000 if args.fast else 20_000
n_sbc = 100 if args.fast else 1_000
n_draws = 1_000 if args.fast else 5_000

model = TwoMoons()
names = list(model.parameter_names)
X, y = simulate(model.prior, model.simulator, n_train, random_state=0)

npe = NeuralPosteriorEstimator(
    "spline",
    bounds=model.bounds,
    distribution_kwargs=(
        dict(n_transforms=2, hidden_features=32)
        if args.fast
        else dict(n_transforms=5, hidden_features=64, n_bins=10)
    ),
    hidden_layer_sizes=(32, 32) if args.fast else (64, 64),
    max_epochs=20 if args.fast else 150,
    random_state=0,
).fit(X, y)
print(f"trained for {npe.n_epochs_} epochs (best: {npe.best_epoch_})")

# --- one observation: flow draws against exact draws ----------------------------
x_obs = np.zeros((1, 2))
draws = npe.sample(x_obs, n_draws, random_state=0)[0]
exact = model.reference_posterior(x_obs[0], n_draws, np.random.default_rng(0))


def summary(samples):
    """Mean and sd per parameter, and the weight of the upper crescent."""
    upper = (samples.sum(axis=1) > 0).mean()
    return [*samples.mean(axis=0), *samples.std(axis=0), upper]


table = pd.DataFrame(
    [summary(draws), summary(exact)],
    index=["spline flow", "exact"],
    columns=[f"mean {n}" for n in names]
    + [f"sd {n}" for n in names]
    + ["P(theta_1 + theta_2 > 0)"],
)
print(f"\nPosterior for x = {x_obs[0].tolist()} ({n_draws} draws each)")
print(table.round(3).to_string())
accuracy = c2st(draws, exact, random_state=0)
print(f"C2ST accuracy, flow vs exact draws: {accuracy:.3f} (0.5 = indistinguishable)")

figures = {
    "pairs_flow": plot_pairs(draws, names=names),
    "pairs_exact": plot_pairs(exact, names=names),
}
figures["pairs_flow"].suptitle("spline flow")
figures["pairs_exact"].suptitle("exact (rejection sampler)")

# --- calibration over the prior ------------------------------------------------
result = sbc(
    npe,
    model.prior,
    model.simulator,
    n_sims=n_sbc,
    n_posterior_samples=100,
    parameter_names=names,
    random_state=1,
)
print("\nSBC rank uniformity (Kolmogorov-Smirnov and chi-square tests)")
print(result.uniformity_test().round(3).to_string(index=False))
figures["sbc_ecdf"] = plot_sbc_ecdf(result)

if args.out is not None:
    args.out.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(args.out / f"{name}.png", dpi=100)
else:
    plt.show()
