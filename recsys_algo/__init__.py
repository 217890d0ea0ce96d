"""Computation and contracts shared by the recsys pipelines and service (no Dagster, no Litestar).

One subpackage per responsibility, importing only downwards (import-linter checks it, see
docs/architecture.md): stages > sources | recipes > store | policy > evaluation > loading >
serving > kinds > contracts.
"""

__version__ = "0.1.0"
# Recorded in manifest lineage and as Dagster code_version; bump with any change to outputs.
CODE_VERSION = __version__
