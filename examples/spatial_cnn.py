"""Spatial data: the range of a Gaussian random field, with a CNN summary network.

Each data set is one image: a zero-mean, unit-variance Gaussian field on a
``16 x 16`` grid over the unit square with covariance ``exp(-d / range)`` between
points at distance ``d`` (:class:`skamortise.models.GaussianField`). The range, with
a uniform prior on ``[0.05, 0.5]``, says how far apart two points must be before
their values decorrelate: small ranges give rough fields, large ranges smooth ones.

The likelihood is a 256-dimensional normal density, tractable here but costly for
large grids and unavailable for most spatial simulators. Instead, the estimator
learns its own summary statistics from the images: a convolutional network
(:class:`skamortise.nn.CNNSummary`) of two convolution layers and global average
pooling maps each image to a few numbers, which a Gaussian posterior head turns into
``q(range | image)``. Convolutions suit the task: the range is a property of
neighbourhoods, wherever they lie in the image. ``bounds`` maps the posterior to
the prior's support, so it is a logit-normal on ``[0.05, 0.5]``.

The figure shows three simulated fields with small, medium and large ranges, and
below each the neural posterior against the exact one (the normal likelihood on a
fine grid of range values: the model's ``reference_posterior``).
The tables compare posterior means and standard deviations, and give the coverage
of credible intervals over a test set drawn from the prior. Larger ranges are
harder to pin down: with a fixed window, a smooth field holds fewer independent
patches. The script ends by checking both against known answers: a classifier
two-sample test (C2ST) of the neural against the exact draws for each field (0.5
means indistinguishable), and the coverage against the nominal levels.

Run ``python examples/spatial_cnn.py [--fast] [--out DIR]``.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _known_answers import caption, check_known_answers, coverage_error, save_or_show

from skamortise import NeuralPosteriorEstimator, simulate
from skamortise.diagnostics import c2st, coverage
from skamortise.models import GaussianField
from skamortise.nn import CNNSummary

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="small, quick run")
parser.add_argument("--out", type=Path, default=None, help="save figures here")
args = parser.parse_args()

grid_size = 16
n_train = 1_500 if args.fast else 30_000
n_test = 100 if args.fast else 1_000
n_draws = 1_000 if args.fast else 10_000

model = GaussianField(grid_size=grid_size)
X, y = simulate(model.prior, model.simulator, n_train, random_state=0)  # (n, 16, 16)

cnn = CNNSummary(
    (grid_size, grid_size),
    channels=(8, 16) if args.fast else (16, 32),
    hidden_layer_sizes=(32,) if args.fast else (64,),
)
npe = NeuralPosteriorEstimator(
    "gaussian",
    bounds=model.bounds,
    summary_network=cnn,
    random_state=0,
    # The full run uses the estimator's defaults (early stopping).
    **(dict(hidden_layer_sizes=(32,), max_epochs=30) if args.fast else {}),
).fit(X, y)
print(f"trained for {npe.n_epochs_} epochs on {n_train} fields")

# --- three fields, neural against exact posteriors ---------------------------------
ranges = np.array([[0.08], [0.2], [0.4]])
fields = model.simulator(ranges, np.random.default_rng(1))
draws = npe.sample(fields, n_draws, random_state=0)[..., 0]
exact_rng = np.random.default_rng(2)
reference = np.stack(
    [model.reference_posterior(f, n_draws, exact_rng)[:, 0] for f in fields]
)
accuracy = [c2st(e, d, random_state=0) for e, d in zip(reference, draws, strict=True)]
table = pd.DataFrame(
    {
        "true range": ranges[:, 0],
        "mean (CNN)": draws.mean(axis=1),
        "mean (exact)": reference.mean(axis=1),
        "sd (CNN)": draws.std(axis=1),
        "sd (exact)": reference.std(axis=1),
        "C2ST": accuracy,
    }
)
print(table.round(3).to_string(index=False))

fig, axes = plt.subplots(2, 3, figsize=(9, 5.5))
for i in range(3):
    axes[0, i].imshow(fields[i], cmap="RdBu_r", vmin=-2.5, vmax=2.5)
    axes[0, i].set(title=f"range = {ranges[i, 0]}", xticks=[], yticks=[])
    bins = np.linspace(*model.bounds[0], 60)
    axes[1, i].hist(
        reference[i], bins=bins, density=True, histtype="step", color="k", label="exact"
    )
    axes[1, i].hist(draws[i], bins=bins, density=True, alpha=0.5, label="CNN + NPE")
    axes[1, i].axvline(ranges[i, 0], color="r", lw=1)
    axes[1, i].set(xlabel="range", title=f"C2ST vs exact {accuracy[i]:.3f}")
axes[1, 0].legend(fontsize=7)
fig.tight_layout()

# --- calibration over the prior ----------------------------------------------------
X_test, y_test = simulate(model.prior, model.simulator, n_test, random_state=3)
print(f"\nCoverage of central credible intervals ({n_test} test fields)")
table = coverage(npe, X_test, y_test, parameter_names=["range"], random_state=0)
print(table.round(3).to_string(index=False))

caption(
    fig,
    f"C2ST CNN + NPE vs exact, {n_draws:,} + {n_draws:,} draws (0.5 = "
    f"indistinguishable). Coverage of the {', '.join(map(str, table['level']))} "
    f"intervals on {n_test:,} test fields: "
    + ", ".join(f"{c:.3f}" for c in table["coverage"]),
)
save_or_show({"fields": fig}, args.out)

# --- known answers ---------------------------------------------------------------
# The smooth field (range 0.4) is the hardest: a 16 x 16 window holds few independent
# patches, and the CNN's learned summary keeps less of the likelihood there (its
# posterior is wider than the exact one), so the full run reaches C2ST near 0.62.
c2st_max, slack = (0.8, 0.05) if args.fast else (0.65, 0.01)
check_known_answers(
    **{f"c2st_{i + 1}": (a, 0.45, c2st_max) for i, a in enumerate(accuracy)},
    coverage_error=coverage_error(table, slack),
)
