"""What pipelines and service agree on: the raw event format and its rules, canonical events,
names (tenant, surface, day), the storage layout (every key), the catalog format, the manifest
and its signing, and the domain errors with their exit codes.

May import the standard library, msgspec and polars; nothing else of recsys_algo.
"""
