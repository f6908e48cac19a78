"""Convergence diagnostics for batches of Markov chains.

Both functions take chains shaped ``(n_datasets, n_chains, n_draws, n_parameters)`` and
return one number per data set and parameter, computed for all of them at once.
They follow the rank-normalised split-R-hat and bulk effective sample size of
Vehtari et al. (2021).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata


def _split_chains(chains: np.ndarray) -> np.ndarray:
    """Cut every chain in two halves, dropping the middle draw of odd lengths."""
    half = chains.shape[2] // 2
    first, second = chains[:, :, :half], chains[:, :, -half:]
    return np.concatenate([first, second], axis=1)


def _rank_normalise(chains: np.ndarray) -> np.ndarray:
    """Map the pooled draws of each data set and parameter to normal scores."""
    n_datasets, n_chains, n_draws, n_parameters = chains.shape
    pooled = chains.reshape(n_datasets, n_chains * n_draws, n_parameters)
    ranks = rankdata(pooled, method="average", axis=1)
    size = n_chains * n_draws
    scores = ndtri((ranks - 0.375) / (size + 0.25))
    return scores.reshape(chains.shape)


def _classic_rhat(chains: np.ndarray) -> np.ndarray:
    n_draws = chains.shape[2]
    chain_means = chains.mean(axis=2)
    between = n_draws * chain_means.var(axis=1, ddof=1)
    within = chains.var(axis=2, ddof=1).mean(axis=1)
    pooled = (n_draws - 1) / n_draws * within + between / n_draws
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(pooled / within)


def split_rhat(chains: np.ndarray) -> np.ndarray:
    """Rank-normalised split-R-hat, shape ``(n_datasets, n_parameters)``.

    The maximum of the bulk value (on rank-normalised draws) and the tail value (on
    rank-normalised distances from the median), so that chains which agree in
    location but not in spread are flagged too. NaN when chains have fewer than
    four draws; values above about 1.01-1.05 mean the chains have not mixed.
    """
    chains = np.asarray(chains, dtype=np.float64)
    if chains.shape[2] < 4:
        return np.full((chains.shape[0], chains.shape[3]), np.nan)
    split = _split_chains(chains)
    bulk = _classic_rhat(_rank_normalise(split))
    median = np.median(split.reshape(split.shape[0], -1, split.shape[3]), axis=1)
    folded = np.abs(split - median[:, None, None, :])
    tail = _classic_rhat(_rank_normalise(folded))
    return np.fmax(bulk, tail)


def _autocovariance(chains: np.ndarray) -> np.ndarray:
    """Autocovariance along the draw axis via FFT, normalised by ``n_draws``."""
    n_draws = chains.shape[2]
    centred = chains - chains.mean(axis=2, keepdims=True)
    size = 2 ** int(np.ceil(np.log2(2 * n_draws)))
    spectrum = np.fft.rfft(centred, n=size, axis=2)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=2)[:, :, :n_draws]
    return acov / n_draws


def bulk_ess(chains: np.ndarray) -> np.ndarray:
    """Bulk effective sample size, shape ``(n_datasets, n_parameters)``.

    Autocorrelations are combined across chains and truncated with Geyer's initial
    monotone positive sequence, on rank-normalised split chains.
    """
    chains = np.asarray(chains, dtype=np.float64)
    if chains.shape[2] < 4:
        return np.full((chains.shape[0], chains.shape[3]), np.nan)
    split = _rank_normalise(_split_chains(chains))
    n_chains, n_draws = split.shape[1], split.shape[2]
    acov = _autocovariance(split)
    within = acov[:, :, 0].mean(axis=1) * n_draws / (n_draws - 1)
    var_plus = within * (n_draws - 1) / n_draws + split.mean(axis=2).var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (within[:, None] - acov.mean(axis=1)) / var_plus[:, None]
    rho[:, 0] = 1.0
    n_pairs = n_draws // 2
    pairs = rho[:, : 2 * n_pairs].reshape(rho.shape[0], n_pairs, 2, -1).sum(axis=2)
    # Keep pairs up to the first non-positive one, then force them monotone.
    keep = np.cumprod(pairs > 0, axis=1).astype(bool)
    pairs = np.minimum.accumulate(np.where(keep, pairs, np.inf), axis=1)
    pairs = np.where(keep, pairs, 0.0)
    tau = np.maximum(-1.0 + 2.0 * pairs.sum(axis=1), 1.0 / np.log10(n_chains * n_draws))
    with np.errstate(divide="ignore", invalid="ignore"):
        return n_chains * n_draws / tau
