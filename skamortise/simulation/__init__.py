from ._simulate import *  # noqa: F403
from ._simulate import __all__, chunk_seeds, progress, simulate_at  # noqa: F401
