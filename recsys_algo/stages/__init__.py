"""The steps the Dagster assets, checks, sensors and jobs (and the CLI) call: read through
store, decide with policy or compute with kinds and evaluation, write, report what happened.

The top layer: may import every other subpackage; never dagster or litestar.
"""
