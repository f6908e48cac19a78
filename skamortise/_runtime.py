"""Where and with how many threads torch work runs."""

from __future__ import annotations

import functools
from contextlib import contextmanager

import torch


@contextmanager
def thread_limit(n_threads: int | None):
    """Run torch with ``n_threads`` intra-op threads, restoring the old value after.

    ``None`` leaves torch's setting alone. The estimators default to one thread: the
    small networks of amortised inference gain little from more, and on a shared
    machine a busy second core makes multi-threaded kernels stall (see the thread
    benchmark in ``benchmarks/``).
    """
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def with_thread_limit(method):
    """Decorate an estimator method to run under ``self.n_threads``."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with thread_limit(self.n_threads):
            return method(self, *args, **kwargs)

    return wrapper


def resolve_device(device: str) -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; other strings go to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; "
            "use device='cpu' or 'auto'."
        )
    return resolved


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator seeded with ``seed`` (never the global RNG)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
