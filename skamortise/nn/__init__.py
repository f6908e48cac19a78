"""Summary networks and the composite network: plain torch modules, no sklearn."""

from ._factory import SERIES_NETWORKS, build_summary_network, is_series_network
from .cnn import CNN, CNNSummary
from .deepset import DeepSet
from .mlp import MLP
from .network import AmortisedNetwork
from .recurrent import RNN
from .standardise import Standardise
from .tcn import TCN
from .transformer import SeriesTransformer

__all__ = [
    "CNN",
    "CNNSummary",
    "MLP",
    "DeepSet",
    "RNN",
    "TCN",
    "SeriesTransformer",
    "SERIES_NETWORKS",
    "AmortisedNetwork",
    "Standardise",
    "build_summary_network",
    "is_series_network",
]
