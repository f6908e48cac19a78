"""Round one of sequential NPE: how far the first region focuses, per configuration.

Trains ``NeuralPosteriorEstimator(bounds=..., **config)`` on ``n`` prior simulations
of an SBI benchmark task (three simulation and training seeds) and prints, per
configuration: the mean log density of the benchmark's reference draws for
observation 1, the epochs trained, the share of the prior mass in the 1e-4 region
(``TruncatedPrior.from_estimator``) and the share of reference draws inside it.

    OMP_NUM_THREADS=1 python benchmarks/sequential_round_one.py sir 200 \
        '[{"distribution": "spline"}, {"distribution": "maf"}]'
"""

import json
import sys
import warnings

import numpy as np
import torch
from _sbibm_tasks import TASKS

from skamortise import NeuralPosteriorEstimator, simulate
from skamortise.sequential import TruncatedPrior

SEEDS = (0, 1, 2)


def main():
    torch.set_num_threads(1)
    task, n, configs = TASKS[sys.argv[1]], int(sys.argv[2]), json.loads(sys.argv[3])
    x_obs, ref = task.observation(1), task.reference(1)
    sims = {
        s: simulate(
            task.prior, task.simulator, n, on_error="drop", random_state=100 + s
        )
        for s in SEEDS
    }
    for config in configs:
        rows = []
        for s in SEEDS:
            est = NeuralPosteriorEstimator(bounds=task.bounds, random_state=s, **config)
            est.fit(*sims[s])
            log_q = est.log_prob(np.repeat(x_obs, len(ref), 0), ref).mean()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                region = TruncatedPrior.from_estimator(
                    est, task.prior, x_obs, random_state=0
                )
            rows.append(
                (log_q, est.n_epochs_, region.acceptance, region.contains(ref).mean())
            )
        r = np.array(rows)
        print(
            json.dumps(config),
            f"reference log q {np.round(r[:, 0], 2)}, epochs {r[:, 1].astype(int)}, "
            f"prior mass in region {np.round(r[:, 2], 3)}, "
            f"reference draws inside {np.round(r[:, 3], 3)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
