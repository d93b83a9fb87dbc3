"""Search spaces (as data), presets per runner and hardware pair, and the Protein optimizer."""

from .space import DISTRIBUTIONS, Param, SearchSpace

__all__ = ["DISTRIBUTIONS", "Param", "SearchSpace"]
