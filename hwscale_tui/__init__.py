"""hwscale-tui: hardware scaling experiments for RL training, end to end."""

__version__ = "0.1.0"
