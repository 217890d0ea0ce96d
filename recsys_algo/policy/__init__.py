"""Pure decisions over values, no I/O: the blocking validation gates, whether a manifest is
published (publish.decide_publish), freshness, landing changes, the daily runs, rollback plans.

May import contracts, kinds and evaluation; never store, never dagster or litestar.
"""
