"""Summary networks and the composite network: plain torch modules, no sklearn."""

from ._factory import build_summary_network
from .cnn import CNN, CNNSummary
from .deepset import DeepSet
from .mlp import MLP
from .network import AmortisedNetwork

__all__ = [
    "CNN",
    "CNNSummary",
    "MLP",
    "DeepSet",
    "AmortisedNetwork",
    "build_summary_network",
]
