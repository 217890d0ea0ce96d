"""The Dagster code location of the recsys platform (assets, checks, jobs) and the `recsys` CLI."""

import os

# implicit's ALS runs on OpenMP threads, which by default spin while they wait for work: with
# more runnable threads than cores (a shared or busy machine) a tiny day's fit took 1.1-1.6 s
# spinning instead of 0.09 s (docs/data.md). Passive waiting changes no result. Set before any
# OpenMP runtime loads (each reads it once, at load), in every process that fits (the CLI, the
# code server, run workers); an operator's own value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
