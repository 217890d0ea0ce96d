"""Pure computation and shared contracts for the recsys platform (no Dagster, no Litestar)."""

__version__ = "0.1.0"
