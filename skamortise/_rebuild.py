"""Rebuild a saved network from sizes read from a file, allocating nothing big.

A file holds a network's weights and the parameters that describe it. Rebuilding
runs the network's constructors with those sizes, so a file could ask for a layer
of a billion units. :func:`rebuild_network` runs the constructors under a limit
derived from the saved tensors: every torch operation first runs on the ``meta``
device, which computes the shapes of its results without allocating them, and an
operation whose result would exceed the limit is refused before it runs; and
parameters far beyond the saved ones, in number or in size, are refused as they
are registered. The network that results must have exactly the saved tensors' names
and shapes.

The network is not simply built on the meta device instead: some constructors
(zuko's masked networks) inspect the values of small tensors they make (``unique``,
``nonzero``), which meta tensors do not have. Those few operations return no more
elements than they are given, so they run without the shape check.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import torch
from torch.nn.modules.module import register_module_parameter_registration_hook
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

__all__ = ["rebuild_network"]

# Any tensor may hold this many elements, or four times the saved weights if more:
# room for the activations of the dummy batch a summary network is probed with.
_FLOOR = 2**24

# Operations without a meta kernel because their result shape depends on values;
# none returns more elements than its input holds (times its number of axes).
_BOUNDED_BY_INPUT = {
    torch.ops.aten.unique_dim.default,
    torch.ops.aten._unique2.default,
    torch.ops.aten.nonzero.default,
    torch.ops.aten.masked_select.default,
    torch.ops.aten._local_scalar_dense.default,
    torch.ops.aten.is_nonzero.default,
}


def _on_meta(value):
    if isinstance(value, torch.Tensor):
        return torch.empty_strided(
            value.size(), value.stride(), dtype=value.dtype, device="meta"
        )
    return value


def _largest(result) -> int:
    return max(
        (t.numel() for t in tree_leaves(result) if isinstance(t, torch.Tensor)),
        default=0,
    )


class _SizeLimit(TorchDispatchMode):
    """Refuse, before it runs, any operation whose result would be too large."""

    def __init__(self, max_elements: int):
        super().__init__()
        self.max_elements = max_elements

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.is_view or func in _BOUNDED_BY_INPUT:  # views allocate nothing
            return func(*args, **kwargs)
        meta_args, meta_kwargs = tree_map(_on_meta, (args, kwargs))
        if any(arg.name == "device" for arg in func._schema.arguments):
            meta_kwargs["device"] = torch.device("meta")
        elif not any(isinstance(x, torch.Tensor) for x in tree_leaves(meta_args)):
            # Neither a device to redirect nor inputs to follow: it would allocate.
            raise ValueError(f"the size of what {func} creates cannot be bounded")
        n = _largest(func(*meta_args, **meta_kwargs))
        if n > self.max_elements:
            raise ValueError(
                f"it needs a tensor of {n:,} elements ({func}), more than the "
                f"{self.max_elements:,} allowed"
            )
        return func(*args, **kwargs)


class _ParameterBudget:
    """Refuse, as it is registered, a parameter beyond ``max_count`` in number or
    ``max_elements`` in all. Every parameter is saved, so a network that matches
    its file stays well within both; they also stop a loop that builds layers."""

    def __init__(self, max_count: int, max_elements: int):
        self.max_count, self.max_elements = max_count, max_elements
        self.seen: set[int] = set()
        self.elements = 0
        self.thread = threading.get_ident()

    def __call__(self, module, name, param):
        if param is None or threading.get_ident() != self.thread:
            return  # another thread's modules are not being rebuilt
        if id(param) not in self.seen:
            self.seen.add(id(param))
            self.elements += param.numel()
        if len(self.seen) > self.max_count or self.elements > self.max_elements:
            raise ValueError(
                f"it makes more than {self.max_count} parameters or "
                f"{self.max_elements:,} parameter elements"
            )


@contextlib.contextmanager
def _limits(saved: dict):
    n_saved = sum(t.numel() for t in saved.values())
    limit = max(_FLOOR, 4 * n_saved)
    budget = _ParameterBudget(2 * len(saved) + 8, limit)
    hook = register_module_parameter_registration_hook(budget)
    try:
        with _SizeLimit(limit):
            yield
    finally:
        hook.remove()


def _check_weights(network: torch.nn.Module, saved: dict, owner: str) -> None:
    expected = network.state_dict()
    problems = [f"{key!r} is missing" for key in expected if key not in saved]
    problems += [
        f"{key!r} is not in the network" for key in saved if key not in expected
    ]
    problems += [
        f"{key!r} has shape {tuple(saved[key].shape)}, the network "
        f"{tuple(tensor.shape)}"
        for key, tensor in expected.items()
        if key in saved and saved[key].shape != tensor.shape
    ]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ValueError(
            f"The saved weights of {owner} do not fit the network its parameters "
            f"describe: {'; '.join(problems[:5])}{more}."
        )
    for key, tensor in saved.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"The saved weight {key!r} of {owner} is not finite.")


def rebuild_network(
    build: Callable[[], torch.nn.Module], saved: dict, owner: str
) -> torch.nn.Module:
    """Call ``build()`` under a size limit and load the ``saved`` weights.

    Parameters
    ----------
    build : callable
        Builds the network from the parameters that came with the weights.
    saved : dict of str to Tensor
        The saved ``state_dict``.
    owner : str
        Names the estimator in error messages.

    Returns
    -------
    torch.nn.Module
        The network, holding the saved weights.

    Raises
    ------
    ValueError
        If building would create a tensor of more than ``L = max(2**24, 4 * n)``
        elements, where ``n`` is the number of saved elements (nothing that large is
        allocated), or more than ``2 * k + 8`` parameters or ``L`` parameter
        elements in all, where ``k`` is the number of saved tensors; if building
        fails; or if the network's weights differ from the saved ones in names or
        shapes, or a saved weight is not finite.
    """
    if not all(
        isinstance(key, str) and torch.is_tensor(t) and t.layout == torch.strided
        for key, t in saved.items()
    ):
        raise ValueError(f"The saved weights of {owner} are not all dense tensors.")
    try:
        with _limits(saved):
            network = build()
    except (ValueError, TypeError, RuntimeError) as err:
        n_saved = sum(tensor.numel() for tensor in saved.values())
        raise ValueError(
            f"Cannot rebuild the network of {owner} from the parameters saved with "
            f"its {n_saved:,} weights: {err}"
        ) from err
    _check_weights(network, saved, owner)
    try:
        network.load_state_dict(saved)
    except RuntimeError as err:  # e.g. a dtype that does not cast
        raise ValueError(f"Cannot load the saved weights of {owner}: {err}") from err
    return network
