"""The Dagster code location of the recsys platform (assets, checks, jobs) and the `recsys` CLI."""

import os

# implicit's ALS runs on OpenMP threads, which by default spin while they wait for work: with
# more runnable threads than cores (a shared or busy machine) a tiny day's fit took 1.1-1.6 s
# spinning instead of 0.09 s (docs/data.md). Passive waiting changes no result. Set before any
# OpenMP runtime loads (each reads it once, at load), in every process that fits (the CLI, the
# code server, run workers); an operator's own value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# polars' jemalloc keeps freed pages 0.5 s, then 1 s more as MADV_FREE pages, which still count
# in RSS: a step's freed frames stayed resident under its next allocations. Returned after
# 0.1 s, straight to the system, a 1M-event run peaked ~100-150 MB lower at the same CPU
# (docs/benchmarks.md, issue 18 fourth round). Read by jemalloc once, when polars loads (polars
# appends this to its own defaults, and the last value of a key wins); an operator's own
# value wins.
JEMALLOC_CONF = "dirty_decay_ms:100,muzzy_decay_ms:0"
os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
