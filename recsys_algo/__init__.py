"""Pure computation and shared contracts for the recsys platform (no Dagster, no Litestar)."""

__version__ = "0.1.0"
# Recorded in manifest lineage and as Dagster code_version; bump with any change to outputs.
CODE_VERSION = __version__
